"""Mixed MARWIL minibatches: the expert / simulation ratio inside every minibatch, hand-checked."""

import numpy as np
import pytest

from rllib_il.algorithms.marwil.mixing import expert_rows, mix_minibatches
from rllib_il.replay.mixing import ExpertFraction


def test_expert_rows_per_minibatch_follow_the_shared_rounding():
    """0.25 of 10-row minibatches: 2.5 rows each, so 2, 3, 2, 3 (the DQfD replay's rule); 512 rows: 128."""
    assert expert_rows(ExpertFraction(0.25), 0.25, 10, 4) == [2, 3, 2, 3]
    assert expert_rows(ExpertFraction(0.25), 0.25, 512, 2) == [128, 128]
    assert expert_rows(ExpertFraction(0.0), 0.0, 8, 2) == [0, 0]


def test_every_minibatch_holds_its_expert_block_then_its_simulation_block():
    # 3 minibatches of 4 rows with 1, 2, 1 expert rows; expert rows are negative, simulation rows positive.
    expert = {
        "obs": -np.arange(1, 5, dtype=np.float32)[:, None].repeat(2, axis=1),
        "actions": np.array([10, 11, 12, 13]),
    }
    simulation = {"obs": np.arange(1, 9, dtype=np.float32)[:, None].repeat(2, axis=1), "actions": np.arange(20, 28)}
    mixed = mix_minibatches(expert, simulation, [1, 2, 1], minibatch_size=4)
    assert mixed["actions"].tolist() == [10, 20, 21, 22, 11, 12, 23, 24, 13, 25, 26, 27]
    assert mixed["obs"].shape == (12, 2)
    assert mixed["obs"][:, 0].tolist() == [-1, 1, 2, 3, -2, -3, 4, 5, -4, 6, 7, 8]
    assert [(minibatch < 0).sum() for minibatch in mixed["obs"][:, 0].reshape(3, 4)] == [1, 2, 1]


def test_rows_that_do_not_fill_the_minibatches_are_refused():
    with pytest.raises(ValueError, match="simulation part holds"):
        mix_minibatches({"a": np.zeros(2)}, {"a": np.zeros(8)}, [1, 1], minibatch_size=4)
    with pytest.raises(ValueError, match="expert part holds"):
        mix_minibatches({"a": np.zeros(3)}, {"a": np.zeros(6)}, [1, 1], minibatch_size=4)
