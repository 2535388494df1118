"""Mixed MARWIL batches: expert rows and fresh simulation rows at a set ratio.

Phase 2 of the 2020 baselines trained MARWIL on `input: {sampler: 0.75, expert: 0.25}`: every
train batch held 75 % rows from the env runners and 25 % from the demonstrations. Here the ratio
holds inside every minibatch: minibatch k holds e_k expert rows followed by B - e_k simulation rows,
e_k from the expert fraction's shared rounding rule (rllib_il/replay/mixing.py: within one row of
f * B, exact in the long run).
"""

from typing import Dict, List

import numpy as np

from rllib_il.replay.mixing import ExpertFraction


def expert_rows(rounding: ExpertFraction, fraction: float, minibatch_size: int, num_minibatches: int) -> List[int]:
    """Expert rows of each of the next `num_minibatches` minibatches of `minibatch_size` rows."""
    return [rounding.split(fraction, minibatch_size) for _ in range(num_minibatches)]


def mix_minibatches(
    expert: Dict[str, np.ndarray], simulation: Dict[str, np.ndarray], expert_counts: List[int], minibatch_size: int
) -> dict:
    """Minibatch after minibatch, `expert_counts[k]` expert rows then `minibatch_size - expert_counts[k]`
    simulation rows, column by column. `expert` must hold sum(expert_counts) rows and `simulation` the rest."""
    simulation_counts = [minibatch_size - e for e in expert_counts]
    for name, part, counts in (("expert", expert, expert_counts), ("simulation", simulation, simulation_counts)):
        rows = {len(column) for column in part.values()}
        if rows != {sum(counts)}:
            raise ValueError(f"{name} part holds {sorted(rows)} rows, the minibatches need {sum(counts)}")
    expert_blocks = np.cumsum(expert_counts)[:-1]
    simulation_blocks = np.cumsum(simulation_counts)[:-1]
    return {
        key: np.concatenate(
            [
                block
                for pair in zip(np.split(expert[key], expert_blocks), np.split(simulation[key], simulation_blocks))
                for block in pair
            ]
        )
        for key in expert
    }
