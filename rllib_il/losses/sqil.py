"""SQIL's soft Bellman target as a pure torch function (no RLlib state).

Soft Q Imitation Learning, Reddy, Dragan and Levine 2020 (arXiv 1905.11108): soft Q-learning on a
replay that holds the demonstrations with reward 1 and the agent's own transitions with reward 0,
sampled half and half. The squared soft Bellman error of a row (s, a, r, s') is

    delta^2 = (Q(s, a) - (r + gamma * (1 - done) * V(s')))^2,   V(s') = alpha * log sum_a' exp(Q'(s', a') / alpha)

with Q' the target network and alpha the temperature of the Boltzmann policy pi(a|s) ~ exp(Q(s, a) / alpha).
alpha -> 0 gives the hard max of DQN's target.
"""

import torch


def soft_value(q_values: torch.Tensor, temperature: float) -> torch.Tensor:
    """V(s) = alpha * logsumexp(Q(s, .) / alpha) over the last axis; max_a Q(s, a) for alpha = 0."""
    if temperature == 0:
        return torch.max(q_values, dim=-1).values
    return temperature * torch.logsumexp(q_values / temperature, dim=-1)


def soft_bellman_target(
    rewards: torch.Tensor,
    q_next_target: torch.Tensor,
    terminateds: torch.Tensor,
    discounts: torch.Tensor,
    temperature: float,
) -> torch.Tensor:
    """r + discount * (1 - done) * V(s'), detached; `discounts` is gamma^n per row (n-step rows)."""
    value = soft_value(q_next_target, temperature)
    return (rewards + discounts * (1.0 - terminateds.float()) * value).detach()
