"""Render a Flatland episode with flatland's headless renderer: a GIF, or one PNG per step."""

from pathlib import Path

import imageio.v2 as imageio
from flatland.utils.rendertools import RenderTool

from rllib_il.envs.flatland.env import FlatlandEnv


def render_episode(env: FlatlandEnv, policy, path, *, seed=None, fps: int = 5, size: int = 600) -> dict:
    """Run one episode of `env` and draw the rail network after the reset and after every
    `env.step` (steps in which no train decides are not drawn separately).

    `policy`: an Expert (`reset(env, obs)`, `act(obs) -> (actions, logps)`) or a callable
    `{agent_id: obs} -> {agent_id: action}`. `path`: `*.gif` writes one GIF, anything else is a
    directory that receives `step_0000.png`, `step_0001.png`, ...
    Returns the episode's `env.episode_metrics()`."""
    path = Path(path)
    obs, _ = env.reset(seed=seed)
    act = policy.act if hasattr(policy, "act") else lambda o: (policy(o), None)
    if hasattr(policy, "reset"):
        policy.reset(env, obs)
    renderer = RenderTool(env.rail_env, gl="PILSVG", screen_width=size, screen_height=size)
    frames = [_draw(renderer)]
    done = False
    while not done:
        actions, _ = act(obs)
        obs, _, terminateds, truncateds, _ = env.step(actions)
        frames.append(_draw(renderer))
        done = terminateds["__all__"] or truncateds["__all__"]
    if path.suffix.lower() == ".gif":
        path.parent.mkdir(parents=True, exist_ok=True)
        imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            imageio.imwrite(path / f"step_{i:04d}.png", frame)
    return env.episode_metrics()


def _draw(renderer: RenderTool):
    return renderer.render_env(show=False, show_observations=False, show_predictions=False, return_image=True)[..., :3]
