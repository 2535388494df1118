"""PPO_IL: RLlib's PPO, fine-tuning a policy that imitation learning trained (Phase 1 -> Phase 2).

Two additions to RLlib's PPO, both off by default (then PPO_IL is PPO):

- critic burn-in: for the first `critic_burn_in_iterations` training iterations only the value
  function learns, while the env runners keep acting with the unchanged Phase 1 policy. A BC
  checkpoint has no trained critic (BC learns none; MARWIL's value head is trained on the expert's
  returns, not the policy's), and advantages from an untrained critic pull the policy away from the
  imitation before the critic is useful (the BC -> PPO recipe of the Maze documentation,
  `critic_burn_in_epochs`).
- `policy_kl_coeff`: a penalty coeff * KL(pi_0 || pi) toward the policy the run started from
  (`rllib_il.losses.regularizers`), a float or a schedule [[env_steps, coeff], ...] like RLlib's
  `entropy_coeff`, e.g. [[0, 0.5], [200000, 0.0]] to release the policy gradually.

Start it from a Phase 1 checkpoint with `restore_from` (rllib_il/workflow/handoff.py).
"""

from typing import Optional

import gymnasium as gym
from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.algorithms.ppo import PPO, PPOConfig
from ray.rllib.utils.annotations import override
from ray.rllib.utils.schedules.scheduler import Scheduler

from rllib_il.algorithms.critic_burn_in import check_burn_in
from rllib_il.algorithms.ppo_il.coefficients import coefficients, uses_policy_kl
from rllib_il.algorithms.ppo_il.torch.ppo_il_torch_learner import PPOILTorchLearner
from rllib_il.algorithms.prepared import PreparesConfig
from rllib_il.core.errors import ConfigError, one_line
from rllib_il.envs import agent_spaces, ensure_registered, make_env


class PPOILConfig(PPOConfig):
    """PPOConfig plus a critic burn-in and a KL penalty toward the start policy."""

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class or PPOIL)
        self.critic_burn_in_iterations = 0
        self.policy_kl_coeff = 0.0

    @override(PPOConfig)
    def training(
        self,
        *,
        critic_burn_in_iterations: Optional[int] = NotProvided,
        policy_kl_coeff=NotProvided,
        **kwargs,
    ) -> "PPOILConfig":
        """Sets the PPO_IL options.

        Args:
            critic_burn_in_iterations: training iterations at the start in which only the value
                function is trained (the policy, and with a shared encoder the encoder, stay fixed).
            policy_kl_coeff: coefficient of KL(pi_0 || pi), pi_0 = the policy at the first update
                (the Phase 1 checkpoint's); a float or a schedule [[env_steps, coeff], ...].
        """
        super().training(**kwargs)
        if critic_burn_in_iterations is not NotProvided:
            self.critic_burn_in_iterations = critic_burn_in_iterations
        if policy_kl_coeff is not NotProvided:
            self.policy_kl_coeff = policy_kl_coeff
        return self

    @override(PPOConfig)
    def get_default_learner_class(self):
        return PPOILTorchLearner

    def prepare(self) -> "PPOILConfig":
        """A copy with the env registered and its action space checked against the KL penalty (once,
        before validate(); the algorithm's constructor and the experiment layer call it)."""
        config = self.copy(copy_frozen=False)
        if isinstance(config.env, str):
            ensure_registered(config.env)
        if config.env is not None and uses_policy_kl(config):
            env = make_env(config.env, dict(config.env_config))
            _, action_space = agent_spaces(env)
            env.close()
            if not isinstance(action_space, gym.spaces.Discrete):
                raise ConfigError(
                    f"policy_kl_coeff: implemented for Discrete actions; {config.env}'s are {one_line(action_space)}"
                )
        return config

    @override(PPOConfig)
    def validate(self) -> None:
        super().validate()
        check_burn_in(self)
        if self.critic_burn_in_iterations and not self.use_critic:
            raise ConfigError("critic_burn_in_iterations: needs use_critic=True (the burn-in trains the critic)")
        Scheduler.validate(
            fixed_value_or_schedule=self.policy_kl_coeff,
            setting_name="policy_kl_coeff",
            description="coefficient of the KL toward the start policy",
        )
        if min(coefficients(self.policy_kl_coeff)) < 0:
            raise ConfigError(f"policy_kl_coeff: {self.policy_kl_coeff!r} must be >= 0")


class PPOIL(PreparesConfig, PPO):
    @classmethod
    @override(PPO)
    def get_default_config(cls) -> PPOILConfig:
        return PPOILConfig()
