"""Settings of this project's AlgorithmConfigs: `set_provided` for their `training()` builders, and the
validate() checks of single settings, each a one-line ConfigError naming the key and the value."""

import numbers
from typing import Optional

from ray.rllib.algorithms.algorithm_config import NotProvided

from rllib_il.core.errors import ConfigError


def set_provided(config, arguments: dict) -> None:
    """Sets each keyword argument of a `training()` builder (its `locals()`) that was given, i.e. is not
    RLlib's `NotProvided` (`self`, `kwargs` and `__class__` are not settings)."""
    for key, value in arguments.items():
        if key not in ("self", "kwargs", "__class__") and value is not NotProvided:
            setattr(config, key, value)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_int(key: str, value, minimum: int) -> None:
    if not (_is_int(value) and value >= minimum):
        raise ConfigError(f"{key}: {value!r} must be an integer >= {minimum}")


def check_number(key: str, value, low: Optional[float] = None, high: Optional[float] = None) -> None:
    """A real number (not a bool), within [low, high] where they are given."""
    bounds = [f">= {low}"] * (low is not None and high is None) + [f"in [{low}, {high}]"] * (high is not None)
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or (low is not None and value < low)
        or (high is not None and value > high)
    ):
        raise ConfigError(f"{key}: {value!r} must be a number" + "".join(f" {b}" for b in bounds))


def check_bool(key: str, value) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: {value!r} must be true or false")


def check_layer_sizes(key: str, value) -> None:
    """A non-empty list of positive integers (hidden layer sizes)."""
    if not isinstance(value, (list, tuple)) or not value or not all(_is_int(h) and h > 0 for h in value):
        raise ConfigError(f"{key}: {value!r} must be a list of positive integers")
