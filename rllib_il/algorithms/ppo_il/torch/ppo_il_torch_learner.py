"""Torch learner of PPO_IL: RLlib's PPO loss, the value function alone during the critic burn-in, then
plus coeff * KL(pi_0 || pi) toward the start policy (`rllib_il.losses.regularizers`)."""

import copy
from typing import Any, Dict

import torch
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.lambda_defaultdict import LambdaDefaultDict
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME
from ray.rllib.utils.schedules.scheduler import Scheduler
from ray.rllib.utils.typing import ModuleID, TensorType

from rllib_il.algorithms.critic_burn_in import CRITIC_BURN_IN_KEY, CriticBurnIn
from rllib_il.algorithms.ppo_il.coefficients import uses_policy_kl
from rllib_il.losses.regularizers import kl_to_reference

POLICY_KL_KEY = "policy_kl_to_start"  # mean KL(pi_0 || pi) over the batch
POLICY_KL_COEFF_KEY = "curr_policy_kl_coeff"


class PPOILTorchLearner(CriticBurnIn, PPOTorchLearner):
    @override(PPOTorchLearner)
    def build(self) -> None:
        super().build()
        self.policy_kl_coeff_schedulers_per_module = LambdaDefaultDict(
            lambda module_id: Scheduler(
                fixed_value_or_schedule=self.config.get_config_for_module(module_id).policy_kl_coeff,
                framework=self.framework,
                device=self._device,
            )
        )
        # module id -> a frozen copy of the module as it was at the first update: pi_0, the policy the
        # run started from (a Phase 2 loads its Phase 1 weights before training starts).
        # A run restored from its own checkpoint takes pi_0 from the restored weights.
        self.start_modules: Dict[ModuleID, torch.nn.Module] = {}

    @override(PPOTorchLearner)
    def compute_loss_for_module(
        self, *, module_id: ModuleID, config=None, batch: Dict[str, Any], fwd_out: Dict[str, TensorType]
    ) -> TensorType:
        module = self.module[module_id].unwrapped()
        if uses_policy_kl(config) and module_id not in self.start_modules:
            self.start_modules[module_id] = copy.deepcopy(module).requires_grad_(False)
        burning_in = self.burning_in(config)
        if burning_in:  # PPO's policy terms see constants: no gradient reaches the policy
            fwd_out = self.frozen_policy(module, fwd_out)
        total = super().compute_loss_for_module(module_id=module_id, config=config, batch=batch, fwd_out=fwd_out)
        stats = {CRITIC_BURN_IN_KEY: float(burning_in)}
        coeff = self.policy_kl_coeff_schedulers_per_module[module_id].get_current_value()
        if coeff > 0 and not burning_in:
            with torch.no_grad():
                start_logits = self.start_modules[module_id].forward_train(batch)[Columns.ACTION_DIST_INPUTS]
            kl = kl_to_reference(start_logits, fwd_out[Columns.ACTION_DIST_INPUTS])
            if Columns.LOSS_MASK in batch:
                mask = batch[Columns.LOSS_MASK]
                mean_kl = torch.sum(kl[mask]) / torch.sum(mask)
            else:
                mean_kl = kl.mean()
            total = total + coeff * mean_kl
            stats.update({POLICY_KL_KEY: mean_kl.detach(), POLICY_KL_COEFF_KEY: coeff})
        self.metrics.log_dict(stats, key=module_id, window=1)
        return total

    @override(PPOTorchLearner)
    def _update_module_kl_coeff(self, *, module_id: ModuleID, config, kl_loss: float) -> None:
        """PPO's adaptive KL coefficient stays put during the burn-in: the policy cannot move there, and
        a KL of ~0 would halve the coefficient every iteration."""
        if not self.burning_in(config):
            super()._update_module_kl_coeff(module_id=module_id, config=config, kl_loss=kl_loss)

    @override(PPOTorchLearner)
    def after_gradient_based_update(self, *, timesteps: Dict[str, Any]) -> None:
        super().after_gradient_based_update(timesteps=timesteps)
        for module_id in self.module.keys():
            self.policy_kl_coeff_schedulers_per_module[module_id].update(
                timestep=timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0)
            )
