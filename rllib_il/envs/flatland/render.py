"""Frames of a Flatland env, drawn by flatland's headless renderer (`rllib_il.rollout.gif` saves them)."""

from flatland.utils.rendertools import RenderTool

from rllib_il.envs.flatland.env import FlatlandEnv


def drawer(env: FlatlandEnv, size: int = 600):
    """`draw() -> RGB array` of the rail network of `env` as it is now. The renderer is bound to the
    RailEnv that exists when `draw` first runs (after a reset), and rebuilt when the env makes a new one."""
    renderers = {}

    def draw():
        rail_env = env.rail_env
        if id(rail_env) not in renderers:
            renderers.clear()
            renderers[id(rail_env)] = RenderTool(rail_env, gl="PILSVG", screen_width=size, screen_height=size)
        image = renderers[id(rail_env)].render_env(
            show=False, show_observations=False, show_predictions=False, return_image=True
        )
        return image[..., :3]

    return draw
