"""Torch MARWIL_IL learner: the loss of `rllib_il.losses.marwil` on Monte-Carlo value targets."""

from typing import Any, Dict

import torch
from ray.rllib.algorithms.marwil.marwil_learner import (
    LEARNER_RESULTS_MOVING_AVG_SQD_ADV_NORM_KEY,
    LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY,
)
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.core.learner.torch.torch_learner import TorchLearner
from ray.rllib.utils.annotations import override
from ray.rllib.utils.torch_utils import explained_variance
from ray.rllib.utils.typing import ModuleID, TensorType

from rllib_il.algorithms.critic_burn_in import CRITIC_BURN_IN_KEY, CriticBurnIn
from rllib_il.algorithms.marwil.checks import is_behaviour_cloning
from rllib_il.algorithms.marwil.in_memory_data import BEHAVIOUR_LOGP
from rllib_il.algorithms.marwil.marwil_learner import (
    LEARNER_RESULTS_ACTION_ACCURACY_KEY,
    LEARNER_RESULTS_ACTION_MAE_KEY,
    LEARNER_RESULTS_ACTION_MSE_KEY,
    MARWILILLearner,
)
from rllib_il.algorithms.squashed_actions import has_entropy
from rllib_il.data import is_box
from rllib_il.losses import ope
from rllib_il.losses.marwil import marwil_loss, update_sqd_adv_norm


def action_accuracy(action_dist, actions: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose most likely action is the demonstrated one (exact match)."""
    greedy = action_dist.to_deterministic().sample()
    return (greedy == actions).reshape(len(actions), -1).all(dim=1).float().mean()


def action_errors(action_dist, actions: torch.Tensor) -> Dict[str, torch.Tensor]:
    """Box actions: mean absolute and mean squared error of the greedy action against the demonstrated
    one, over rows and action dimensions, in the module's units ([-1, 1] when actions are normalised)."""
    error = action_dist.to_deterministic().sample() - actions
    return {LEARNER_RESULTS_ACTION_MAE_KEY: error.abs().mean(), LEARNER_RESULTS_ACTION_MSE_KEY: error.pow(2).mean()}


def action_metrics(action_dist, actions: torch.Tensor, discrete: bool) -> Dict[str, torch.Tensor]:
    """How well the policy matches the demonstrations beside its log-likelihood: accuracy of discrete
    actions, errors of Box actions, and the policy's entropy where it has one in closed form."""
    found = (
        {LEARNER_RESULTS_ACTION_ACCURACY_KEY: action_accuracy(action_dist, actions)}
        if discrete
        else action_errors(action_dist, actions)
    )
    if has_entropy(action_dist):
        found[ENTROPY_KEY] = action_dist.entropy().mean()
    return found


class MARWILILTorchLearner(CriticBurnIn, MARWILILLearner, TorchLearner):
    @override(TorchLearner)
    def compute_loss_for_module(
        self, *, module_id: ModuleID, config=None, batch: Dict[str, Any], fwd_out: Dict[str, TensorType]
    ) -> TensorType:
        module = self.module[module_id].unwrapped()
        burning_in = self.burning_in(config)
        if burning_in:  # the policy loss sees constants: only the value function learns
            fwd_out = self.frozen_policy(module, fwd_out)
        action_dist = module.get_train_action_dist_cls().from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])
        logp = action_dist.logp(batch[Columns.ACTIONS])

        values = None
        if not is_behaviour_cloning(config.beta):  # beta above 0 at any time needs the value function
            values = module.compute_values(batch, embeddings=fwd_out.get(Columns.EMBEDDINGS))
            norms = self.moving_avg_sqd_adv_norms_per_module
            norms[module_id] = update_sqd_adv_norm(
                norms[module_id],
                batch[Columns.VALUE_TARGETS] - values,
                config.moving_average_sqd_adv_norm_update_rate,
            )
        loss = marwil_loss(
            logp,
            values,
            batch[Columns.VALUE_TARGETS],
            beta=self.beta_schedulers_per_module[module_id].get_current_value(),
            sqd_adv_norm=self.moving_avg_sqd_adv_norms_per_module[module_id],
            vf_coeff=config.vf_coeff,
        )
        stats = {
            POLICY_LOSS_KEY: loss.policy,
            **action_metrics(action_dist, batch[Columns.ACTIONS], self._discrete(module)),
            CRITIC_BURN_IN_KEY: torch.tensor(float(burning_in)),
        }
        if values is not None:
            stats.update(
                {
                    VF_LOSS_KEY: loss.value,
                    LEARNER_RESULTS_VF_EXPLAINED_VAR_KEY: explained_variance(batch[Columns.VALUE_TARGETS], values),
                    LEARNER_RESULTS_MOVING_AVG_SQD_ADV_NORM_KEY: self.moving_avg_sqd_adv_norms_per_module[module_id],
                    "mean_weight": loss.weights.mean(),
                }
            )
        self.metrics.log_dict({k: v.detach() for k, v in stats.items()}, key=module_id, window=1)
        return loss.total

    @staticmethod
    def _discrete(module) -> bool:
        return not is_box(module.action_space)

    @override(MARWILILLearner)
    @torch.no_grad()
    def validation_metrics(self, module_id: ModuleID, batch: Dict[str, Any], chunk_size: int = 8192):
        module = self.module[module_id].unwrapped()
        actions = torch.as_tensor(batch[Columns.ACTIONS], device=self._device)
        logp, sums = [], {}
        for start in range(0, len(actions), chunk_size):
            rows = slice(start, start + chunk_size)
            obs = torch.as_tensor(batch[Columns.OBS][rows], device=self._device)
            logits = module.forward_train({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
            dist = module.get_train_action_dist_cls().from_logits(logits)
            logp.append(dist.logp(actions[rows]))
            for key, mean in action_metrics(dist, actions[rows], self._discrete(module)).items():
                sums[key] = sums.get(key, 0.0) + mean.item() * len(obs)
        logp = torch.cat(logp).double().cpu()
        lengths = batch["episode_lengths"]
        metrics = {
            POLICY_LOSS_KEY: -logp.mean().item(),
            **{key: total / len(actions) for key, total in sums.items()},
            "num_episodes": len(lengths),
        }
        behaviour_logp = torch.as_tensor(batch[BEHAVIOUR_LOGP], dtype=torch.float64)
        if not behaviour_logp.isnan().any():  # NaN: a deterministic expert's Box actions (no density)
            pad = lambda x: ope.pad_episodes(torch.as_tensor(x, dtype=torch.float64), lengths)  # noqa: E731
            metrics["off_policy_estimation"] = ope.estimates(
                pad(logp),
                pad(behaviour_logp),
                pad(batch[Columns.REWARDS]),
                ope.episode_mask(lengths),
                self.config.gamma,
            )
        return metrics
