"""Torch learner of GAIL: PPO_IL's loss for the policy, plus the discriminator's loss on the first
`discriminator_updates_per_iteration` minibatches of every training iteration (policy rows of the
minibatch against as many expert rows drawn uniformly). The discriminator is a learner component with
its own optimizer, saved in the learner's state (so in every algorithm checkpoint)."""

from typing import Any, Dict

import torch
from ray.rllib.core.columns import Columns
from ray.rllib.utils.annotations import override
from ray.rllib.utils.typing import ModuleID, TensorType

from rllib_il.algorithms.expert_data import expert_rows
from rllib_il.algorithms.gail.discriminator import Discriminator
from rllib_il.algorithms.learned_reward import LearnedRewardLearner
from rllib_il.algorithms.ppo_il.torch.ppo_il_torch_learner import PPOILTorchLearner
from rllib_il.losses.adversarial import discriminator_loss, gradient_penalty, imitation_reward

DISCRIMINATOR = "discriminator"  # the optimizer's name and the learner state's key of the weights
DISCRIMINATOR_LOSS_KEY = "discriminator_loss"
GRADIENT_PENALTY_KEY = "discriminator_gradient_penalty"
EXPERT_ACCURACY_KEY = "discriminator_expert_accuracy"  # share of expert rows with h > 0
POLICY_ACCURACY_KEY = "discriminator_policy_accuracy"  # share of policy rows with h < 0


class GAILTorchLearner(LearnedRewardLearner, PPOILTorchLearner):
    REWARD_MODEL = DISCRIMINATOR

    @override(PPOILTorchLearner)
    def build(self) -> None:
        super().build()
        config = self.config
        (module_id,) = self.module.keys()  # GAILConfig.validate: one trained module
        module = self.module[module_id].unwrapped()
        self.discriminator = Discriminator(
            module.observation_space,
            module.action_space,
            config.discriminator_hiddens,
            config.state_only,
            config.spectral_norm,
            config.absorbing_state,
        )
        expert = expert_rows(config, module.action_space, config.absorbing_state)
        self.expert_obs, self.expert_actions, self.expert_absorbing = (torch.as_tensor(x) for x in expert)
        if config.normalize_observations:
            self.discriminator.set_observation_scale(expert[0][~expert[2]])
        params = list(self.discriminator.parameters())
        self.register_optimizer(
            module_id=module_id,
            optimizer_name=DISCRIMINATOR,
            optimizer=torch.optim.Adam(params, lr=config.discriminator_lr),
            params=params,
            lr_or_lr_schedule=config.discriminator_lr,
        )
        self.generator = torch.Generator().manual_seed(config.seed or 0)
        self.discriminator_updates_left = 0
        self.use_learned_reward(
            self.discriminator, self.reward, self.absorbing_reward if config.absorbing_state else None
        )

    def reward(self, obs: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The policy's reward r(h(s, a)) of `config.reward_function`."""
        return imitation_reward(
            self.discriminator(self.discriminator.inputs(obs, actions)), self.config.reward_function
        )

    def absorbing_reward(self) -> torch.Tensor:
        """r(h(s_a)) of the absorbing state."""
        logit = self.discriminator(self.discriminator.absorbing_inputs())
        return imitation_reward(logit, self.config.reward_function)[0]

    @override(PPOILTorchLearner)
    def before_gradient_based_update(self, *, timesteps: Dict[str, Any]) -> None:
        super().before_gradient_based_update(timesteps=timesteps)
        self.discriminator_updates_left = self.config.discriminator_updates_per_iteration

    @override(PPOILTorchLearner)
    def compute_loss_for_module(
        self, *, module_id: ModuleID, config=None, batch: Dict[str, Any], fwd_out: Dict[str, TensorType]
    ) -> TensorType:
        total = super().compute_loss_for_module(module_id=module_id, config=config, batch=batch, fwd_out=fwd_out)
        stats = dict(self.reward_stats.get(module_id, {}))
        if self.discriminator_updates_left > 0:
            self.discriminator_updates_left -= 1
            loss, discriminator_stats = self.discriminator_loss(config, batch)
            total = total + loss
            stats.update(discriminator_stats)
        self.metrics.log_dict(stats, key=module_id, window=1)
        return total

    def discriminator_loss(self, config, batch: Dict[str, Any]):
        """L_D (+ the gradient penalty) on the minibatch's policy rows (plus, with the absorbing state, one
        absorbing row per terminal step) against as many expert rows."""
        obs, actions = batch[Columns.OBS], batch[Columns.ACTIONS]
        mask = batch[Columns.LOSS_MASK].bool() if Columns.LOSS_MASK in batch else torch.ones(len(obs), dtype=torch.bool)
        policy = self.discriminator.inputs(obs[mask], actions[mask])
        if self.discriminator.absorbing:
            num_terminal = int(batch[Columns.TERMINATEDS][mask].sum())
            policy = torch.cat([policy, self.discriminator.absorbing_inputs(num_terminal)])
        index = torch.randint(len(self.expert_obs), (len(policy),), generator=self.generator)
        expert = self.discriminator.inputs(
            self.expert_obs[index], self.expert_actions[index], self.expert_absorbing[index]
        )
        expert_logits, policy_logits = self.discriminator(expert), self.discriminator(policy)
        loss = discriminator_loss(expert_logits, policy_logits)
        stats = {
            DISCRIMINATOR_LOSS_KEY: loss.detach(),
            EXPERT_ACCURACY_KEY: (expert_logits > 0).float().mean().detach(),
            POLICY_ACCURACY_KEY: (policy_logits < 0).float().mean().detach(),
        }
        if config.gradient_penalty_coeff > 0:
            mix = torch.rand(len(policy), generator=self.generator)
            penalty = gradient_penalty(self.discriminator, expert, policy, mix)
            loss = loss + config.gradient_penalty_coeff * penalty
            stats[GRADIENT_PENALTY_KEY] = penalty.detach()
        return loss, stats
