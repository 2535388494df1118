"""Environments of rllib_il, registered with Tune under the names experiment files use."""

from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional

from ray.tune.registry import register_env

from rllib_il.envs.flatland import presets as flatland_presets
from rllib_il.errors import ConfigError
from rllib_il.user_code import import_attr


@dataclass(frozen=True)
class EnvSpec:
    """How to build an env from its `env_config`, whether it is multi-agent (one shared module),
    and the RLlib callback class (dotted "module.Class", as update_from_dict reads it) that reports
    its episode metrics, if any. `observation_config(env_config)` returns the settings that change
    what the observation vectors mean without changing their space (a dataset recorded with other
    values cannot train this env's policy); `reward_config(env_config)` those that change what a
    stored reward means (a dataset recorded with other values cannot train algorithms that learn
    from rewards); `dynamics_config(env_config)` those that change how the env behaves (a dataset
    recorded with other values still trains, on demonstrations of another task: a warning)."""

    creator: Callable[[dict], object]
    multi_agent: bool
    callbacks: Optional[str] = None
    observation_config: Optional[Callable[[dict], dict]] = None
    reward_config: Optional[Callable[[dict], dict]] = None
    dynamics_config: Optional[Callable[[dict], dict]] = None


def _flatland(env_config):
    from rllib_il.envs.flatland.env import FlatlandEnv

    return FlatlandEnv(env_config)


ENVS = {
    "flatland_sparse": EnvSpec(
        _flatland,
        multi_agent=True,
        callbacks="rllib_il.envs.flatland.callbacks.FlatlandMetricsCallback",
        observation_config=partial(flatland_presets.settings, keys=flatland_presets.OBSERVATION_KEYS),
        reward_config=partial(flatland_presets.settings, keys=flatland_presets.REWARD_KEYS),
        dynamics_config=flatland_presets.dynamics,
    ),
}


def map_to_shared(agent_id, episode, **kwargs):
    """policy_mapping_fn of multi-agent envs: every agent acts with the one shared module."""
    from rllib_il import SHARED_MODULE_ID

    return SHARED_MODULE_ID


SETTINGS = ("observation_config", "reward_config")  # checked: a dataset recorded with others is refused
DYNAMICS = "dynamics_config"  # compared: a dataset recorded with others gets a warning


def env_settings(env: str, env_config: dict, kinds=SETTINGS) -> dict:
    """The settings of `kinds` (EnvSpec fields named in SETTINGS, or DYNAMICS) of `env` under `env_config`,
    merged into one dict; {} for an env without such settings."""
    spec = ENVS.get(env)
    merged = {}
    for kind in kinds:
        settings = getattr(spec, kind, None)
        if settings is not None:
            merged.update(settings(env_config or {}))
    return merged


def user_env_creator(name: str) -> Callable[[dict], object]:
    """The creator `make_env(env_config) -> env` a user names as "module:make_env"."""
    creator = import_attr(name, "env")
    if not callable(creator):
        raise ConfigError(f"env {name!r}: {type(creator).__name__} is not callable; expected make_env(env_config)")
    return creator


def register_user_env(name: str) -> None:
    """Registers a user's "module:make_env" with Tune under that name; RLlib's env runners then build
    it by name (Ray ships the registration; the module must be importable there too)."""
    register_env(name, user_env_creator(name))


def known_env(name):
    """True for our envs, gymnasium ids and envs registered with Tune (a user's "module:make_env" once
    `register_user_env` ran)."""
    import gymnasium as gym
    from ray.tune.registry import ENV_CREATOR, _global_registry

    if name in ENVS or _global_registry.contains(ENV_CREATOR, name):
        return True
    try:
        gym.spec(name)
    except gym.error.Error:
        return False
    return True


def register_envs():
    for name, spec in ENVS.items():
        register_env(name, spec.creator)
