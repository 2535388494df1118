"""Flatland generator presets (`presets/<name>.yaml`) merged with the user's `env_config`."""

from pathlib import Path

import yaml

from rllib_il.errors import ConfigError

PRESETS_DIR = Path(__file__).parent / "presets"
DEFAULT_PRESET = "small_v0"
REWARDS = ("default", "shaped")
# env_config keys that change what an observation vector means (flatland divides the distance
# features by `observation_radius` and clips them to 1) without changing its shape.
OBSERVATION_KEYS = ("tree_depth", "predictor_depth", "observation_radius")
# env_config keys that are not generator parameters, with their defaults.
ENV_DEFAULTS = {"seed": None, "tree_depth": 2, "predictor_depth": 30, "observation_radius": 10, "reward": "default"}


def preset_names() -> list:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def load_preset(name: str) -> dict:
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"flatland env_config: unknown preset {name!r}; valid presets: {', '.join(preset_names())}")
    return yaml.safe_load(path.read_text())


def resolve_env_config(env_config: dict) -> dict:
    """`env_config` -> complete config: preset values, then env defaults, then the user's overrides.

    Raises ConfigError naming an unknown preset, key or reward."""
    env_config = dict(env_config or {})
    config = load_preset(env_config.pop("preset", DEFAULT_PRESET))
    valid = sorted(set(config) | set(ENV_DEFAULTS))
    for key in env_config:
        if key not in valid:
            raise ConfigError(f"flatland env_config: unknown key {key!r}; valid keys: preset, {', '.join(valid)}")
    config = {**config, **ENV_DEFAULTS, **env_config}
    if config["reward"] not in REWARDS:
        raise ConfigError(f"flatland env_config: unknown reward {config['reward']!r}; valid: {', '.join(REWARDS)}")
    for key in (*OBSERVATION_KEYS, "number_of_agents", "width", "height"):
        if not isinstance(config[key], int) or config[key] < 1:
            raise ConfigError(f"flatland env_config: {key} must be a positive integer, got {config[key]!r}")
    return config


def observation_config(env_config: dict) -> dict:
    """The resolved values of OBSERVATION_KEYS for `env_config`."""
    config = resolve_env_config(env_config)
    return {key: config[key] for key in OBSERVATION_KEYS}
