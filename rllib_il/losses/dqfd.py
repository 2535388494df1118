"""DQfD loss terms as pure torch functions (no RLlib state).

Deep Q-learning from Demonstrations, Hester et al. 2018 (arXiv 1704.03732):

    J(Q) = J_DQ + lambda1 * J_n + lambda2 * J_E + lambda3 * J_L2

    J_DQ, J_n  1-step and n-step double-Q TD losses
    J_E        large-margin supervised loss, expert rows only:
               J_E = max_a [Q(s, a) + l(a_E, a)] - Q(s, a_E),  l(a_E, a) = margin if a != a_E else 0
    J_L2       L2 penalty on the online network weights

Option from Ape-X DQfD, Pohlen et al. 2018 (arXiv 1805.11593): the transformed Bellman operator
    y = h(r + gamma^n * h^-1(Q_target(s', a*))),   h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps * x
which lets one network fit returns of very different scales without reward clipping.
"""

from typing import Iterable, Optional

import numpy as np
import torch


def h(x: torch.Tensor, eps: float = 1e-2) -> torch.Tensor:
    """Value-rescaling function h(x) = sign(x) (sqrt(|x| + 1) - 1) + eps x (Pohlen et al., eq. 3)."""
    return torch.sign(x) * (torch.sqrt(torch.abs(x) + 1.0) - 1.0) + eps * x


def h_inverse(x: torch.Tensor, eps: float = 1e-2) -> torch.Tensor:
    """Exact inverse of `h`: sign(x) (((sqrt(1 + 4 eps (|x| + 1 + eps)) - 1) / (2 eps))^2 - 1)."""
    root = (torch.sqrt(1.0 + 4.0 * eps * (torch.abs(x) + 1.0 + eps)) - 1.0) / (2.0 * eps)
    return torch.sign(x) * (root**2 - 1.0)


def double_q_target(
    rewards: torch.Tensor,
    q_next_online: torch.Tensor,
    q_next_target: torch.Tensor,
    terminateds: torch.Tensor,
    discounts: torch.Tensor,
    transform_eps: Optional[float] = None,
) -> torch.Tensor:
    """Double-Q target r + discount * (1 - done) * Q_target(s', argmax_a Q_online(s', a)), detached.

    `rewards` is the (discounted n-step) return to s', `discounts` is gamma^n per row. With
    `transform_eps` set, the target is h(r + discount * h^-1(Q_target)) (Ape-X DQfD).
    """
    best = torch.argmax(q_next_online, dim=-1, keepdim=True)
    q_next = torch.gather(q_next_target, -1, best).squeeze(-1)
    if transform_eps is not None:
        q_next = h_inverse(q_next, transform_eps)
    target = rewards + discounts * (1.0 - terminateds.float()) * q_next
    if transform_eps is not None:
        target = h(target, transform_eps)
    return target.detach()


def td_loss(q_selected: torch.Tensor, target: torch.Tensor, kind: str = "huber") -> torch.Tensor:
    """Per-row TD loss: Huber (delta 1) or squared error, as RLlib DQN's `td_error_loss_fn`."""
    if kind == "huber":
        return torch.nn.functional.huber_loss(q_selected, target, reduction="none", delta=1.0)
    return (q_selected - target) ** 2


def large_margin_loss(
    q_values: torch.Tensor, expert_actions: torch.Tensor, expert_mask: torch.Tensor, margin: float = 0.8
) -> torch.Tensor:
    """Per-row J_E = max_a [Q(s,a) + margin * (a != a_E)] - Q(s, a_E), zero where `expert_mask` is 0."""
    actions = expert_actions.long().unsqueeze(-1)
    margins = torch.full_like(q_values, margin).scatter(-1, actions, 0.0)
    q_expert = torch.gather(q_values, -1, actions).squeeze(-1)
    return (torch.max(q_values + margins, dim=-1).values - q_expert) * expert_mask.float()


def l2_penalty(parameters: Iterable[torch.Tensor]) -> torch.Tensor:
    """Sum of squared weights: the J_L2 term (scaled by lambda3 in J)."""
    return sum(torch.sum(p**2) for p in parameters)


def top_return_mask(returns, top_fraction: float) -> np.ndarray:
    """Boolean mask of the episodes whose return is in the best `top_fraction` (at least one episode).

    Used to apply J_E only to the best demonstrations; ties at the cut-off are all kept.
    """
    returns = np.asarray(returns, dtype=np.float64)
    if top_fraction >= 1.0 or returns.size == 0:
        return np.ones(returns.shape, dtype=bool)
    k = max(1, int(np.ceil(top_fraction * returns.size)))
    cutoff = np.sort(returns)[::-1][k - 1]
    return returns >= cutoff
