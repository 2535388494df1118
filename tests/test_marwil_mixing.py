"""Mixed MARWIL minibatches: the expert / simulation ratio inside every minibatch, hand-checked."""

import numpy as np
import pytest

from rllib_il.algorithms.marwil.mixing import mix_minibatches, rows_per_minibatch


@pytest.mark.parametrize("size, fraction, expected", [(512, 0.25, (128, 384)), (10, 0.25, (2, 8)), (8, 0.0, (0, 8)), (8, 1.0, (8, 0))])
def test_rows_per_minibatch(size, fraction, expected):
    assert rows_per_minibatch(size, fraction) == expected


def test_every_minibatch_holds_its_expert_block_then_its_simulation_block():
    # 3 minibatches of 1 expert + 3 simulation rows; expert rows are negative, simulation rows positive.
    expert = {"obs": -np.arange(1, 4, dtype=np.float32)[:, None].repeat(2, axis=1), "actions": np.array([10, 11, 12])}
    simulation = {"obs": np.arange(1, 10, dtype=np.float32)[:, None].repeat(2, axis=1), "actions": np.arange(20, 29)}
    mixed = mix_minibatches(expert, simulation, num_minibatches=3)
    assert mixed["actions"].tolist() == [10, 20, 21, 22, 11, 23, 24, 25, 12, 26, 27, 28]
    assert mixed["obs"].shape == (12, 2)
    assert mixed["obs"][:, 0].tolist() == [-1, 1, 2, 3, -2, 4, 5, 6, -3, 7, 8, 9]
    for minibatch in mixed["obs"][:, 0].reshape(3, 4):
        assert (minibatch < 0).sum() == 1  # the ratio 1/4 holds in each minibatch, not only overall


def test_rows_that_do_not_fill_whole_minibatches_are_refused():
    with pytest.raises(ValueError):
        mix_minibatches({"a": np.zeros(3)}, {"a": np.zeros(8)}, num_minibatches=2)
