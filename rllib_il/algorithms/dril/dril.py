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

import numbers
from typing import List, Optional

import gymnasium as gym
from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.utils.annotations import override

from rllib_il.algorithms.dril.torch.dril_torch_learner import DRILTorchLearner
from rllib_il.algorithms.expert_data import check_expert_data, validate_learned_reward_options
from rllib_il.algorithms.ppo_il.ppo_il import PPOIL, PPOILConfig
from rllib_il.core.errors import ConfigError, one_line
from rllib_il.envs import agent_spaces, make_env

OPTIONS = (
    "expert_data",
    "max_expert_episodes",
    "ensemble_size",
    "ensemble_hiddens",
    "ensemble_updates",
    "ensemble_lr",
    "uncertainty_quantile",
    "bc_coeff",
)


class DRILConfig(PPOILConfig):
    """PPOILConfig plus the demonstrations, the BC ensemble and the BC term."""

    # The demonstrations' rewards are never read: their reward settings need not match the env's.
    uses_demonstration_rewards = False

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or DRIL)
        self.expert_data = None
        self.max_expert_episodes = None
        self.ensemble_size = 5
        self.ensemble_hiddens = [64, 64]
        self.ensemble_updates = 2000
        self.ensemble_lr = 1e-3
        self.uncertainty_quantile = 0.98
        self.bc_coeff = 1.0

    @override(PPOILConfig)
    def training(
        self,
        *,
        expert_data=NotProvided,
        max_expert_episodes: Optional[int] = NotProvided,
        ensemble_size: Optional[int] = NotProvided,
        ensemble_hiddens: Optional[List[int]] = NotProvided,
        ensemble_updates: Optional[int] = NotProvided,
        ensemble_lr: Optional[float] = NotProvided,
        uncertainty_quantile: Optional[float] = NotProvided,
        bc_coeff: Optional[float] = NotProvided,
        **kwargs,
    ) -> "DRILConfig":
        """Sets the DRIL options (and every PPO_IL / PPO option).

        Args:
            expert_data: saved_experiences dataset(s) of the demonstrations (their rewards are not used).
            max_expert_episodes: use only the first N demonstrations (in stored order); None: all.
            ensemble_size: E, the number of BC policies.
            ensemble_hiddens: hidden layer sizes of each member's MLP.
            ensemble_updates, ensemble_lr: Adam steps (minibatches of 128) and learning rate per member.
            uncertainty_quantile: q is this quantile of the variance over the demonstrations (DRIL: 0.98).
            bc_coeff: weight of the BC loss on the demonstrations added to PPO_IL's loss (0: none).
        """
        super().training(**kwargs)
        for key, value in dict(locals()).items():
            if key in OPTIONS and value is not NotProvided:
                setattr(self, key, value)
        return self

    @override(PPOILConfig)
    def get_default_learner_class(self):
        return DRILTorchLearner

    @override(PPOILConfig)
    def prepare(self) -> "DRILConfig":
        """PPO_IL's preparation, plus Discrete actions and the demonstrations checked against the env."""
        config = super().prepare()
        if isinstance(config.env, str):
            env = make_env(config.env, dict(config.env_config))
            _, action_space = agent_spaces(env)
            env.close()
            if not isinstance(action_space, gym.spaces.Discrete):
                raise ConfigError(f"env {config.env}: DRIL needs Discrete actions; they are {one_line(action_space)}")
            if config.expert_data is not None:
                check_expert_data(config)
        return config

    @override(PPOILConfig)
    def validate(self) -> None:
        super().validate()
        validate_learned_reward_options(self, "DRIL")
        for key in ("ensemble_size", "ensemble_updates"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < (2 if key == "ensemble_size" else 1):
                raise ConfigError(f"{key}: {value!r} must be an integer >= {2 if key == 'ensemble_size' else 1}")
        if not self.ensemble_hiddens or not all(
            isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in self.ensemble_hiddens
        ):
            raise ConfigError(f"ensemble_hiddens: {self.ensemble_hiddens!r} must be a list of positive integers")
        for key, low, high in (("uncertainty_quantile", 0.0, 1.0), ("ensemble_lr", 0.0, None), ("bc_coeff", 0.0, None)):
            value = getattr(self, key)
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or value < low
                or (high is not None and value > high)
            ):
                bounds = f"in [{low}, {high}]" if high is not None else f">= {low}"
                raise ConfigError(f"{key}: {value!r} must be a number {bounds}")


class DRIL(PPOIL):
    @classmethod
    @override(PPOIL)
    def get_default_config(cls) -> DRILConfig:
        return DRILConfig()
