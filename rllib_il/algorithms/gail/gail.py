"""GAIL, AIRL and FAIRL rewards on PPO_IL: adversarial imitation without the env's reward.

Generative Adversarial Imitation Learning (Ho & Ermon 2016, arXiv 1606.03476) on RLlib's PPO (its env
runners sample in parallel), with the options of the reference implementations:

- a discriminator h(s, a) (`state_only`: h(s)) trained against the demonstrations
  (`torch/gail_torch_learner.py`, `discriminator.py`), with a gradient penalty
  (`gradient_penalty_coeff`), spectral normalisation (`spectral_norm`) and an absorbing state after
  terminal steps (`absorbing_state`);
- the policy's reward from h, `reward_function` gail / airl / fairl (rllib_il/losses/adversarial.py),
  replacing the env's in the learner pipeline before GAE (`reward_connector.py`): the env's reward is
  never trained on (the env runners still report it);
- BC pre-training by `restore_from` a Phase 1 checkpoint, PPO_IL's critic burn-in
  (`critic_burn_in_iterations`) and KL penalty toward the start policy (`policy_kl_coeff`, a BC
  auxiliary loss).
"""

import numbers
from typing import List, Optional

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.utils.annotations import override

from rllib_il.algorithms.expert_data import check_expert_data, validate_learned_reward_options
from rllib_il.algorithms.gail.discriminator import check_discriminator_input
from rllib_il.algorithms.gail.torch.gail_torch_learner import GAILTorchLearner
from rllib_il.algorithms.ppo_il.ppo_il import PPOIL, PPOILConfig
from rllib_il.core.errors import ConfigError
from rllib_il.envs import agent_spaces, make_env
from rllib_il.losses.adversarial import REWARD_FUNCTIONS

OPTIONS = (
    "expert_data",
    "max_expert_episodes",
    "reward_function",
    "discriminator_hiddens",
    "discriminator_lr",
    "discriminator_updates_per_iteration",
    "gradient_penalty_coeff",
    "state_only",
    "spectral_norm",
    "absorbing_state",
)


class GAILConfig(PPOILConfig):
    """PPOILConfig plus the demonstrations and the discriminator."""

    # The demonstrations' rewards are never read: their reward settings need not match the env's.
    uses_demonstration_rewards = False

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or GAIL)
        self.expert_data = None
        self.max_expert_episodes = None
        self.reward_function = "gail"
        self.discriminator_hiddens = [64, 64]
        self.discriminator_lr = 3e-4
        self.discriminator_updates_per_iteration = 16
        self.gradient_penalty_coeff = 0.0
        self.state_only = False
        self.spectral_norm = False
        self.absorbing_state = False

    @override(PPOILConfig)
    def training(
        self,
        *,
        expert_data=NotProvided,
        max_expert_episodes: Optional[int] = NotProvided,
        reward_function: Optional[str] = NotProvided,
        discriminator_hiddens: Optional[List[int]] = NotProvided,
        discriminator_lr: Optional[float] = NotProvided,
        discriminator_updates_per_iteration: Optional[int] = NotProvided,
        gradient_penalty_coeff: Optional[float] = NotProvided,
        state_only: Optional[bool] = NotProvided,
        spectral_norm: Optional[bool] = NotProvided,
        absorbing_state: Optional[bool] = NotProvided,
        **kwargs,
    ) -> "GAILConfig":
        """Sets the GAIL options (and every PPO_IL / PPO option).

        Args:
            expert_data: saved_experiences dataset(s) of the demonstrations (their rewards are not used).
            max_expert_episodes: use only the first N demonstrations (in stored order); None: all.
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
        """
        super().training(**kwargs)
        for key, value in dict(locals()).items():
            if key in OPTIONS and value is not NotProvided:
                setattr(self, key, value)
        return self

    @override(PPOILConfig)
    def get_default_learner_class(self):
        return GAILTorchLearner

    @override(PPOILConfig)
    def prepare(self) -> "GAILConfig":
        """PPO_IL's preparation, plus the demonstrations checked against the env and the discriminator."""
        config = super().prepare()
        if config.expert_data is not None and isinstance(config.env, str):
            env = make_env(config.env, dict(config.env_config))
            observation_space, _ = agent_spaces(env)
            env.close()
            check_discriminator_input(config, observation_space)
            check_expert_data(config)
        return config

    @override(PPOILConfig)
    def validate(self) -> None:
        super().validate()
        validate_learned_reward_options(self, "GAIL")
        if self.reward_function not in REWARD_FUNCTIONS:
            raise ConfigError(f"reward_function: {self.reward_function!r} is not one of {', '.join(REWARD_FUNCTIONS)}")
        hiddens = self.discriminator_hiddens
        if not hiddens or not all(_is_int(h) and h > 0 for h in hiddens):
            raise ConfigError(f"discriminator_hiddens: {hiddens!r} must be a list of positive integers")
        updates = self.discriminator_updates_per_iteration
        if not (_is_int(updates) and updates >= 0):
            raise ConfigError(f"discriminator_updates_per_iteration: {updates!r} must be an integer >= 0")
        for key in ("discriminator_lr", "gradient_penalty_coeff"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
                raise ConfigError(f"{key}: {value!r} must be a number >= 0")
        for key in ("state_only", "spectral_norm", "absorbing_state"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"{key}: {getattr(self, key)!r} must be true or false")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class GAIL(PPOIL):
    @classmethod
    @override(PPOIL)
    def get_default_config(cls) -> GAILConfig:
        return GAILConfig()
