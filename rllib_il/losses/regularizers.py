"""Regularizers that keep a fine-tuned policy near the policy it started from.

Policy-gradient fine-tuning from behaviour cloning (e.g. the BC -> PPO recipe of the Maze framework's
documentation, and the KL-regularized fine-tuning of Rajeswaran et al. 2018, "Learning Complex
Dexterous Manipulation with Deep RL and Demonstrations", arXiv 1709.10087) adds to the RL loss a term
that penalizes moving away from the imitation policy pi_0 while the critic and the advantages are
still poor:

    KL(pi_0(.|s) || pi(.|s)) = sum_a pi_0(a|s) * (log pi_0(a|s) - log pi(a|s))

averaged over the batch's states, with a coefficient that decays to 0. Pure functions of tensors.
"""

import torch


def kl_to_reference(reference_logits: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Per-row KL(pi_0 || pi) of two categorical policies given by their logits, shape [B].

    No gradient flows into `reference_logits` (pi_0 is a fixed target)."""
    reference_logp = torch.log_softmax(reference_logits.detach(), dim=-1)
    logp = torch.log_softmax(logits, dim=-1)
    return (reference_logp.exp() * (reference_logp - logp)).sum(dim=-1)
