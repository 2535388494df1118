"""Per-decision importance-sampling estimates of a target policy's value from behaviour episodes.

Precup, Sutton & Singh (2000), "Eligibility traces for off-policy policy evaluation"; the weighted
form as in Thomas (2015), "Safe reinforcement learning", sec. 3.
With the log importance weight  L_{i,t} = sum_{k<=t} log pi(a_k|s_k) - log mu(a_k|s_k):

    IS  (per-decision):  V = 1/N sum_i sum_t gamma^t exp(L_{i,t}) r_{i,t}
    WIS (per-decision):  V = sum_t gamma^t sum_i softmax_i(L_{., t}) r_{i,t}

Everything stays in log space (logsumexp / log_softmax), so episodes of thousands of steps neither
underflow nor overflow. Episodes shorter than the longest are padded as absorbing states: reward 0
and the log weight frozen at its last value. Inputs are padded [N, T] tensors with a bool mask.
"""

from typing import Sequence

import torch


def pad_episodes(flat: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
    """[sum(lengths)] -> [N, max(lengths)] zero-padded, one row per episode."""
    return torch.nn.utils.rnn.pad_sequence(list(torch.split(flat, list(lengths))), batch_first=True)


def episode_mask(lengths: Sequence[int]) -> torch.Tensor:
    lengths = torch.as_tensor(list(lengths))
    return torch.arange(int(lengths.max()))[None, :] < lengths[:, None]


def cumulative_log_weights(target_logp, behaviour_logp, mask) -> torch.Tensor:
    """L_{i,t}, frozen after the episode's end."""
    return torch.cumsum(torch.where(mask, target_logp - behaviour_logp, 0.0), dim=1)


def _discounts(num_steps: int, gamma: float, like: torch.Tensor) -> torch.Tensor:
    return gamma ** torch.arange(num_steps, dtype=like.dtype, device=like.device)


def _signed_log_mean_exp(log_weights: torch.Tensor, values: torch.Tensor, dim: int) -> torch.Tensor:
    """log-space mean over `dim` of exp(log_weights) * values, returned as a plain value."""
    log_abs = torch.log(values.abs())
    count = torch.log(torch.tensor(float(values.shape[dim]), dtype=values.dtype))
    pos = torch.logsumexp(torch.where(values > 0, log_weights + log_abs, -torch.inf), dim=dim)
    neg = torch.logsumexp(torch.where(values < 0, log_weights + log_abs, -torch.inf), dim=dim)
    return torch.exp(pos - count) - torch.exp(neg - count)


def per_decision_is(target_logp, behaviour_logp, rewards, mask, gamma: float) -> torch.Tensor:
    """Per-decision importance sampling estimate of the target policy's discounted return."""
    log_w = cumulative_log_weights(target_logp, behaviour_logp, mask)
    discounted = torch.where(mask, rewards, 0.0) * _discounts(rewards.shape[1], gamma, rewards)
    return _signed_log_mean_exp(log_w, discounted, dim=0).sum()


def per_decision_wis(target_logp, behaviour_logp, rewards, mask, gamma: float) -> torch.Tensor:
    """Per-decision weighted importance sampling estimate (weights normalised over episodes per step)."""
    log_w = cumulative_log_weights(target_logp, behaviour_logp, mask)
    normalised = torch.exp(torch.log_softmax(log_w, dim=0))
    discounted = torch.where(mask, rewards, 0.0) * _discounts(rewards.shape[1], gamma, rewards)
    return (normalised * discounted).sum()


def behaviour_value(rewards, mask, gamma: float) -> torch.Tensor:
    """On-policy Monte-Carlo estimate of the behaviour policy's discounted return."""
    discounted = torch.where(mask, rewards, 0.0) * _discounts(rewards.shape[1], gamma, rewards)
    return discounted.sum(dim=1).mean()


def estimates(target_logp, behaviour_logp, rewards, mask, gamma: float) -> dict:
    """IS and WIS as value, gain (v_target / v_behavior, > 1 = improvement for positive returns)
    and delta (v_target - v_behavior, sign-safe)."""
    v_behavior = behaviour_value(rewards, mask, gamma)
    out = {}
    for name, estimator in (("is", per_decision_is), ("wis", per_decision_wis)):
        v_target = estimator(target_logp, behaviour_logp, rewards, mask, gamma)
        out[name] = {
            "v_target": v_target.item(),
            "v_behavior": v_behavior.item(),
            "v_gain": (v_target / v_behavior).item() if v_behavior != 0 else float("nan"),
            "v_delta": (v_target - v_behavior).item(),
        }
    return out
