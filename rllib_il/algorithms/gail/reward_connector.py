"""The learner connector piece that gives the policy the discriminator's reward instead of the env's."""

from typing import Any, Dict

import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns

from rllib_il.losses.adversarial import imitation_reward, with_absorbing_value

REWARD_MEAN_KEY = "imitation_reward_mean"  # mean reward the discriminator gave the trained rows
ABSORBING_REWARD_KEY = "imitation_reward_absorbing"  # r(s_a), with `absorbing_state`


class DiscriminatorReward(ConnectorV2):
    """Replaces the rewards of every module batch with r(h(s, a)) (rllib_il/losses/adversarial.py), in
    the learner pipeline right before GAE, so advantages and value targets see only these rewards.
    Rows outside the loss mask (the bootstrap step PPO adds to each episode chunk) get 0, like the
    env's reward there. With the discriminator's absorbing state, each terminal step also gets the
    absorbing state's value gamma * r(s_a) / (1 - gamma)."""

    def __init__(self, discriminator, reward_function: str, gamma: float, stats: Dict[str, Dict], **kwargs):
        super().__init__(**kwargs)
        self.discriminator = discriminator
        self.reward_function = reward_function
        self.gamma = gamma
        self.stats = stats  # module id -> {metric: value} of the last batch, for the learner's metrics

    def __call__(self, *, rl_module, batch: Dict[str, Any], episodes, **kwargs):
        for module_id, module_batch in batch.items():
            with torch.no_grad():
                inputs = self.discriminator.inputs(module_batch[Columns.OBS], module_batch[Columns.ACTIONS])
                rewards = imitation_reward(self.discriminator(inputs), self.reward_function)
                mask = module_batch.get(Columns.LOSS_MASK)
                mask = torch.ones_like(rewards) if mask is None else mask.float()
                rewards = rewards * mask
                stats = {REWARD_MEAN_KEY: float(rewards.sum() / mask.sum().clamp(min=1.0))}
                if self.discriminator.absorbing:
                    absorbing = imitation_reward(
                        self.discriminator(self.discriminator.absorbing_inputs()), self.reward_function
                    )
                    terminateds = module_batch[Columns.TERMINATEDS].float() * mask
                    rewards = with_absorbing_value(rewards, terminateds, absorbing[0], self.gamma)
                    stats[ABSORBING_REWARD_KEY] = float(absorbing[0])
            self.stats[module_id] = stats
            module_batch[Columns.REWARDS] = rewards.to(module_batch[Columns.REWARDS].dtype)
        return batch
