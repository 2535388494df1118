"""MARWIL: Monotonic Advantage Re-Weighted Imitation Learning (Wang et al., NeurIPS 2018).

    R_t   = sum_{k>=t} gamma^(k-t) r_k                  Monte-Carlo return-to-go over the whole episode
    A_t   = R_t - V(s_t)
    c^2  <- c^2 + rate * (mean(A^2) - c^2)               moving average of the squared advantage
    L_pi  = -mean( exp(beta * A_t / c) * log pi(a_t|s_t) )   (weights are constants, no gradient)
    L_V   = 0.5 * mean(A_t^2)
    L     = L_pi + vf_coeff * L_V

beta = 0 gives every sample the weight 1: behaviour cloning. Pure functions, no RLlib state.
"""

from typing import NamedTuple, Optional

import numpy as np
import torch
from ray.rllib.evaluation.postprocessing import discount_cumsum


def discounted_return_to_go(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """R_t = sum_{k>=t} gamma^(k-t) r_k for one complete episode (float32)."""
    return discount_cumsum(np.asarray(rewards, dtype=np.float64), gamma).astype(np.float32)


def update_sqd_adv_norm(sqd_adv_norm: torch.Tensor, advantages: torch.Tensor, rate: float) -> torch.Tensor:
    """c^2 <- c^2 + rate * (mean(A^2) - c^2), without gradient."""
    return sqd_adv_norm + rate * (advantages.detach().pow(2).mean() - sqd_adv_norm)


class MARWILLoss(NamedTuple):
    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor
    weights: torch.Tensor


def marwil_loss(
    logp: torch.Tensor,
    values: Optional[torch.Tensor],
    returns: torch.Tensor,
    beta,
    sqd_adv_norm: torch.Tensor,
    vf_coeff: float = 1.0,
) -> MARWILLoss:
    """The MARWIL loss for one batch (see module docstring).

    `values = None` is behaviour cloning: unit weights and no value term. `sqd_adv_norm` is the
    (already updated) moving average c^2 of the squared advantages.
    """
    if values is None:
        weights = torch.ones_like(logp)
        value_loss = torch.zeros((), dtype=logp.dtype, device=logp.device)
    else:
        advantages = returns - values
        value_loss = 0.5 * advantages.pow(2).mean()
        weights = torch.exp(beta * advantages.detach() / (1e-8 + sqd_adv_norm.sqrt()))
    policy_loss = -(weights * logp).mean()
    return MARWILLoss(policy_loss + vf_coeff * value_loss, policy_loss, value_loss, weights)
