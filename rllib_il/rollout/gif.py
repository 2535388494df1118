"""An episode as a GIF (or one PNG per step): the shared rollout with a frame hook."""

import itertools
from pathlib import Path

import imageio.v2 as imageio

from rllib_il.envs import frame_drawer, make_env
from rllib_il.experts import make_expert
from rllib_il.rollout.rollout import EpisodeStats, rollout


def render_episode(env, expert, path, seed: int = 0, fps=None, every: int = 1, shrink: int = 1) -> EpisodeStats:
    """Run one episode of `env` with `expert` and draw it after the reset and after every step.
    `path`: `*.gif` writes one GIF, anything else is a directory that receives `step_0000.png`, ...
    `fps` defaults to 30 for envs that render themselves, 5 for drawn ones (a Flatland step is a decision),
    divided by `every`. Keeping every `every`-th frame, each `shrink` times smaller (every `shrink`-th
    pixel), keeps a long episode's GIF small (CarRacing: 1000 frames of 600 x 400)."""
    draw, frames = frame_drawer(env), []
    fps = (fps or (30 if draw == env.render else 5)) / every
    drawn = itertools.count()  # frames so far, the reset's included

    def keep(env):
        if next(drawn) % every == 0:
            frames.append(draw()[::shrink, ::shrink])

    _, stats = rollout(env, expert, seed, on_step=keep)
    path = Path(path)
    if path.suffix.lower() == ".gif":
        path.parent.mkdir(parents=True, exist_ok=True)
        imageio.mimsave(path, frames, duration=1000 / fps, loop=0)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            imageio.imwrite(path / f"step_{i:04d}.png", frame)
    return stats


def render_gif(
    env_name: str, env_config: dict, expert: str, expert_config: dict, seed: int, path, every: int = 1, shrink: int = 1
) -> EpisodeStats:
    """Replay the episode of `seed` with the expert and save it as a GIF (`every`, `shrink`: `render_episode`)."""
    env = make_env(env_name, env_config, render=True)
    return render_episode(env, make_expert(expert, env, **expert_config), path, seed=seed, every=every, shrink=shrink)
