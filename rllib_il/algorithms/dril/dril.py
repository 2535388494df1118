"""DRIL on PPO_IL: imitation with a non-adversarial reward, the disagreement of a BC ensemble.

Disagreement-Regularized Imitation Learning (Brantley, Sun and Henaff 2020, ICLR):

- an ensemble of `ensemble_size` BC policies, each trained on a bootstrap sample of the
  demonstrations when the learner is built (`ensemble.py`), fixed afterwards;
- the policy's reward -C_clip(s, a): +1 where the members agree on the action's probability (variance
  at most q, the `uncertainty_quantile` of the variance over the demonstrations), -1 elsewhere
  (rllib_il/losses/dril.py), replacing the env's in the learner pipeline before GAE
  (rllib_il/algorithms/learned_reward.py): the env's reward is never trained on;
- PPO_IL's loss plus `bc_coeff` times the behaviour-cloning loss on the demonstrations
  (`torch/dril_torch_learner.py`); BC pre-training by `restore_from` a Phase 1 checkpoint.

Discrete actions only (the ensemble's disagreement is over action probabilities).
"""

from typing import List, Optional

import gymnasium as gym
from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.utils.annotations import override

from rllib_il.algorithms.dril.torch.dril_torch_learner import DRILTorchLearner
from rllib_il.algorithms.learned_reward_config import LearnedRewardConfig
from rllib_il.algorithms.ppo_il.ppo_il import PPOIL
from rllib_il.core.errors import ConfigError, one_line
from rllib_il.core.settings import check_int, check_layer_sizes, check_number, set_provided


class DRILConfig(LearnedRewardConfig):
    """LearnedRewardConfig (PPO_IL plus the demonstrations) plus the BC ensemble and the BC term."""

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or DRIL)
        self.ensemble_size = 5
        self.ensemble_hiddens = [64, 64]
        self.ensemble_updates = 2000
        self.ensemble_lr = 1e-3
        self.uncertainty_quantile = 0.98
        self.bc_coeff = 1.0

    @override(LearnedRewardConfig)
    def training(
        self,
        *,
        ensemble_size: Optional[int] = NotProvided,
        ensemble_hiddens: Optional[List[int]] = NotProvided,
        ensemble_updates: Optional[int] = NotProvided,
        ensemble_lr: Optional[float] = NotProvided,
        uncertainty_quantile: Optional[float] = NotProvided,
        bc_coeff: Optional[float] = NotProvided,
        **kwargs,
    ) -> "DRILConfig":
        """Sets the DRIL options (and the demonstrations, every PPO_IL / PPO option).

        Args:
            ensemble_size: E, the number of BC policies.
            ensemble_hiddens: hidden layer sizes of each member's MLP.
            ensemble_updates, ensemble_lr: Adam steps (minibatches of 128) and learning rate per member.
            uncertainty_quantile: q is this quantile of the variance over the demonstrations (DRIL: 0.98).
            bc_coeff: weight of the BC loss on the demonstrations added to PPO_IL's loss (0: none).
        """
        super().training(**kwargs)
        set_provided(self, locals())
        return self

    @override(LearnedRewardConfig)
    def get_default_learner_class(self):
        return DRILTorchLearner

    @override(LearnedRewardConfig)
    def check_spaces(self, observation_space, action_space) -> None:
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ConfigError(f"env {self.env}: DRIL needs Discrete actions; they are {one_line(action_space)}")

    @override(LearnedRewardConfig)
    def validate(self) -> None:
        super().validate()
        check_int("ensemble_size", self.ensemble_size, 2)
        check_int("ensemble_updates", self.ensemble_updates, 1)
        check_layer_sizes("ensemble_hiddens", self.ensemble_hiddens)
        check_number("uncertainty_quantile", self.uncertainty_quantile, 0.0, 1.0)
        check_number("ensemble_lr", self.ensemble_lr, 0.0)
        check_number("bc_coeff", self.bc_coeff, 0.0)


class DRIL(PPOIL):
    @classmethod
    @override(PPOIL)
    def get_default_config(cls) -> DRILConfig:
        return DRILConfig()
