"""Torch learner for DQfD: J = J_DQ + lambda1 J_n + lambda2 J_E + lambda3 J_L2 (arXiv 1704.03732).

The batch comes from DQfD's mixed replay (rllib_il/replay/nstep_buffer.py rows): the n-step transition in RLlib's usual
columns (OBS, ACTIONS, REWARDS, NEXT_OBS, TERMINATEDS, n_step, weights) and the 1-step transition
and expert flags as extra columns. TD errors of J_DQ (1-step) are logged as RLlib's `td_error`
item series, which the algorithm turns into replay priorities.
"""

from typing import Dict

from ray.rllib.algorithms.dqn.dqn_learner import QF_LOSS_KEY, QF_MEAN_KEY, QF_NEXT_PREDS, QF_PREDS, QF_TARGET_NEXT_PREDS
from ray.rllib.algorithms.dqn.torch.dqn_torch_learner import DQNTorchLearner
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.framework import try_import_torch
from ray.rllib.utils.metrics import TD_ERROR_KEY
from ray.rllib.utils.typing import ModuleID, TensorType

from rllib_il.algorithms.dqfd.dqfd_learner import (
    EXPERT_ACCURACY_KEY,
    EXPERT_FRACTION_KEY,
    L2_LOSS_KEY,
    MARGIN_LOSS_KEY,
    TD_ERROR_EXPERT_KEY,
    TD_ERROR_SIM_KEY,
    TD_LOSS_1STEP_KEY,
    TD_LOSS_NSTEP_KEY,
)
from rllib_il.losses.dqfd import double_q_target, l2_penalty, large_margin_loss, td_loss
from rllib_il.replay.columns import IS_EXPERT, MARGIN_MASK, OBS_1STEP, REWARD_1STEP, TERMINATED_1STEP

torch, nn = try_import_torch()


class DQfDTorchLearner(DQNTorchLearner):
    @override(DQNTorchLearner)
    def compute_loss_for_module(
        self, *, module_id: ModuleID, config, batch: Dict, fwd_out: Dict[str, TensorType]
    ) -> TensorType:
        module = self.module[module_id].unwrapped()
        q = fwd_out[QF_PREDS]
        actions = batch[Columns.ACTIONS].long()
        q_selected = torch.gather(q, -1, actions.unsqueeze(-1)).squeeze(-1)

        # n-step target from RLlib's columns: o_{t+n}, discounted n-step reward, gamma^n.
        q_target_next = fwd_out[QF_TARGET_NEXT_PREDS]
        target_n = self.bootstrap_target(
            config,
            batch[Columns.REWARDS],
            fwd_out.get(QF_NEXT_PREDS, q_target_next),
            q_target_next,
            batch[Columns.TERMINATEDS],
            config.gamma ** batch["n_step"].float(),
        )
        # 1-step target from the extra columns: o_{t+1}, r_t.
        with torch.no_grad():
            next_1 = {Columns.OBS: batch[OBS_1STEP]}
            q_target_next_1 = module.forward_target(next_1)[QF_PREDS]
            q_online_next_1 = module.compute_q_values(next_1)[QF_PREDS] if config.double_q else q_target_next_1
        target_1 = self.bootstrap_target(
            config,
            batch[REWARD_1STEP],
            q_online_next_1,
            q_target_next_1,
            batch[TERMINATED_1STEP],
            torch.full_like(target_n, config.gamma),
        )

        j_dq = td_loss(q_selected, target_1, config.td_error_loss_fn)
        j_n = td_loss(q_selected, target_n, config.td_error_loss_fn)
        j_e = large_margin_loss(q, actions, batch[MARGIN_MASK], config.margin)
        j_l2 = l2_penalty(p for p in module.parameters() if p.requires_grad)
        total_loss = (
            torch.mean(batch["weights"] * (j_dq + config.lambda_nstep * j_n))
            + config.lambda_margin * torch.mean(j_e)
            + config.lambda_l2 * j_l2
        )

        td_error = torch.abs(q_selected - target_1).detach()
        self.metrics.log_value(key=(module_id, TD_ERROR_KEY), value=td_error, reduce="item_series")
        is_expert = batch[IS_EXPERT] > 0.5
        margin_rows = batch[MARGIN_MASK] > 0.5
        stats = {
            QF_LOSS_KEY: total_loss,
            QF_MEAN_KEY: torch.mean(q_selected),
            TD_LOSS_1STEP_KEY: torch.mean(j_dq),
            TD_LOSS_NSTEP_KEY: torch.mean(j_n),
            L2_LOSS_KEY: j_l2,
            EXPERT_FRACTION_KEY: torch.mean(is_expert.float()),
        }
        if margin_rows.any():
            stats[MARGIN_LOSS_KEY] = torch.mean(j_e[margin_rows])
        if is_expert.any():
            greedy = torch.argmax(q, dim=-1) == actions
            stats[EXPERT_ACCURACY_KEY] = torch.mean(greedy[is_expert].float())
            stats[TD_ERROR_EXPERT_KEY] = torch.mean(td_error[is_expert])
        if (~is_expert).any():
            stats[TD_ERROR_SIM_KEY] = torch.mean(td_error[~is_expert])
        self.metrics.log_dict(stats, key=module_id, window=1)
        return total_loss

    def bootstrap_target(self, config, rewards, q_next_online, q_next_target, terminateds, discounts):
        """The TD target of a row: DQfD's double-Q target (through h with `transformed_bellman`)."""
        transform_eps = config.transform_eps if config.transformed_bellman else None
        return double_q_target(rewards, q_next_online, q_next_target, terminateds, discounts, transform_eps)
