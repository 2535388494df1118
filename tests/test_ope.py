"""Per-decision IS / WIS on a tiny MDP whose true values are known by enumeration."""

import itertools

import numpy as np
import pytest
import torch

from rllib_il.losses import ope

GAMMA = 0.9
HORIZON = 4


def step(state, action):
    """Deterministic 2-state chain: action 1 moves to/stays in state 1; reward 1 for action 1 in state 1."""
    reward = 1.0 if (state == 1 and action == 1) else (0.2 if action == 0 else 0.0)
    return int(action == 1), reward


def target_probs(state):
    return np.array([0.3, 0.7]) if state == 0 else np.array([0.1, 0.9])


def enumerate_trajectories():
    """Every action sequence of the horizon: (actions, states, rewards)."""
    for actions in itertools.product([0, 1], repeat=HORIZON):
        state, states, rewards = 0, [], []
        for a in actions:
            states.append(state)
            state, r = step(state, a)
            rewards.append(r)
        yield actions, states, rewards


def true_target_value():
    value = 0.0
    for actions, states, rewards in enumerate_trajectories():
        prob = np.prod([target_probs(s)[a] for s, a in zip(states, actions)])
        value += prob * sum(GAMMA**t * r for t, r in enumerate(rewards))
    return value


def uniform_behaviour_dataset():
    """All trajectories once each = exactly their probability under the uniform behaviour policy."""
    target, behaviour, rewards = [], [], []
    for actions, states, rews in enumerate_trajectories():
        target.append([np.log(target_probs(s)[a]) for s, a in zip(states, actions)])
        behaviour.append([np.log(0.5)] * HORIZON)
        rewards.append(rews)
    mask = torch.ones(len(rewards), HORIZON, dtype=torch.bool)
    return tuple(torch.tensor(x, dtype=torch.float64) for x in (target, behaviour, rewards)) + (mask,)


def test_is_and_wis_recover_true_value_of_tiny_mdp():
    data = uniform_behaviour_dataset()
    truth = true_target_value()
    assert ope.per_decision_is(*data, GAMMA).item() == pytest.approx(truth, rel=1e-9)
    # With every trajectory present, sum_i rho_{i,t} = N, so WIS is exact too.
    assert ope.per_decision_wis(*data, GAMMA).item() == pytest.approx(truth, rel=1e-9)
    # Behaviour value: uniform policy, by the same enumeration.
    behaviour = np.mean([sum(GAMMA**t * r for t, r in enumerate(rews)) for _, _, rews in enumerate_trajectories()])
    assert ope.behaviour_value(data[2], data[3], GAMMA).item() == pytest.approx(behaviour)


def test_sampled_estimates_are_close_to_truth():
    rng = np.random.default_rng(0)
    n = 4000
    target, behaviour, rewards = np.zeros((n, HORIZON)), np.zeros((n, HORIZON)), np.zeros((n, HORIZON))
    for i in range(n):
        state = 0
        for t in range(HORIZON):
            a = rng.integers(2)
            target[i, t] = np.log(target_probs(state)[a])
            behaviour[i, t] = np.log(0.5)
            state, rewards[i, t] = step(state, a)
    data = [torch.tensor(x) for x in (target, behaviour, rewards)] + [torch.ones(n, HORIZON, dtype=torch.bool)]
    truth = true_target_value()
    assert ope.per_decision_is(*data, GAMMA).item() == pytest.approx(truth, rel=0.05)
    assert ope.per_decision_wis(*data, GAMMA).item() == pytest.approx(truth, rel=0.05)


def test_identical_policies_give_behaviour_value_and_gain_one():
    lengths = [3, 5, 2]
    rewards = ope.pad_episodes(torch.arange(10, dtype=torch.float64) + 1.0, lengths)
    mask = ope.episode_mask(lengths)
    logp = torch.full_like(rewards, -0.7)
    result = ope.estimates(logp, logp, rewards, mask, GAMMA)
    v = ope.behaviour_value(rewards, mask, GAMMA).item()
    expected = np.mean([sum(GAMMA**t * r for t, r in enumerate(ep)) for ep in ([1, 2, 3], [4, 5, 6, 7, 8], [9, 10])])
    assert v == pytest.approx(expected)
    for name in ("is", "wis"):
        assert result[name]["v_target"] == pytest.approx(v)
        assert result[name]["v_gain"] == pytest.approx(1.0)
        assert result[name]["v_delta"] == pytest.approx(0.0, abs=1e-9)


def test_padded_steps_are_absorbing():
    """An ended episode keeps its final weight in the WIS normaliser and contributes no reward."""
    lengths = [1, 2]
    rewards = ope.pad_episodes(torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64), lengths)
    rewards[0, 1] = 123.0  # garbage in the padding must be ignored
    mask = ope.episode_mask(lengths)
    target = ope.pad_episodes(torch.log(torch.tensor([0.5, 1.0, 1.0], dtype=torch.float64)), lengths)
    behaviour = torch.zeros_like(target)
    # WIS: t=0: weights (0.5, 1) -> (0.5*1 + 1*1)/1.5 = 1; t=1: weights (0.5, 1) -> (0 + 1)/1.5.
    assert ope.per_decision_wis(target, behaviour, rewards, mask, 1.0).item() == pytest.approx(1 + 1 / 1.5)
    # IS: (0.5*1 + 1*1 + 1*1) / 2
    assert ope.per_decision_is(target, behaviour, rewards, mask, 1.0).item() == pytest.approx(1.25)


def test_long_episodes_do_not_underflow():
    """5000 steps with ratio e^-1 each: naive products are 0 (WIS 0/0); log space stays exact."""
    n, t = 3, 5000
    rewards = torch.ones(n, t, dtype=torch.float64)
    mask = torch.ones(n, t, dtype=torch.bool)
    target = torch.full((n, t), -1.0, dtype=torch.float64)
    target[1] = -1.5  # a lower-weight episode
    behaviour = torch.zeros_like(target)
    naive = torch.exp(torch.cumsum(target - behaviour, 1))
    assert naive[:, -1].sum() == 0.0  # what a product-of-ratios implementation would divide by
    wis = ope.per_decision_wis(target, behaviour, rewards, mask, 1.0)
    assert torch.isfinite(wis) and wis.item() == pytest.approx(t, rel=1e-6)  # rewards all 1
    is_ = ope.per_decision_is(target, behaviour, rewards, mask, 1.0)
    assert torch.isfinite(is_) and 0 < is_.item() < 1.0


def test_negative_rewards():
    rewards = torch.tensor([[-1.0, 2.0], [-3.0, 0.0]], dtype=torch.float64)
    mask = torch.ones(2, 2, dtype=torch.bool)
    target = torch.log(torch.tensor([[0.5, 0.5], [1.0, 1.0]], dtype=torch.float64))
    behaviour = torch.zeros_like(target)
    # IS = mean_i sum_t w_it r_it: ep0: 0.5*-1 + 0.25*2 = 0; ep1: -3 -> -1.5
    assert ope.per_decision_is(target, behaviour, rewards, mask, 1.0).item() == pytest.approx(-1.5)


def gaussian_logp(x, mean, std):
    return -0.5 * ((x - mean) / std) ** 2 - np.log(std) - 0.5 * np.log(2 * np.pi)


def test_continuous_densities_recover_a_known_value():
    """Continuous actions, two steps: s_0 = 0, s_1 = a_0, reward r_t = a_t. Behaviour a ~ N(0, 1);
    target a_0 ~ N(0.3, 0.8), a_1 ~ N(0.5 s_1, 0.8), so its value is E[a_0] + gamma E[0.5 a_0] =
    0.3 + 0.9 * 0.15 = 0.435 (the behaviour's is 0). The log weights are differences of Gaussian
    log-densities; per-decision weighting matters because a_1's target mean depends on a_0."""
    rng = np.random.default_rng(0)
    n = 40_000
    actions = rng.normal(size=(n, 2))
    target = np.stack(
        [gaussian_logp(actions[:, 0], 0.3, 0.8), gaussian_logp(actions[:, 1], 0.5 * actions[:, 0], 0.8)], axis=1
    )
    data = [torch.tensor(x) for x in (target, gaussian_logp(actions, 0.0, 1.0), actions)]
    data.append(torch.ones(n, 2, dtype=torch.bool))
    truth = 0.3 + GAMMA * 0.5 * 0.3
    assert ope.per_decision_is(*data, GAMMA).item() == pytest.approx(truth, abs=0.03)
    assert ope.per_decision_wis(*data, GAMMA).item() == pytest.approx(truth, abs=0.03)
    assert ope.behaviour_value(data[2], data[3], GAMMA).item() == pytest.approx(0.0, abs=0.03)
