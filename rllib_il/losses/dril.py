"""DRIL's cost as pure torch functions (no RLlib state).

Disagreement-Regularized Imitation Learning, Brantley, Sun and Henaff 2020 (ICLR, openreview
rkgbYyHtwB): an ensemble of E behaviour-cloning policies pi_1..pi_E, each trained on a bootstrap
sample of the demonstrations, disagrees where the demonstrations say nothing. The uncertainty cost of
a state-action is the variance of the members' probabilities of that action,

    C_U(s, a) = Var_i[pi_i(a | s)],

clipped at q, a high quantile of C_U over the demonstrations' own state-actions:

    C_clip(s, a) = -1 if C_U(s, a) <= q else +1,

and the policy is trained with reward -C_clip (plus a behaviour-cloning term on the demonstrations).
"""

import torch


def ensemble_variance(probs: torch.Tensor) -> torch.Tensor:
    """Var_i[pi_i(a | s)] per row, `probs` [E, B] the members' probabilities of the row's action
    (population variance over the E members)."""
    return probs.var(dim=0, unbiased=False)


def clipped_uncertainty_cost(variance: torch.Tensor, threshold) -> torch.Tensor:
    """C_clip: -1 where the variance is at most `threshold` (q), +1 above it."""
    return torch.where(variance <= threshold, -1.0, 1.0).to(variance.dtype)
