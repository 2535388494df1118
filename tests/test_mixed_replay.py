"""Mixed replay: two n-step prioritized buffers sampled as one. Ratio, flags, per-episode margin mask,
1-step/n-step columns on every row, priority routing, eviction; the shared fraction schedule and rounding."""

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from rllib_il.core.errors import ConfigError
from rllib_il.losses.dqfd import top_return_mask
from rllib_il.replay.columns import IS_EXPERT, MARGIN_MASK, OBS_1STEP, REWARD_1STEP, TERMINATED_1STEP
from rllib_il.replay.mixed_buffer import MixedEpisodeReplayBuffer
from rllib_il.replay.mixing import ExpertFraction, check_fraction
from rllib_il.replay.nstep_buffer import NStepPrioritizedEpisodeBuffer

OBS_SPACE = gym.spaces.Box(-1e6, 1e6, (3,), np.float32)


def make_episode(source, index, length, terminated=True, reward=1.0):
    """obs = (source, step, index); expert source 1, simulation 0; rewards = reward * (step + 1)."""
    episode = SingleAgentEpisode(observation_space=OBS_SPACE, action_space=gym.spaces.Discrete(3))
    episode.add_env_reset(np.array([source, 0, index], np.float32))
    for t in range(length):
        episode.add_env_step(
            np.array([source, t + 1, index], np.float32),
            t % 3,
            reward * (t + 1),
            terminated=terminated and t == length - 1,
        )
    episode.id_ = f"{'expert' if source else 'sim'}-{index}"
    return episode.to_numpy()


def mixed(expert, fraction=0.25, margin_top_fraction=1.0, capacity=1000, alpha=1.0, seed=0):
    """Simulation (primary) + demonstrations (secondary) as DQfD builds them."""
    margin = top_return_mask([e.get_return() for e in expert], margin_top_fraction)
    simulation = NStepPrioritizedEpisodeBuffer(
        capacity, columns={IS_EXPERT: 0.0, MARGIN_MASK: 0.0}, alpha=alpha, seed=seed
    )
    demonstrations = NStepPrioritizedEpisodeBuffer(
        sum(len(e) for e in expert),
        priority_bonus=1.0,
        columns={IS_EXPERT: 1.0},
        episode_columns={MARGIN_MASK: {e.id_: float(m) for e, m in zip(expert, margin)}},
        alpha=alpha,
        seed=seed + 1,
    )
    demonstrations.add(expert)
    return MixedEpisodeReplayBuffer(simulation, demonstrations, fraction)


@pytest.fixture
def buffer():
    buf = mixed([make_episode(1, i, 20, reward=float(i)) for i in range(4)], margin_top_fraction=0.5)
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
        assert flags.sum() in (7, 8)  # within one row of 0.25 * 30 in every batch
        expert_rows += flags.sum()
    assert expert_rows / (200 * 30) == pytest.approx(0.25, abs=1e-3)
    buffer.fraction = 0.0
    assert column(buffer.sample(30), IS_EXPERT).sum() == 0


def test_margin_mask_only_on_best_expert_episodes(buffer):
    """Expert episode i has return proportional to i: with margin_top_fraction 0.5 the mask is 1 on the
    rows of expert episodes 2 and 3 and 0 on every other row, expert or simulation."""
    rows = buffer.sample(400, n_step=1)
    source = np.array([r.get_observations(0)[0] for r in rows])
    index = np.array([r.get_observations(0)[2] for r in rows])
    np.testing.assert_array_equal(column(rows, MARGIN_MASK), ((source == 1) & (index >= 2)).astype(float))
    assert {2.0, 3.0} <= set(index[source == 1]) and {0.0, 1.0} <= set(index[source == 1])


def test_n_step_and_one_step_columns(buffer):
    """Every row, expert or simulation: n cut at the episode end, the discounted n-step reward, o_{t+n},
    the 1-step reward and next observation, and both terminated flags."""
    gamma = 0.9
    rows = buffer.sample(300, n_step=3, gamma=gamma)
    assert {r.get_observations(0)[0] for r in rows} == {0.0, 1.0}
    for row in rows:
        source, t, index = row.get_observations(0)
        length, scale = (20, index) if source else (30, 1.0)
        n = min(3, length - int(t))
        assert row.get_extra_model_outputs("n_step", 0) == n
        assert row.get_observations(1)[1] == t + n
        assert row.get_rewards(0) == pytest.approx(sum(gamma**k * scale * (t + 1 + k) for k in range(n)))
        assert row.get_extra_model_outputs(REWARD_1STEP, 0) == pytest.approx(scale * (t + 1))
        assert row.get_extra_model_outputs(OBS_1STEP, 0)[1] == t + 1
        assert row.is_terminated == (t + n == length)
        assert row.get_extra_model_outputs(TERMINATED_1STEP, 0) == float(t + 1 == length)


def test_priorities_land_on_the_right_part_and_rows(buffer):
    rows = buffer.sample(40, n_step=1)
    expert_rows = [(r.get_observations(0)[2], r.get_observations(0)[1]) for r in rows[:10]]
    assert [r.get_observations(0)[0] for r in rows] == [1.0] * 10 + [0.0] * 30  # expert rows first
    td = np.arange(40, dtype=np.float64) + 5.0
    buffer.update_priorities(td)
    # A huge TD error on one expert row and one simulation row: each becomes its part's sample.
    rows = buffer.sample(8)
    td = np.zeros(8)
    td[0], td[-1] = 1e9, 1e9
    targets = [(rows[i].get_observations(0)[2], rows[i].get_observations(0)[1]) for i in (0, -1)]
    buffer.update_priorities(td)
    rows = buffer.sample(40)
    expert = [(r.get_observations(0)[2], r.get_observations(0)[1]) for r in rows if r.get_observations(0)[0] == 1]
    sim = [(r.get_observations(0)[2], r.get_observations(0)[1]) for r in rows if r.get_observations(0)[0] == 0]
    assert expert.count(targets[0]) >= len(expert) - 1 and sim.count(targets[1]) >= len(sim) - 1
    assert len(expert_rows) == 10


def test_importance_weights_follow_priorities():
    """beta 1, alpha 1: a row's weight is p_min / p_row. New rows enter at priority 1; one row's TD error
    3 makes its priority 3 + eps, so its weight is 1 / 3.001 and every other row's 1."""
    buf = mixed([make_episode(1, 0, 4)], fraction=0.0)
    buf.add([make_episode(0, 0, 4)])
    [row] = buf.sample(1, n_step=1)
    buf.update_priorities(np.array([3.0]))
    raised = row.get_observations(0)[1]
    rows = buf.sample(400, n_step=1, beta=1.0)
    steps, weights = np.array([r.get_observations(0)[1] for r in rows]), column(rows, "weights")
    np.testing.assert_allclose(weights, np.where(steps == raised, 1 / 3.001, 1.0), rtol=1e-9)
    assert (steps == raised).mean() == pytest.approx(3.001 / 6.001, abs=0.08)  # drawn in proportion to priority


def test_expert_part_never_evicted():
    buf = mixed([make_episode(1, i, 10) for i in range(3)], capacity=50, seed=1)
    for i in range(20):
        buf.add([make_episode(0, i, 10)])
    assert buf.secondary.get_num_timesteps() == 30 and buf.primary.get_num_timesteps() <= 60
    assert len(buf.primary.episodes) < 20


def test_phase1_samples_only_expert_when_no_simulation():
    buf = mixed([make_episode(1, 0, 10)])
    assert column(buf.sample(16), IS_EXPERT).sum() == 16


def test_rounding_is_error_diffused():
    """f * B = 2.5: batches alternate 2 and 3 expert rows; whole products are exact."""
    rounding = ExpertFraction(0.25)
    assert [rounding.split(0.25, 10) for _ in range(4)] == [2, 3, 2, 3]
    assert [ExpertFraction(0.25).split(0.25, 512)] == [128]
    assert [rounding.split(1.0, 8), rounding.split(0.0, 8)] == [8, 0]


def test_fraction_schedule_is_piecewise_linear_over_iterations():
    schedule = ExpertFraction([[0, 1.0], [10, 0.5], [20, 0.25]])
    assert [schedule.at(i) for i in (0, 5, 10, 15, 20, 99)] == pytest.approx([1.0, 0.75, 0.5, 0.375, 0.25, 0.25])
    assert ExpertFraction(0.3).at(1000) == pytest.approx(0.3)


@pytest.mark.parametrize(
    "bad",
    [1.5, -0.1, "0.2", True, [], [[1, 0.5]], [[0, 0.5], [5]], [[0, 0.5], [3, 2.0]], [[0, 1.0], [10, 0.5], [5, 0.2]]],
)
def test_bad_fractions_are_refused(bad):
    with pytest.raises(ConfigError, match="expert_fraction"):
        check_fraction(bad)
