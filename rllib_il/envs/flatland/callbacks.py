"""Per-episode Flatland metrics (arrived trains, normalised score, length, deadlocks) for Tune."""

from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.utils.annotations import override

from rllib_il.envs.flatland.env import FlatlandEnv


def flatland_env(env, env_index: int) -> FlatlandEnv:
    """The FlatlandEnv behind an env runner's (vector) env."""
    envs = getattr(env, "envs", None)
    return (envs[env_index] if envs is not None else env).unwrapped


class FlatlandMetricsCallback(RLlibCallback):
    """Logs `FlatlandEnv.episode_metrics()` (mean over the episodes of an iteration), which appear in
    results under `env_runners/` (e.g. `env_runners/percentage_complete`) and in TensorBoard."""

    @override(RLlibCallback)
    def on_episode_end(self, *, episode, env_runner=None, metrics_logger=None, env=None, env_index=0, **kwargs):
        for key, value in flatland_env(env, env_index).episode_metrics().items():
            metrics_logger.log_value(key, value, reduce="mean")
