"""MARWIL loss and Monte-Carlo targets against hand computations (like RLlib's test_marwil_loss_function)."""

import numpy as np
import pytest
import torch

from rllib_il.algorithms.marwil.in_memory_data import EpisodeArrays
from rllib_il.losses.marwil import discounted_return_to_go, marwil_loss, update_sqd_adv_norm


def test_return_to_go_of_hand_made_episode():
    rewards = [1.0, 0.0, -2.0, 3.0]
    gamma = 0.5
    expected = [
        1.0 + 0.5 * 0.0 + 0.25 * -2.0 + 0.125 * 3.0,
        0.0 + 0.5 * -2.0 + 0.25 * 3.0,
        -2.0 + 0.5 * 3.0,
        3.0,
    ]
    np.testing.assert_allclose(discounted_return_to_go(rewards, gamma), expected, rtol=1e-6)


def test_flattened_targets_restart_at_each_episode(hand_made_episodes):
    """VALUE_TARGETS are per-episode discounted returns computed from rewards, not stored columns."""
    arrays = EpisodeArrays.from_episodes(hand_made_episodes, gamma=0.9)
    np.testing.assert_array_equal(arrays.lengths, [3, 2])
    expected = [1 + 0.9 * 2 + 0.81 * 3, 2 + 0.9 * 3, 3, 10 + 0.9 * -1, -1]
    np.testing.assert_allclose(arrays.returns, expected, rtol=1e-6)
    np.testing.assert_allclose(arrays.obs[:, 0], [0, 1, 2, 100, 101])
    np.testing.assert_array_equal(arrays.actions, [0, 1, 0, 1, 1])
    np.testing.assert_allclose(arrays.behaviour_logp, [0.0, 0.0, 0.0, -0.5, -0.25])


@pytest.fixture
def hand_made_episodes():
    import gymnasium as gym
    from ray.rllib.env.single_agent_episode import SingleAgentEpisode

    def episode(first_obs, actions, rewards, logp=None):
        ep = SingleAgentEpisode(observation_space=gym.spaces.Box(-1e3, 1e3, (2,)), action_space=gym.spaces.Discrete(2))
        ep.add_env_reset(np.array([first_obs, 0.0], np.float32))
        for t, (a, r) in enumerate(zip(actions, rewards)):
            extra = {"action_logp": logp[t], "return_to_go": 12345.0} if logp else {}
            ep.add_env_step(
                np.array([first_obs + t + 1, 0.0], np.float32),
                a,
                r,
                terminated=t == len(actions) - 1,
                extra_model_outputs=extra,
            )
        return ep.to_numpy()

    return [episode(0, [0, 1, 0], [1.0, 2.0, 3.0]), episode(100, [1, 1], [10.0, -1.0], logp=[-0.5, -0.25])]


@pytest.mark.parametrize("beta", [0.0, 0.3, 1.0])
def test_marwil_loss_matches_numpy(beta):
    rng = np.random.default_rng(0)
    n, rate, vf_coeff = 32, 0.1, 0.7
    logits = rng.normal(size=(n, 3))
    actions = rng.integers(3, size=n)
    values = rng.normal(size=n)
    returns = rng.normal(size=n) * 5
    c2 = 4.0

    # NumPy hand computation.
    logp_np = logits[np.arange(n), actions] - np.log(np.exp(logits).sum(1))
    adv = returns - values
    c2_new = c2 + rate * (np.mean(adv**2) - c2)
    weights = np.exp(beta * adv / (1e-8 + np.sqrt(c2_new)))
    policy_np = -np.mean(weights * logp_np)
    value_np = 0.5 * np.mean(adv**2)

    logits_t = torch.tensor(logits, requires_grad=True)
    values_t = torch.tensor(values, requires_grad=True)
    logp = torch.distributions.Categorical(logits=logits_t).log_prob(torch.tensor(actions))
    returns_t = torch.tensor(returns)
    norm = update_sqd_adv_norm(torch.tensor(c2, dtype=torch.float64), returns_t - values_t, rate)
    assert norm.item() == pytest.approx(c2_new)
    loss = marwil_loss(logp, values_t, returns_t, beta, norm, vf_coeff=vf_coeff)
    assert loss.policy.item() == pytest.approx(policy_np, rel=1e-9)
    assert loss.value.item() == pytest.approx(value_np, rel=1e-9)
    assert loss.total.item() == pytest.approx(policy_np + vf_coeff * value_np, rel=1e-9)
    # The weights are constants: the policy term sends no gradient into the value function.
    loss.policy.backward()
    assert values_t.grad is None or torch.all(values_t.grad == 0)


def test_bc_loss_is_negative_log_likelihood():
    logp = torch.log(torch.tensor([0.5, 0.25, 1.0]))
    loss = marwil_loss(logp, None, torch.zeros(3), beta=0.0, sqd_adv_norm=torch.tensor(1.0))
    assert loss.total.item() == pytest.approx(-np.mean(np.log([0.5, 0.25, 1.0])))
    assert loss.value.item() == 0.0
