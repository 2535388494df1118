"""Checks of MARWIL_IL's own settings: the beta schedule, and DAgger data only with behaviour cloning."""

import numbers

from rllib_il.core.errors import ConfigError
from rllib_il.data import dagger_dataset

NAME = "MARWIL_IL"


def check_beta(beta) -> None:
    """ConfigError unless beta is a number in [0, 1] or a schedule [[t, v], ...] starting at t = 0
    with non-decreasing t and values in [0, 1]."""

    def is_number(x):
        return isinstance(x, numbers.Real) and not isinstance(x, bool)

    if is_number(beta):
        points = [(0, beta)]
    elif (
        isinstance(beta, (list, tuple))
        and beta
        and all(isinstance(p, (list, tuple)) and len(p) == 2 and all(map(is_number, p)) for p in beta)
    ):
        points = beta
    else:
        raise ConfigError(f"{NAME} config beta={beta!r}: must be a number or a schedule [[t0, v0], [t1, v1], ...]")
    if points[0][0] != 0:
        raise ConfigError(f"{NAME} config beta={beta!r}: a schedule must start at t = 0")
    if any(t1 < t0 for (t0, _), (t1, _) in zip(points, points[1:])):
        raise ConfigError(f"{NAME} config beta={beta!r}: schedule times t must be non-decreasing")
    if any(not 0.0 <= v <= 1.0 for _, v in points):
        raise ConfigError(f"{NAME} config beta={beta!r}: values must lie in [0, 1]")


def is_behaviour_cloning(beta) -> bool:
    """beta (a checked float or schedule) is 0 throughout."""
    return all(v == 0 for _, v in ([(0, beta)] if isinstance(beta, numbers.Real) else beta))


def check_no_dagger_advantages(beta, datasets: dict) -> None:
    """ConfigError when beta != 0 on DAgger data (`datasets`: {directory: metadata}): its actions are
    the expert's labels, not the actions that earned its rewards, so advantages (beta > 0) would
    weight labels by another policy's returns."""
    d = dagger_dataset(datasets)
    if d is not None and not is_behaviour_cloning(beta):
        raise ConfigError(
            f"{NAME} config beta={beta!r}: dataset {d} holds DAgger labels (its rewards "
            "belong to another policy's actions); train it with beta 0 (behaviour cloning)"
        )
