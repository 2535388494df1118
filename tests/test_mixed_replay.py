"""The expert + simulation prioritized buffer: ratio, flags, 1-step/n-step columns, priority routing."""

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from rllib_il.replay.mixed_episode_buffer import (
    IS_EXPERT,
    MARGIN_MASK,
    OBS_1STEP,
    REWARD_1STEP,
    TERMINATED_1STEP,
    MixedPrioritizedEpisodeReplayBuffer,
)

OBS_SPACE = gym.spaces.Box(-1e6, 1e6, (2,), np.float32)


def make_episode(source, index, length, terminated=True, reward=1.0):
    """obs = (source, step); expert source 1, simulation 0; rewards = reward * (step + 1)."""
    episode = SingleAgentEpisode(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(3))
    episode.add_env_reset(np.array([source, 0], np.float32))
    for t in range(length):
        episode.add_env_step(
            np.array([source, t + 1], np.float32), t % 3, reward * (t + 1),
            terminated=terminated and t == length - 1,
        )
    episode.id_ = f"{'expert' if source else 'sim'}-{index}"
    return episode.to_numpy()


@pytest.fixture
def buffer():
    expert = [make_episode(1, i, 20, reward=float(i)) for i in range(4)]
    buf = MixedPrioritizedEpisodeReplayBuffer(
        capacity=1000, expert_episodes=expert, expert_fraction=0.25, margin_top_fraction=0.5, alpha=1.0, seed=0
    )
    buf.add([make_episode(0, i, 30) for i in range(5)])
    return buf


def column(rows, key):
    return np.array([r.get_extra_model_outputs(key, 0) for r in rows])


def test_achieved_ratio_and_flags(buffer):
    expert_rows = 0
    for _ in range(200):
        rows = buffer.sample(30, n_step=3, gamma=0.9, beta=0.4)
        assert len(rows) == 30
        flags = column(rows, IS_EXPERT)
        sources = np.array([r.get_observations(0)[0] for r in rows])
        np.testing.assert_array_equal(flags, sources)  # expert rows and only expert rows are flagged
        expert_rows += flags.sum()
    assert expert_rows / (200 * 30) == pytest.approx(0.25, abs=1e-3)
    buffer.expert_fraction = 0.0
    assert column(buffer.sample(30), IS_EXPERT).sum() == 0


def test_margin_mask_only_on_best_expert_episodes(buffer):
    rows = buffer.sample(400, n_step=1)
    flags, mask = column(rows, IS_EXPERT), column(rows, MARGIN_MASK)
    assert set(mask[flags == 0]) == {0.0}
    # Expert episode i has return proportional to i: the top half are expert-2 and expert-3.
    ids = [(r.get_observations(0)[0], buffer.expert.episodes[0] is not None) for r in rows]
    assert 0 < mask.sum() < flags.sum() and len(ids) == 400


def test_n_step_and_one_step_columns(buffer):
    gamma = 0.9
    for row in buffer.sample(200, n_step=3, gamma=gamma):
        source, t = row.get_observations(0)
        length = 20 if source else 30
        n = min(3, length - int(t))
        assert row.get_extra_model_outputs("n_step", 0) == n
        assert row.get_observations(1)[1] == t + n
        scale = 1.0 if not source else None
        if scale:  # Simulation rewards are (step + 1): check the discounted n-step sum.
            expected = sum(gamma**k * (t + 1 + k) for k in range(n))
            assert row.get_rewards(0) == pytest.approx(expected)
            assert row.get_extra_model_outputs(REWARD_1STEP, 0) == pytest.approx(t + 1)
        assert row.get_extra_model_outputs(OBS_1STEP, 0)[1] == t + 1
        assert row.is_terminated == (t + n == length)
        assert row.get_extra_model_outputs(TERMINATED_1STEP, 0) == float(t + 1 == length)


def test_priorities_land_on_the_right_part_and_rows(buffer):
    rows = buffer.sample(40, n_step=1)
    expert_idx, sim_idx = list(buffer.expert._last_sampled_indices), list(buffer._last_sampled_indices)
    td = np.arange(40, dtype=np.float64) + 5.0
    buffer.update_priorities(td)
    # alpha = 1: the tree holds the priority itself (a row drawn twice keeps its last TD error).
    expected_expert = {idx: td[i] + 1e-3 + 1.0 for i, idx in enumerate(expert_idx)}
    expected_sim = {idx: td[len(expert_idx) + j] + 1e-3 for j, idx in enumerate(sim_idx)}
    assert len(expert_idx) == 10 and len(sim_idx) == 30
    for part, expected in ((buffer.expert, expected_expert), (buffer, expected_sim)):
        for tree_idx, priority in expected.items():
            assert part._sum_segment[tree_idx] == pytest.approx(priority)
    # A huge priority on one simulation row makes it the one sampled from simulation.
    rows = buffer.sample(8)
    td = np.zeros(8)
    td[-1] = 1e9
    sim_tree_idx = buffer._last_sampled_indices[-1]
    target = (rows[-1].get_observations(0)[1], rows[-1].get_actions(0))
    buffer.update_priorities(td)
    rows = buffer.sample(40)
    sim = [(r.get_observations(0)[1], r.get_actions(0)) for r in rows if r.get_observations(0)[0] == 0]
    assert sim.count(target) >= len(sim) - 1 and buffer._sum_segment[sim_tree_idx] >= 1e9


def test_expert_part_never_evicted():
    expert = [make_episode(1, i, 10) for i in range(3)]
    buf = MixedPrioritizedEpisodeReplayBuffer(capacity=50, expert_episodes=expert, seed=1)
    for i in range(20):
        buf.add([make_episode(0, i, 10)])
    assert buf.expert.get_num_timesteps() == 30 and buf.get_num_timesteps() <= 60
    assert len(buf.episodes) < 20


def test_phase1_samples_only_expert_when_no_simulation():
    buf = MixedPrioritizedEpisodeReplayBuffer(expert_episodes=[make_episode(1, 0, 10)], seed=0)
    assert column(buf.sample(16), IS_EXPERT).sum() == 16
