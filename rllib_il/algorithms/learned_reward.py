"""What GAIL and DRIL share: a reward learned from the demonstrations replaces the env's in the learner
pipeline, and the model that gives it is saved with the learner.

- `LearnedReward`, a learner connector piece placed right before GAE: every module batch's rewards
  become `reward_fn(obs, actions)`, so advantages and value targets see only these rewards. Rows
  outside the loss mask (the bootstrap step PPO adds to each episode chunk) get 0, as the env's reward
  there. With an absorbing state (rllib_il/losses/adversarial.py), each terminal step also gets the
  absorbing state's value gamma * r(s_a) / (1 - gamma).
- `LearnedRewardLearner`, a learner mixin: `use_learned_reward(...)` in `build()` inserts the piece;
  the reward model is saved in the learner's state under the class's `REWARD_MODEL` key (so in every
  algorithm checkpoint), and the last batch's reward statistics are there for the learner's metrics.
"""

from typing import Any, Callable, Dict, Optional

import torch
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.connectors.learner import GeneralAdvantageEstimation
from ray.rllib.core.columns import Columns

from rllib_il.losses.adversarial import with_absorbing_value

REWARD_MEAN_KEY = "imitation_reward_mean"  # mean learned reward of the trained rows
ABSORBING_REWARD_KEY = "imitation_reward_absorbing"  # r(s_a), with an absorbing state

RewardFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class LearnedReward(ConnectorV2):
    def __init__(
        self,
        reward_fn: RewardFn,
        gamma: float,
        stats: Dict[str, Dict],
        absorbing_reward_fn: Optional[Callable[[], torch.Tensor]] = None,
        **kwargs,
    ):
        """`reward_fn(obs, actions)`: rewards [B]; `absorbing_reward_fn()`: r(s_a), or None without an
        absorbing state; `stats`: module id -> the last batch's reward statistics (filled here)."""
        super().__init__(**kwargs)
        self.reward_fn = reward_fn
        self.gamma = gamma
        self.stats = stats
        self.absorbing_reward_fn = absorbing_reward_fn

    def __call__(self, *, rl_module, batch: Dict[str, Any], episodes, **kwargs):
        for module_id, module_batch in batch.items():
            with torch.no_grad():
                rewards = self.reward_fn(module_batch[Columns.OBS], module_batch[Columns.ACTIONS])
                mask = module_batch.get(Columns.LOSS_MASK)
                mask = torch.ones_like(rewards) if mask is None else mask.float()
                rewards = rewards * mask
                stats = {REWARD_MEAN_KEY: float(rewards.sum() / mask.sum().clamp(min=1.0))}
                if self.absorbing_reward_fn is not None:
                    absorbing = self.absorbing_reward_fn()
                    terminateds = module_batch[Columns.TERMINATEDS].float() * mask
                    rewards = with_absorbing_value(rewards, terminateds, absorbing, self.gamma)
                    stats[ABSORBING_REWARD_KEY] = float(absorbing)
            self.stats[module_id] = stats
            module_batch[Columns.REWARDS] = rewards.to(module_batch[Columns.REWARDS].dtype)
        return batch


class LearnedRewardLearner:
    """Learner mixin (before the RLlib learner class) for a reward model `self.reward_model`."""

    REWARD_MODEL = "reward_model"  # the learner state's key of the model's weights

    def use_learned_reward(
        self,
        reward_model: torch.nn.Module,
        reward_fn: RewardFn,
        absorbing_reward_fn: Optional[Callable[[], torch.Tensor]] = None,
    ) -> None:
        """Rewards from `reward_fn` (of `reward_model`) for every batch this learner trains on."""
        self.reward_model = reward_model
        self.reward_stats: Dict[str, Dict[str, float]] = {}
        piece = LearnedReward(reward_fn, self.config.gamma, self.reward_stats, absorbing_reward_fn)
        # The learner pipeline has no public accessor; PPOLearner.build adds its GAE piece through the
        # same attribute (ray/rllib/algorithms/ppo/ppo_learner.py).
        self._learner_connector.insert_before(GeneralAdvantageEstimation, piece)

    def get_state(self, components=None, *, not_components=None, **kwargs):
        state = super().get_state(components, not_components=not_components, **kwargs)
        if self._check_component(self.REWARD_MODEL, components, not_components):
            state[self.REWARD_MODEL] = {k: v.detach().cpu().numpy() for k, v in self.reward_model.state_dict().items()}
        return state

    def set_state(self, state) -> None:
        super().set_state(state)
        if self.REWARD_MODEL in state:
            self.reward_model.load_state_dict({k: torch.as_tensor(v) for k, v in state[self.REWARD_MODEL].items()})
