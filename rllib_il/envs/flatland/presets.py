"""Flatland generator presets (`presets/<name>.yaml`) merged with the user's `env_config`."""

from pathlib import Path

import yaml

from rllib_il.core.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"
DEFAULT_PRESET = "small_v0"
REWARDS = ("default", "shaped")
TIMETABLES = ("flatland3", "flatland2")
# env_config keys that change what an observation vector means; some keep its shape (flatland
# divides the distance features by `observation_radius` and clips them to 1), so spaces cannot tell.
OBSERVATION_KEYS = ("tree_depth", "predictor_depth", "observation_radius", "agent_features", "decision_points")
# env_config keys that change what a stored reward means (the reward function; the timetable sets
# departure times, lateness and the time limit): algorithms that learn from rewards need them equal.
REWARD_KEYS = ("reward", "timetable")
# env_config keys that change neither the episodes of a seed nor their meaning.
RUN_KEYS = ("seed", "prefetch_layouts")
# env_config keys that are not generator parameters, with their defaults (a preset may set them too).
ENV_DEFAULTS = {
    "seed": None,
    "tree_depth": 2,
    "predictor_depth": 30,
    "observation_radius": 10,
    "agent_features": False,
    "decision_points": False,
    "prefetch_layouts": 0,
    "timetable": "flatland3",
    "reward": "default",
}


def preset_names() -> list:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name: str) -> dict:
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"flatland env_config: unknown preset {name!r}; valid presets: {', '.join(preset_names())}")
    return yaml.safe_load(path.read_text())


def resolve_env_config(env_config: dict) -> dict:
    """`env_config` -> complete config: env defaults, then preset values, then the user's overrides.

    Raises ConfigError naming an unknown preset, key, reward or timetable, or a bad value."""
    env_config = dict(env_config or {})
    config = load_preset(env_config.pop("preset", DEFAULT_PRESET))
    valid = sorted(set(config) | set(ENV_DEFAULTS))
    for key in env_config:
        if key not in valid:
            raise ConfigError(f"flatland env_config: unknown key {key!r}; valid keys: preset, {', '.join(valid)}")
    config = {**ENV_DEFAULTS, **config, **env_config}
    for key, valid_values in (("reward", REWARDS), ("timetable", TIMETABLES)):
        if config[key] not in valid_values:
            raise ConfigError(f"flatland env_config: unknown {key} {config[key]!r}; valid: {', '.join(valid_values)}")
    for key in ("agent_features", "decision_points"):
        if not isinstance(config[key], bool):
            raise ConfigError(f"flatland env_config: {key} must be true or false, got {config[key]!r}")
    prefetch = config["prefetch_layouts"]
    if not isinstance(prefetch, int) or isinstance(prefetch, bool) or prefetch < 0:
        raise ConfigError(f"flatland env_config: prefetch_layouts must be an integer >= 0, got {prefetch!r}")
    for key in ("tree_depth", "predictor_depth", "observation_radius", "number_of_agents", "width", "height"):
        if not isinstance(config[key], int) or isinstance(config[key], bool) or config[key] < 1:
            raise ConfigError(f"flatland env_config: {key} must be a positive integer, got {config[key]!r}")
    return config


def settings(env_config: dict, keys) -> dict:
    """The resolved values of `keys` (OBSERVATION_KEYS or REWARD_KEYS) for `env_config`."""
    config = resolve_env_config(env_config)
    return {key: config[key] for key in keys}


def dynamics(env_config: dict) -> dict:
    """The resolved generator settings of `env_config` (map, trains, speeds, malfunctions): every key
    but the observation, reward and seed ones."""
    config = resolve_env_config(env_config)
    return {key: value for key, value in config.items() if key not in (*OBSERVATION_KEYS, *REWARD_KEYS, *RUN_KEYS)}
