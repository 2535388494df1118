"""Environments: the one way an env is built (`make_env`) and looked up by name, for the recorder,
evaluation, algorithms and Tune alike.

A name is one of this project's envs (`ENVS`), a user's "module:make_env", a name registered with
Tune (`ray.tune.register_env`), or a gymnasium id. Tune
learns a name when it is first looked up (`ensure_registered`), as RLlib registers its own
algorithms on lookup; importing this package registers nothing.
"""

from dataclasses import dataclass
from functools import partial
from typing import Callable, Optional, Tuple

import gymnasium as gym
from ray.rllib.env.env_context import EnvContext
from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.tune.registry import ENV_CREATOR, _global_registry, register_env

from rllib_il.core.constants import SHARED_MODULE_ID
from rllib_il.core.errors import ConfigError, did_you_mean
from rllib_il.core.user_code import import_attr, is_user_code
from rllib_il.envs.flatland import presets as flatland_presets


@dataclass(frozen=True)
class EnvSpec:
    """How to build an env from its `env_config` ("module:attr" of a callable, imported on first use),
    whether it is multi-agent (one shared module), and the RLlib callback class (dotted "module.Class",
    as update_from_dict reads it) that reports its episode metrics, if any. `observation_config(env_config)`
    returns the settings that change what the observation vectors mean without changing their space (a
    dataset recorded with other values cannot train this env's policy); `reward_config(env_config)` those
    that change what a stored reward means (a dataset recorded with other values cannot train algorithms
    that learn from rewards); `dynamics_config(env_config)` those that change how the env behaves (a
    dataset recorded with other values still trains, on demonstrations of another task: a warning).
    `drawer` ("module:attr" of `drawer(env) -> () -> RGB array`) draws frames of envs that have no
    `render()` of their own."""

    creator: str
    multi_agent: bool
    callbacks: Optional[str] = None
    observation_config: Optional[Callable[[dict], dict]] = None
    reward_config: Optional[Callable[[dict], dict]] = None
    dynamics_config: Optional[Callable[[dict], dict]] = None
    drawer: Optional[str] = None


ENVS = {
    "flatland_sparse": EnvSpec(
        "rllib_il.envs.flatland.env:FlatlandEnv",
        multi_agent=True,
        callbacks="rllib_il.envs.flatland.callbacks.FlatlandMetricsCallback",
        observation_config=partial(flatland_presets.settings, keys=flatland_presets.OBSERVATION_KEYS),
        reward_config=partial(flatland_presets.settings, keys=flatland_presets.REWARD_KEYS),
        dynamics_config=flatland_presets.dynamics,
        drawer="rllib_il.envs.flatland.render:drawer",
    ),
}

SETTINGS = ("observation_config", "reward_config")  # checked: a dataset recorded with others is refused
DYNAMICS = "dynamics_config"  # compared: a dataset recorded with others gets a warning


def map_to_shared(agent_id, episode, **kwargs):
    """policy_mapping_fn of multi-agent envs: every agent acts with the one shared module."""
    return SHARED_MODULE_ID


def env_creator(name: str) -> Callable[[dict], object]:
    """`creator(env_config) -> env` for any env name; ConfigError for unknown names."""
    if name in ENVS:
        return import_attr(ENVS[name].creator, "env")
    if is_user_code(name):
        creator = import_attr(name, "env")
        if not callable(creator):
            raise ConfigError(f"env {name!r}: {type(creator).__name__} is not callable; expected make_env(env_config)")
        return creator
    # Tune has no public lookup of registered envs; RLlib reads the same registry
    # (ray/tune/registry.py `_global_registry`, used by Algorithm._get_env_id_and_creator).
    if _global_registry.contains(ENV_CREATOR, name):
        tune_creator = _global_registry.get(ENV_CREATOR, name)
        return lambda env_config: tune_creator(EnvContext(env_config, worker_index=0))
    try:
        gym.spec(name)
    except gym.error.Error:
        raise ConfigError(
            f"unknown env '{name}'{did_you_mean(name, ENVS)}; use one of {', '.join(ENVS)}, a registered "
            "gymnasium id such as CartPole-v1, or your own as 'module:make_env'"
        ) from None
    return partial(_make_gym, name)


def _make_gym(name: str, env_config: dict):
    try:
        return gym.make(name, **env_config)
    except gym.error.DependencyNotInstalled as e:
        raise ConfigError(f"env {name}: a dependency is missing ({str(e).splitlines()[0]})") from None
    except gym.error.Error as e:
        raise ConfigError(f"env {name!r}: {e}") from None
    except TypeError as e:
        raise ConfigError(f"env {name}: bad env_config {env_config} ({e})") from None


def build_env(env, env_config: Optional[dict] = None):
    """An algorithm config's `env`, built: a class (called with an EnvContext, as RLlib does) or a name
    (`make_env`)."""
    if isinstance(env, type):
        return env(EnvContext(env_config or {}, worker_index=0))
    return make_env(env, env_config)


def make_env(name: str, env_config: Optional[dict] = None, render: bool = False):
    """An env by name (see the module docstring), with one-line errors. `render=True` asks for RGB
    frames from `env.render()` (`render_mode="rgb_array"`), except of envs whose EnvSpec has a drawer."""
    env_config = dict(env_config or {})
    if render and not (name in ENVS and ENVS[name].drawer):
        env_config["render_mode"] = "rgb_array"
    return env_creator(name)(env_config)


def ensure_registered(name: str) -> None:
    """Registers an env name with Tune, so RLlib's env runners (local or remote: Ray ships the
    registry) build it by name. Gymnasium ids need no registration; unknown names are a ConfigError."""
    creator = env_creator(name)
    if name in ENVS or is_user_code(name):  # Tune's own names are registered; gymnasium ids need none
        register_env(name, creator)


def frame_drawer(env) -> Callable[[], object]:
    """`draw() -> RGB array` of the env's current state: its `drawer` (EnvSpec) or `env.render()`."""
    for spec in ENVS.values():
        creator = import_attr(spec.creator, "env") if spec.drawer else None
        if isinstance(creator, type) and isinstance(env, creator):
            return import_attr(spec.drawer, "drawer")(env)
    return env.render


def action_mask_in_observation(env) -> bool:
    """Whether `env`'s observation vectors end with a 0/1 mask over its discrete actions: the env
    says so with a true `action_mask_in_observation` attribute (FlatlandEnv with `decision_points`)."""
    return bool(getattr(getattr(env, "unwrapped", env), "action_mask_in_observation", False))


def is_multi_agent(env) -> bool:
    return isinstance(env, MultiAgentEnv)


def agent_spaces(env) -> Tuple[gym.Space, gym.Space]:
    """(observation, action) space of one agent; multi-agent envs here share them across agents."""
    if is_multi_agent(env):
        aid = env.possible_agents[0]
        return env.get_observation_space(aid), env.get_action_space(aid)
    return env.observation_space, env.action_space


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
