"""MARWIL_IL's streaming data path (`data_in_memory`): the same rows as in memory, through Ray Data."""

import inspect

import gymnasium as gym
import numpy as np
import pytest
from test_marwil_algorithm import cartpole_expert, record, write

from rllib_il import data as dataset
from rllib_il.algorithms.marwil import streaming_data
from rllib_il.algorithms.marwil.in_memory_data import InMemoryOfflineData
from rllib_il.algorithms.marwil.marwil import MARWILILConfig
from rllib_il.algorithms.marwil.streaming_data import StreamingOfflineData
from rllib_il.core.errors import ConfigError

GAMMA = 0.9
HAND_REWARDS = [1.0, 0.0, 2.0]
HAND_RETURNS = [1.0 + GAMMA * 0.0 + GAMMA**2 * 2.0, 0.0 + GAMMA * 2.0, 2.0]  # R_t = sum_k gamma^(k-t) r_k


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory):
    """40 short CartPole episodes (two blocks of EPISODES_PER_BLOCK), then 5 more and a hand-made
    3-step episode marked by obs[1] = 100 + t, in a second dataset: 46 episodes in 2 files."""
    env = gym.make("CartPole-v1", max_episode_steps=15)
    root = tmp_path_factory.mktemp("data")
    hand = dataset.build_episode(
        [[0.0, 100.0 + t, 0.0, 0.0] for t in range(4)],
        [0, 1, 0],
        HAND_REWARDS,
        [0.0] * 3,
        True,
        env.observation_space,
        env.action_space,
    )
    first = write(root / "a", record(env, 40, cartpole_expert), "CartPole-v1", env.observation_space, env.action_space)
    second = write(
        root / "b",
        record(env, 5, cartpole_expert, seed=100) + [hand],
        "CartPole-v1",
        env.observation_space,
        env.action_space,
    )
    return [first, second]


def data_config(inputs, **training):
    return (
        MARWILILConfig()
        .environment("CartPole-v1")
        .training(gamma=GAMMA, train_batch_size_per_learner=64, **training)
        .offline_data(input_=inputs, dataset_num_iters_per_learner=4)
        .debugging(seed=0)
    )


def rows(batch) -> np.ndarray:
    """(obs, action, return) rows sorted lexicographically: equal arrays = equal multisets of rows."""
    keys = np.column_stack([batch["obs"], batch["actions"], batch["value_targets"]]).astype(np.float64)
    return keys[np.lexsort(keys.T[::-1])]


@pytest.fixture(scope="module")
def both(ray_session, two_datasets):
    config = data_config(two_datasets, validation_fraction=0.2)
    stream = StreamingOfflineData(config)
    yield InMemoryOfflineData(config), stream
    stream.stop()


def test_one_streamed_epoch_holds_exactly_the_in_memory_train_rows(both):
    memory, stream = both
    epochs = [stream.sample(len(memory.train)) for _ in range(2)]  # the stream restarts after one epoch
    for epoch in epochs:
        np.testing.assert_array_equal(rows(epoch), rows(memory.train.batch(slice(None))))
    assert not np.array_equal(epochs[0]["obs"], epochs[1]["obs"]), "each epoch should come in a new order"
    every = {k: np.concatenate([epochs[0][k], stream.validation.batch(slice(None))[k]]) for k in epochs[0]}
    hand = np.flatnonzero(every["obs"][:, 1] >= 100)
    hand = hand[np.argsort(every["obs"][hand, 1])]
    np.testing.assert_allclose(every["value_targets"][hand], HAND_RETURNS, rtol=1e-6)


def test_streamed_validation_is_the_in_memory_split_and_never_trained(both):
    memory, stream = both
    assert (
        stream.validation.lengths.tolist() == memory.validation.lengths.tolist() and len(stream.validation.lengths) == 9
    )
    for key, column in memory.validation.validation_batch().items():
        np.testing.assert_array_equal(stream.validation.validation_batch()[key], column)
    train, validation = rows(stream.sample(len(memory.train))), rows(stream.validation.batch(slice(None)))
    assert not set(map(tuple, train)) & set(map(tuple, validation))
    assert len(train) + len(validation) == dataset.read_metadata(stream._inputs)["num_steps"]


def test_streamed_max_episodes_spans_files_like_in_memory(ray_session, two_datasets):
    config = data_config(two_datasets, validation_fraction=0.1, max_episodes=43)
    memory, stream = InMemoryOfflineData(config), StreamingOfflineData(config)
    try:
        np.testing.assert_array_equal(rows(stream.sample(len(memory.train))), rows(memory.train.batch(slice(None))))
        np.testing.assert_array_equal(stream.validation.lengths, memory.validation.lengths)
    finally:
        stream.stop()


@pytest.mark.parametrize(
    "setting, available, expected",
    [
        ("auto", 10**12, InMemoryOfflineData),
        ("auto", 1000, StreamingOfflineData),  # decided from parquet footers: nothing is loaded
        (True, 1000, InMemoryOfflineData),
        (False, 10**12, StreamingOfflineData),
    ],
)
def test_data_in_memory_picks_the_offline_data_class(two_datasets, monkeypatch, setting, available, expected):
    monkeypatch.setattr(streaming_data, "available_memory", lambda: available)
    config = data_config(two_datasets, data_in_memory=setting).prepare()
    config.validate()
    assert config.offline_data_class is expected


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_bad_data_in_memory_is_a_config_error(two_datasets, value):
    with pytest.raises(ConfigError, match=f"data_in_memory={value!r}: must be 'auto', true or false"):
        data_config(two_datasets, data_in_memory=value).validate()


def test_marwil_il_trains_on_the_stream(ray_session, two_datasets):
    config = data_config(two_datasets, beta=1.0, validation_fraction=0.2, data_in_memory=False)
    algo = config.build_algo()
    try:
        assert isinstance(algo.offline_data, StreamingOfflineData)
        results = [algo.train() for _ in range(2)]
        learner = results[-1]["learners"]["default_policy"]
        assert learner["num_module_steps_trained_lifetime"] == 2 * 4 * 64
        for key in ("policy_loss", "vf_loss", "action_accuracy"):
            assert np.isfinite(learner[key])
        assert results[-1]["validation"]["num_episodes"] == 9
    finally:
        algo.stop()
    assert inspect.getgeneratorstate(algo.offline_data._batches) == inspect.GEN_CLOSED, "stop() must end the epoch"

    algo = config.training(expert_fraction=0.5).build_algo()  # mixed MARWIL draws its expert rows from the stream
    try:
        assert algo.train()["mixing"]["expert_fraction"] == 0.5
    finally:
        algo.stop()
