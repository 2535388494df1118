"""Box actions between a dataset and an RLModule.

A dataset stores actions as the env takes them. RLlib's modules act in normalised units when
`normalize_actions` is on (RLlib's default): every Box dimension in [-1, 1], which the env runners map
back with `unsquash_action` (u -> low + (u + 1) (high - low) / 2, clipped to the Box). Offline data must
reach the learner in the module's units, or the policy learns env units that are then unsquashed a
second time. The map is affine, so a stored behaviour density changes by its Jacobian:

    u = 2 (a - low) / (high - low) - 1,        log mu(u) = log mu(a) + sum_d log((high_d - low_d) / 2)
"""

import functools
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from gymnasium import spaces
from ray.rllib.utils.spaces.space_utils import normalize_action, unsquash_action

from rllib_il.core.errors import ConfigError
from rllib_il.data.codec import decode_episode
from rllib_il.data.layout import Inputs, resolve_input_files

# Slack for actions stored at a bound after a float32 round trip.
BOUND_TOLERANCE = 1e-5


def is_box(space) -> bool:
    return isinstance(space, spaces.Box) and np.issubdtype(space.dtype, np.floating)


def log_scale(space: spaces.Box) -> float:
    """sum_d log((high_d - low_d) / 2): log |da / du| of the normalisation."""
    return float(np.sum(np.log((space.high - space.low) / 2.0)))


@functools.lru_cache(maxsize=None)
def _action_extremes(path: Path, size: int, mtime_ns: int):
    """(per-dimension minimum, maximum, all finite) of the actions in one version of an episode file;
    cached, since every grid trial's preparation checks the same files."""
    try:
        items = pq.read_table(path, columns=["item"]).column("item").to_pylist()
        actions = np.concatenate([np.asarray(decode_episode(item).get_actions()) for item in items])
    except Exception as e:  # pyarrow / msgpack raise many types for damaged files.
        raise ConfigError(f"{path}: not a readable episode parquet file ({type(e).__name__}: {e})") from None
    return actions.min(axis=0), actions.max(axis=0), bool(np.isfinite(actions).all())


def check_dataset_actions(inputs: Inputs, space: spaces.Box, where: str) -> None:
    """ConfigError naming `where` and the file when a stored action lies outside the Box or is not finite."""
    tolerance = BOUND_TOLERANCE * np.maximum(1.0, np.maximum(np.abs(space.low), np.abs(space.high)))
    for path in resolve_input_files(inputs):
        stat = path.stat()
        low, high, finite = _action_extremes(path, stat.st_size, stat.st_mtime_ns)
        if not finite or np.any(low < space.low - tolerance) or np.any(high > space.high + tolerance):
            raise ConfigError(
                f"{where}: {path} holds actions from {_fmt(low)} to {_fmt(high)}"
                f"{'' if finite else ' and non-finite ones'}, outside the action space "
                f"from {_fmt(space.low)} to {_fmt(space.high)}"
            )


def _fmt(values) -> str:
    return np.array2string(np.asarray(values), precision=4, separator=", ")


def without_density(behaviour_logp: np.ndarray) -> np.ndarray:
    """A deterministic expert stores log mu = 0.0 for every action, which is no density of a Box
    action: such data (all zeros) gets NaN log-densities, and importance sampling is not estimated on it.
    (A uniform behaviour on a Box of volume 1 has log-density 0 too, and is taken as deterministic.)"""
    return np.full_like(behaviour_logp, np.nan) if not np.any(behaviour_logp) else behaviour_logp


def to_module_units(actions: np.ndarray, behaviour_logp: np.ndarray, space: spaces.Box):
    """(actions in [-1, 1], behaviour log-densities in those units) of env-unit `actions`. A Box
    unbounded in some dimension is left as it is, as RLlib's env runners leave it."""
    if not space.is_bounded():
        return actions, behaviour_logp
    return normalize_action(actions, space).astype(actions.dtype), behaviour_logp + np.float32(log_scale(space))


def to_env_units(actions: np.ndarray, logp: np.ndarray, space: spaces.Box):
    """The inverse for acting: (env actions, clipped to the Box as RLlib's unsquash_action does, and
    their log-densities in env units). Clipping puts the mass outside the Box on its bounds, where the
    density is then only approximate. An unbounded Box is left as it is."""
    if not space.is_bounded():
        return np.asarray(actions).astype(space.dtype), logp
    return unsquash_action(np.asarray(actions), space).astype(space.dtype), logp - np.float32(log_scale(space))
