"""Torch learner of DRIL: the BC ensemble trained once when the learner is built, its clipped
uncertainty cost as the policy's (negative) reward, and PPO_IL's loss plus `bc_coeff` times the
policy's negative log-likelihood of the demonstrations' actions on as many expert rows as the
minibatch has."""

from typing import Any, Dict

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.typing import ModuleID, TensorType

from rllib_il.algorithms.dril.ensemble import BCEnsemble
from rllib_il.algorithms.expert_data import expert_rows
from rllib_il.algorithms.learned_reward import LearnedRewardLearner
from rllib_il.algorithms.ppo_il.torch.ppo_il_torch_learner import PPOILTorchLearner
from rllib_il.losses.dril import clipped_uncertainty_cost, ensemble_variance

BC_LOSS_KEY = "bc_loss"  # the policy's mean NLL of the demonstrations' actions
THRESHOLD_KEY = "uncertainty_threshold"  # q


class DRILTorchLearner(LearnedRewardLearner, PPOILTorchLearner):
    REWARD_MODEL = "ensemble"

    @override(PPOILTorchLearner)
    def build(self) -> None:
        super().build()
        config = self.config
        (module_id,) = self.module.keys()  # DRILConfig.validate: one trained module
        module = self.module[module_id].unwrapped()
        obs, actions, _ = expert_rows(config, module.action_space)
        self.expert_obs, self.expert_actions = torch.as_tensor(obs), torch.as_tensor(actions)
        assert isinstance(module.action_space, gym.spaces.Discrete)  # DRILConfig.prepare refuses others
        self.generator = torch.Generator().manual_seed(config.seed or 0)
        self.ensemble = BCEnsemble(
            int(np.prod(obs.shape[1:])), int(module.action_space.n), config.ensemble_size, config.ensemble_hiddens
        )
        self.ensemble.fit(
            obs, actions, config.ensemble_updates, config.ensemble_lr, config.uncertainty_quantile, self.generator
        )
        self.use_learned_reward(self.ensemble, self.reward)

    def reward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """-C_clip(s, a) (rllib_il/losses/dril.py)."""
        variance = ensemble_variance(self.ensemble.action_probs(obs, actions))
        return -clipped_uncertainty_cost(variance, self.ensemble.threshold)

    @override(PPOILTorchLearner)
    def compute_loss_for_module(
        self, *, module_id: ModuleID, config=None, batch: Dict[str, Any], fwd_out: Dict[str, TensorType]
    ) -> TensorType:
        total = super().compute_loss_for_module(module_id=module_id, config=config, batch=batch, fwd_out=fwd_out)
        stats = {**self.reward_stats.get(module_id, {}), THRESHOLD_KEY: float(self.ensemble.threshold)}
        if config.bc_coeff > 0:
            nll = self.bc_loss(module_id, len(batch[Columns.OBS]))
            total = total + config.bc_coeff * nll
            stats[BC_LOSS_KEY] = nll.detach()
        self.metrics.log_dict(stats, key=module_id, window=1)
        return total

    def bc_loss(self, module_id: ModuleID, count: int) -> torch.Tensor:
        """The policy's mean -log pi(a_E | s_E) over `count` demonstration rows drawn uniformly."""
        module = self.module[module_id].unwrapped()
        index = torch.randint(len(self.expert_obs), (count,), generator=self.generator)
        logits = module.forward_train({Columns.OBS: self.expert_obs[index]})[Columns.ACTION_DIST_INPUTS]
        dist = module.get_train_action_dist_cls().from_logits(logits)
        return -dist.logp(self.expert_actions[index]).mean()
