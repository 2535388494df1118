"""The env settings a dataset was recorded with, compared with the env a run trains in: other
observation or reward settings are refused (equal spaces, other meaning), other dynamics get a warning.
Which settings an env has: `rllib_il.envs.EnvSpec`."""

import functools
import json
import logging

from rllib_il.core.errors import ConfigError
from rllib_il.envs import DYNAMICS, SETTINGS, env_settings

logger = logging.getLogger(__name__)


def recorded_settings(env: str, env_config: dict) -> dict:
    """The metadata.json entries of a dataset recorded in `env` under `env_config`: one per kind of
    setting the env has ("observation_config", "reward_config", "dynamics_config")."""
    found = {}
    for kind in (*SETTINGS, DYNAMICS):
        settings = env_settings(env, env_config, (kind,))
        if settings:
            found[kind] = settings
    return found


def check_recorded_settings(datasets: dict, env: str, env_config: dict, where: str, rewards: bool) -> None:
    """ConfigError naming `where`, the dataset and the setting when one of `datasets` ({directory:
    metadata}, from `datasets_metadata`) was recorded in `env` with other observation settings (equal
    spaces, other meaning) or, with `rewards`, other reward settings (another task's returns). A
    warning when it was recorded with other dynamics (e.g. another Flatland preset: the demonstrations
    show another task, which may be meant). Settings a dataset does not store are judged by its
    env_config under today's defaults."""
    kinds = SETTINGS if rewards else ("observation_config",)
    for d, meta in datasets.items():
        if meta.get("env") != env:
            continue
        wanted, stored = _settings_pair(d, meta, env, env_config, kinds, where)
        for key, value in wanted.items():
            if stored.get(key) != value:
                raise ConfigError(
                    f"{where}: dataset {d} was recorded with env_config {key}={stored.get(key)!r}, "
                    f"the env has {key}={value!r}"
                )
        try:
            wanted, stored = _settings_pair(d, meta, env, env_config, (DYNAMICS,), where)
        except ConfigError as e:  # e.g. an env_config that today's presets no longer accept
            _warn_once(f"{e}; its env dynamics were not compared")
            continue
        differing = [
            f"{key}={stored.get(key)!r} (env: {value!r})" for key, value in wanted.items() if stored.get(key) != value
        ]
        if differing:
            _warn_once(
                f"{where}: dataset {d} was recorded with other env dynamics: {', '.join(differing)}; "
                "its demonstrations show another task"
            )


@functools.lru_cache(maxsize=None)
def _warn_once(message: str) -> None:
    """A config is validated more than once per run (e.g. before and after Tune resolves it)."""
    logger.warning(message)


def _settings_pair(d, meta: dict, env: str, env_config: dict, kinds, where: str):
    """(the env's settings of `kinds`, those dataset `d` was recorded with: stored, else derived from
    its env_config), both as metadata.json stores them (e.g. float dict keys become strings)."""

    def as_stored(settings):
        return json.loads(json.dumps(settings, default=str))

    wanted = as_stored(env_settings(env, env_config, kinds))
    stored = {key: value for kind in kinds for key, value in (meta.get(kind) or {}).items()}
    missing = [key for key in wanted if key not in stored]
    if missing:
        raw = meta.get("env_config") or {}
        try:
            derived = as_stored(env_settings(env, raw, kinds))
        except ConfigError as e:
            # A setting added since the dataset stored its observation / reward settings had its default
            # then; a dataset storing none of a kind, or dynamics (from the preset), needs its env_config.
            if DYNAMICS in kinds or not all(meta.get(kind) for kind in kinds) or any(key in raw for key in missing):
                raise ConfigError(f"{where}: dataset {d}: {e}") from None
            derived = as_stored(env_settings(env, {}, kinds))
        stored = {**{key: derived[key] for key in missing}, **stored}
    return wanted, stored
