"""How much of a batch comes from the demonstrations: one schedule and one rounding rule, shared by every
algorithm that mixes expert and simulation rows (DQfD's replay, mixed MARWIL's minibatches).

The fraction is a float in [0, 1] or a piecewise-linear schedule [[iteration, value], ...] over training
iterations (constant after the last point). A batch of B rows takes round-down(f * B + carry) expert rows,
the remainder carried to the next batch (error diffusion), so the long-run share is exactly f even when
f * B is not a whole number, and every batch is within one row of it.
"""

import numbers

from ray.rllib.utils.schedules.scheduler import Scheduler

from rllib_il.core.errors import ConfigError


def fraction_values(fraction) -> list:
    """The values a fraction (float or schedule) takes at its points."""
    if isinstance(fraction, (list, tuple)):
        return [point[1] if isinstance(point, (list, tuple)) and len(point) == 2 else point for point in fraction]
    return [fraction]


def check_fraction(fraction, key: str = "expert_fraction") -> None:
    """ConfigError unless `fraction` is a number in [0, 1] or a schedule [[iteration, value], ...] of such,
    starting at iteration 0 with non-decreasing iterations."""
    message = f"{key}: {fraction!r} must be a number in [0, 1] or a schedule [[0, value], [iteration, value], ...]"
    if isinstance(fraction, (list, tuple)):
        if not fraction or not all(isinstance(p, (list, tuple)) and len(p) == 2 for p in fraction):
            raise ConfigError(message)
        iterations = [p[0] for p in fraction]
        if (
            iterations[0] != 0
            or any(not isinstance(i, int) or isinstance(i, bool) for i in iterations)
            or iterations != sorted(iterations)
        ):
            raise ConfigError(message)
    values = fraction_values(fraction)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and 0.0 <= v <= 1.0 for v in values):
        raise ConfigError(message)


class ExpertFraction:
    """The fraction's value at a training iteration, and the expert rows of each batch at that value."""

    def __init__(self, fraction):
        self.schedule = Scheduler(fraction)
        self.carry = 0.0

    def at(self, iteration: int) -> float:
        """The fraction at `iteration` (the schedule interpolated; constant for a float)."""
        self.schedule.update(iteration)
        return float(self.schedule.get_current_value())

    def split(self, fraction: float, batch_size: int) -> int:
        """Expert rows of the next batch of `batch_size` rows at `fraction` (error-diffused)."""
        wanted = fraction * batch_size + self.carry
        num_expert = min(batch_size, int(wanted + 1e-9))
        self.carry = wanted - num_expert
        return num_expert
