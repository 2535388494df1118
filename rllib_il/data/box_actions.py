"""Box actions between a dataset and an RLModule.

A dataset stores actions as the env takes them. RLlib's modules act in normalised units when
`normalize_actions` is on (RLlib's default): every Box dimension in [-1, 1], which the env runners map
back with `unsquash_action` (u -> low + (u + 1) (high - low) / 2, clipped to the Box). Offline data must
reach the learner in the module's units, or the policy learns env units that are then unsquashed a
second time. The map is affine, so a stored behaviour density changes by its Jacobian:

    u = 2 (a - low) / (high - low) - 1,        log mu(u) = log mu(a) + sum_d log((high_d - low_d) / 2)
"""

import numpy as np
from gymnasium import spaces
from ray.rllib.utils.spaces.space_utils import normalize_action, unsquash_action

from rllib_il.core.errors import ConfigError

# Slack for actions stored at a bound after a float32 round trip.
BOUND_TOLERANCE = 1e-5


def is_box(space) -> bool:
    return isinstance(space, spaces.Box) and np.issubdtype(space.dtype, np.floating)


def log_scale(space: spaces.Box) -> float:
    """sum_d log((high_d - low_d) / 2): log |da / du| of the normalisation."""
    return float(np.sum(np.log((space.high - space.low) / 2.0)))


def check_in_box(actions: np.ndarray, space: spaces.Box, where: str) -> None:
    """ConfigError naming `where` when a row of `actions` [N, ...] lies outside the Box (or is not finite)."""
    scale = np.maximum(1.0, np.abs(np.stack([space.low, space.high])).max(axis=0))
    tolerance = BOUND_TOLERANCE * scale
    outside = ~np.isfinite(actions) | (actions < space.low - tolerance) | (actions > space.high + tolerance)
    rows = np.flatnonzero(outside.reshape(len(actions), -1).any(axis=1))
    if len(rows):
        raise ConfigError(
            f"{where}: {len(rows)} actions lie outside the action space "
            f"[{space.low.min():g}, {space.high.max():g}], the first at row {rows[0]}: "
            f"{np.array2string(actions[rows[0]], precision=4)}"
        )


def to_module_units(actions: np.ndarray, behaviour_logp: np.ndarray, space: spaces.Box):
    """(actions in [-1, 1], behaviour log-densities in those units) of env-unit `actions`. A
    deterministic expert stores log mu = 0.0 for every action, which is no density of a Box action:
    such data (all zeros) gets NaN log-densities, and importance sampling is not estimated on it."""
    if not space.is_bounded():
        raise ConfigError(f"action space {space}: normalize_actions needs finite bounds; set normalize_actions: false")
    if not np.any(behaviour_logp):
        behaviour_logp = np.full_like(behaviour_logp, np.nan)
    return normalize_action(actions, space).astype(space.dtype), behaviour_logp + np.float32(log_scale(space))


def to_env_units(actions: np.ndarray, logp: np.ndarray, space: spaces.Box):
    """The inverse for acting: (env actions, clipped to the Box as RLlib's unsquash_action does, and
    their log-densities in env units). Clipping puts the mass outside the Box on its bounds, where the
    density is then only approximate."""
    return unsquash_action(np.asarray(actions), space).astype(space.dtype), logp - np.float32(log_scale(space))
