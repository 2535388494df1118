"""Environments of rllib_il, registered with Tune under the names experiment files use."""

from dataclasses import dataclass
from typing import Callable, Optional

from ray.tune.registry import register_env


@dataclass(frozen=True)
class EnvSpec:
    """How to build an env from its `env_config`, whether it is multi-agent (one shared module),
    and the RLlib callback class ("module:Class") that reports its episode metrics, if any."""

    creator: Callable[[dict], object]
    multi_agent: bool
    callbacks: Optional[str] = None


def _flatland(env_config):
    from rllib_il.envs.flatland.env import FlatlandEnv

    return FlatlandEnv(env_config)


ENVS = {
    "flatland_sparse": EnvSpec(
        _flatland,
        multi_agent=True,
        callbacks="rllib_il.envs.flatland.callbacks:FlatlandMetricsCallback",
    ),
}


def register_envs():
    for name, spec in ENVS.items():
        register_env(name, spec.creator)
