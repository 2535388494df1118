"""Adversarial imitation: the discriminator's loss and the rewards it gives, as pure torch functions.

A discriminator D(x) = sigmoid(h(x)) tells expert inputs x (state-action pairs, or states alone for
state-only imitation) from the policy's. It is trained with the binary cross-entropy, expert = 1:

    L_D = -E_expert[log D(x)] - E_policy[log(1 - D(x))]
        = E_expert[softplus(-h(x))] + E_policy[softplus(h(x))]

and the policy is trained with a reward of the logit h (at the optimum h = log rho_expert / rho_policy):

    GAIL  (Ho & Ermon 2016, arXiv 1606.03476):           r = -log(1 - D) = softplus(h)   (Jensen-Shannon)
    AIRL  (Fu, Luo & Levine 2018, arXiv 1710.11248):     r = log D - log(1 - D) = h      (reverse KL)
    FAIRL (Ghasemipour, Zemel & Gu 2019, arXiv 1911.02256): r = -h * exp(h)              (forward KL)

Absorbing state (Kostrikov et al. 2019, arXiv 1809.02925): an episode that terminates goes on forever in
one absorbing state s_a, which the discriminator also judges (expert episodes end there too), so
ending an episode is worth gamma * r(s_a) / (1 - gamma) from its last step instead of 0: the rewards
above no longer push the policy to end episodes early (negative rewards) or late (positive ones).

Gradient penalty (Gulrajani et al. 2017, arXiv 1704.00028, as DAC uses it, Kostrikov et al. 2019,
arXiv 1809.02925): E[(||grad_x h(x_hat)||_2 - 1)^2] at x_hat = u x_expert + (1 - u) x_policy, u ~ U(0, 1).
"""

from typing import Callable

import torch
import torch.nn.functional as F

REWARD_FUNCTIONS = ("gail", "airl", "fairl")


def discriminator_loss(expert_logits: torch.Tensor, policy_logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy, expert = 1: mean softplus(-h) over expert rows + mean softplus(h) over policy rows."""
    return F.softplus(-expert_logits).mean() + F.softplus(policy_logits).mean()


def imitation_reward(logits: torch.Tensor, reward_function: str) -> torch.Tensor:
    """The policy's reward from the discriminator's logits h: GAIL softplus(h), AIRL h, FAIRL -h exp(h)."""
    if reward_function == "gail":
        return F.softplus(logits)
    if reward_function == "airl":
        return logits
    if reward_function == "fairl":
        return -logits * torch.exp(logits)
    raise ValueError(f"reward_function: {reward_function!r} is not one of {', '.join(REWARD_FUNCTIONS)}")


def with_absorbing_value(
    rewards: torch.Tensor, terminateds: torch.Tensor, absorbing_reward: torch.Tensor, gamma: float
) -> torch.Tensor:
    """Rewards with the absorbing state's discounted value added on each terminal step:
    r_t + terminated_t * gamma * r(s_a) / (1 - gamma)."""
    return rewards + terminateds.float() * gamma * absorbing_reward / (1.0 - gamma)


def gradient_penalty(
    logits_fn: Callable[[torch.Tensor], torch.Tensor],
    expert_inputs: torch.Tensor,
    policy_inputs: torch.Tensor,
    mix: torch.Tensor,
) -> torch.Tensor:
    """E[(||grad h(x_hat)||_2 - 1)^2] at x_hat = mix * expert + (1 - mix) * policy, row by row.

    `logits_fn` maps inputs [B, d] to logits [B]; `mix` holds one weight in [0, 1] per row ([B] or [B, 1]).
    """
    mix = mix.reshape(-1, 1)
    x_hat = (mix * expert_inputs + (1.0 - mix) * policy_inputs).detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(logits_fn(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.norm(2, dim=-1) - 1.0) ** 2).mean()
