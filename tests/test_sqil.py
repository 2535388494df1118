"""SQIL: the soft value and soft Bellman target by hand, the learner's `compute_loss_for_module`
against NumPy (built locally, no Ray), the 1 / 0 rewards and the half-and-half mix on sampled
batches of its replay, and bad settings refused with one line."""

import math

import numpy as np
import pytest
import torch
from ray.rllib.algorithms.dqn.dqn_learner import QF_LOSS_KEY
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from test_adversarial import lunar_episodes
from test_dqfd_learner_loss import CARTPOLE, N, learner_with_moved_target, make_batch, q_values

from rllib_il.algorithms.dqfd.demonstrations import build_replay
from rllib_il.algorithms.sqil.sqil import SQILConfig
from rllib_il.core.errors import ConfigError
from rllib_il.data import read_episodes
from rllib_il.losses.sqil import soft_bellman_target, soft_value
from rllib_il.replay.columns import IS_EXPERT, REWARD_1STEP

LUNAR = "saved_experiences/lunarlander"
GAMMA, TEMPERATURE = 0.9, 0.5


def t(x):
    return torch.as_tensor(x, dtype=torch.float32)


def test_soft_value_by_hand():
    q = t([[1.0, 2.0]])
    assert soft_value(q, 1.0).item() == pytest.approx(2.0 + math.log(1.0 + math.exp(-1.0)), rel=1e-6)  # 2.31326
    assert soft_value(q, 0.5).item() == pytest.approx(2.0 + 0.5 * math.log(1.0 + math.exp(-2.0)), rel=1e-6)
    assert soft_value(q, 0.0).item() == 2.0


def test_soft_bellman_target_by_hand():
    got = soft_bellman_target(t([1.0, 0.0]), t([[1.0, 2.0], [5.0, 5.0]]), t([0.0, 1.0]), t([0.9, 0.81]), 1.0)
    np.testing.assert_allclose(got.numpy(), [1.0 + 0.9 * (2.0 + math.log(1.0 + math.exp(-1.0))), 0.0], rtol=1e-6)


def sqil_config(**training):
    return (
        SQILConfig()
        .environment(CARTPOLE)
        .training(gamma=GAMMA, soft_q_temperature=TEMPERATURE, **training)
        .rl_module(model_config={"fcnet_hiddens": [16, 16]})
        .debugging(seed=0)
    )


def test_sqil_learner_loss_matches_numpy():
    """SQIL's defaults (lambda_nstep, lambda_margin, lambda_l2 0, squared error): the loss is
    mean(w * (Q(s, a) - r1 - gamma (1 - d1) alpha logsumexp(Q_target(s1) / alpha))^2)."""
    config = sqil_config()
    learner = learner_with_moved_target(config, CARTPOLE)
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    batch = make_batch(3)
    fwd_out = module.forward_train(batch)
    loss = learner.compute_loss_for_module(module_id=DEFAULT_MODULE_ID, config=config, batch=batch, fwd_out=fwd_out)
    np_batch = {k: v.numpy().astype(np.float64) for k, v in batch.items()}
    q = q_values(module, batch[Columns.OBS])[np.arange(N), np_batch[Columns.ACTIONS].astype(int)]
    next_q = q_values(module, batch["obs_1step"], target=True)
    value = TEMPERATURE * np.log(np.exp(next_q / TEMPERATURE).sum(axis=1))
    target = np_batch[REWARD_1STEP] + GAMMA * (1.0 - np_batch["terminated_1step"]) * value
    expected = np.mean(np_batch["weights"] * (q - target) ** 2)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert float(learner.metrics.peek((DEFAULT_MODULE_ID, QF_LOSS_KEY))) == pytest.approx(expected, rel=1e-5)


def test_sampled_batches_carry_reward_1_on_demonstrations_and_0_on_own_steps():
    config = SQILConfig().environment("LunarLander-v3").training(expert_data=LUNAR, max_expert_episodes=5)
    replay = build_replay(config, expert_reward=config.expert_reward, simulation_reward=config.agent_reward)
    assert replay.secondary.get_num_timesteps() == sum(len(e) for e in read_episodes(LUNAR)[:5])
    simulation = lunar_episodes(count=3, length=40)
    assert any(r != 0 for e in simulation for r in e.get_rewards())  # the env's rewards, never replayed
    replay.add(simulation)
    rows = replay.sample(100, n_step=1, gamma=0.99)
    expert = np.array([r.get_extra_model_outputs(IS_EXPERT, 0) for r in rows]) > 0.5
    rewards = np.array([r.get_rewards(0) for r in rows])
    one_step = np.array([r.get_extra_model_outputs(REWARD_1STEP, 0) for r in rows])
    assert expert.sum() == 50 and expert[:50].all()
    np.testing.assert_array_equal(rewards, np.where(expert, 1.0, 0.0))
    np.testing.assert_array_equal(one_step, rewards)


def test_ignore_terminations_replays_no_terminal_step():
    config = SQILConfig().environment("LunarLander-v3").training(expert_data=LUNAR, max_expert_episodes=1)
    episode = read_episodes(LUNAR)[0]
    assert episode.is_terminated
    for ignore, expected in ((False, True), (True, False)):
        replay = build_replay(config, expert_reward=1.0, simulation_reward=0.0, ignore_terminations=ignore)
        rows = replay.sample(len(episode) * 20, n_step=1, gamma=0.99)
        last = [r for r in rows if r.t_started == len(episode) - 1]
        assert last and all(r.is_terminated is expected for r in last)
        assert all(bool(r.get_extra_model_outputs("terminated_1step", 0)) is expected for r in last)


@pytest.mark.parametrize(
    "training, message",
    [
        ({"soft_q_temperature": -1.0}, "soft_q_temperature: -1.0 must be a number >= 0.0"),
        ({"expert_reward": "one"}, "expert_reward: 'one' must be a number"),
        ({"transformed_bellman": True}, "transformed_bellman: not available with SQIL"),
        ({"max_expert_episodes": 0}, "max_expert_episodes: 0 must be a positive integer"),
        ({"ignore_terminations": 1}, "ignore_terminations: 1 must be true or false"),
        ({"expert_data": None}, "expert_data: missing"),
    ],
)
def test_bad_sqil_settings_are_one_line_errors(training, message):
    config = SQILConfig().environment(CARTPOLE).training(**{"expert_data": "saved_experiences/cartpole", **training})
    with pytest.raises(ConfigError, match=message) as e:
        config.validate()
    assert "\n" not in str(e.value)
