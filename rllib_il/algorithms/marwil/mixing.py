"""Mixed MARWIL batches: expert rows and fresh simulation rows at a set ratio.

Phase 2 of the 2020 baselines trained MARWIL on `input: {sampler: 0.75, expert: 0.25}`: every
train batch held 75 % rows from the env runners and 25 % from the demonstrations. Here the ratio
holds inside every minibatch: each consecutive block of B rows has e = round(f * B) expert rows
followed by B - e simulation rows.
"""

from typing import Dict, Tuple

import numpy as np


def rows_per_minibatch(minibatch_size: int, expert_fraction: float) -> Tuple[int, int]:
    """(expert rows, simulation rows) of one minibatch of `minibatch_size` rows."""
    num_expert = int(round(expert_fraction * minibatch_size))
    return num_expert, minibatch_size - num_expert


def mix_minibatches(expert: Dict[str, np.ndarray], simulation: Dict[str, np.ndarray], num_minibatches: int) -> dict:
    """Interleave M blocks of expert rows with M blocks of simulation rows, column by column.

    `expert` holds M * e rows and `simulation` M * s rows of the same columns; the result holds
    M * (e + s) rows where rows [k(e+s), k(e+s) + e) are the k-th expert block.
    """
    def blocks(column):
        return column.reshape(num_minibatches, -1, *column.shape[1:])

    return {
        key: np.concatenate([blocks(expert[key]), blocks(simulation[key])], axis=1).reshape(-1, *expert[key].shape[1:])
        for key in expert
    }
