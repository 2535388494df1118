"""GAIL, AIRL and FAIRL rewards on PPO_IL: adversarial imitation without the env's reward.

Generative Adversarial Imitation Learning (Ho & Ermon 2016, arXiv 1606.03476) on RLlib's PPO (its env
runners sample in parallel), with the options of the reference implementations:

- a discriminator h(s, a) (`state_only`: h(s)) trained against the demonstrations
  (`torch/gail_torch_learner.py`, `discriminator.py`), with a gradient penalty
  (`gradient_penalty_coeff`), spectral normalisation (`spectral_norm`) and an absorbing state after
  terminal steps (`absorbing_state`);
- the policy's reward from h, `reward_function` gail / airl / fairl (rllib_il/losses/adversarial.py),
  replacing the env's in the learner pipeline before GAE (rllib_il/algorithms/learned_reward.py): the
  env's reward is never trained on (the env runners still report it);
- BC pre-training by `restore_from` a Phase 1 checkpoint, PPO_IL's critic burn-in
  (`critic_burn_in_iterations`) and KL penalty toward the start policy (`policy_kl_coeff`, a BC
  auxiliary loss).
"""

from typing import List, Optional

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.utils.annotations import override

from rllib_il.algorithms.gail.discriminator import check_discriminator_input
from rllib_il.algorithms.gail.torch.gail_torch_learner import GAILTorchLearner
from rllib_il.algorithms.learned_reward_config import LearnedRewardConfig
from rllib_il.algorithms.ppo_il.ppo_il import PPOIL
from rllib_il.core.errors import ConfigError
from rllib_il.core.settings import check_bool, check_int, check_layer_sizes, check_number, set_provided
from rllib_il.losses.adversarial import REWARD_FUNCTIONS


class GAILConfig(LearnedRewardConfig):
    """LearnedRewardConfig (PPO_IL plus the demonstrations) plus the discriminator."""

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or GAIL)
        self.reward_function = "gail"
        self.discriminator_hiddens = [64, 64]
        self.discriminator_lr = 3e-4
        self.discriminator_updates_per_iteration = 16
        self.gradient_penalty_coeff = 0.0
        self.state_only = False
        self.spectral_norm = False
        self.absorbing_state = False
        self.normalize_observations = True

    @override(LearnedRewardConfig)
    def training(
        self,
        *,
        reward_function: Optional[str] = NotProvided,
        discriminator_hiddens: Optional[List[int]] = NotProvided,
        discriminator_lr: Optional[float] = NotProvided,
        discriminator_updates_per_iteration: Optional[int] = NotProvided,
        gradient_penalty_coeff: Optional[float] = NotProvided,
        state_only: Optional[bool] = NotProvided,
        spectral_norm: Optional[bool] = NotProvided,
        absorbing_state: Optional[bool] = NotProvided,
        normalize_observations: Optional[bool] = NotProvided,
        **kwargs,
    ) -> "GAILConfig":
        """Sets the GAIL options (and the demonstrations, every PPO_IL / PPO option).

        Args:
            reward_function: "gail" (softplus(h)), "airl" (h) or "fairl" (-h exp(h)).
            discriminator_hiddens: hidden layer sizes of the discriminator's MLP.
            discriminator_lr: Adam learning rate of the discriminator.
            discriminator_updates_per_iteration: discriminator steps per training iteration, one on each
                of the first minibatches of PPO's epochs (0 freezes the discriminator).
            gradient_penalty_coeff: weight of the gradient penalty (DAC: 10; 0: none).
            state_only: discriminate states alone (imitation from observations).
            spectral_norm: spectral normalisation of the discriminator's layers.
            absorbing_state: terminated episodes go on in an absorbing state the discriminator judges
                (DAC), so that ending an episode is neither free nor costly by construction.
            normalize_observations: the discriminator standardises observations by the demonstrations'
                mean and std (fixed when the learner is built).
        """
        super().training(**kwargs)
        set_provided(self, locals())
        return self

    @override(LearnedRewardConfig)
    def get_default_learner_class(self):
        return GAILTorchLearner

    @override(LearnedRewardConfig)
    def check_spaces(self, observation_space, action_space) -> None:
        check_discriminator_input(self, observation_space)

    @override(LearnedRewardConfig)
    def validate(self) -> None:
        super().validate()
        if self.reward_function not in REWARD_FUNCTIONS:
            raise ConfigError(f"reward_function: {self.reward_function!r} is not one of {', '.join(REWARD_FUNCTIONS)}")
        check_layer_sizes("discriminator_hiddens", self.discriminator_hiddens)
        check_int("discriminator_updates_per_iteration", self.discriminator_updates_per_iteration, 0)
        check_number("discriminator_lr", self.discriminator_lr, 0.0)
        check_number("gradient_penalty_coeff", self.gradient_penalty_coeff, 0.0)
        for key in ("state_only", "spectral_norm", "absorbing_state", "normalize_observations"):
            check_bool(key, getattr(self, key))


class GAIL(PPOIL):
    @classmethod
    @override(PPOIL)
    def get_default_config(cls) -> GAILConfig:
        return GAILConfig()
