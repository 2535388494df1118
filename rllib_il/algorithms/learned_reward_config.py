"""The config GAIL and DRIL share: PPO_IL plus the demonstrations a learned reward comes from."""

from typing import Optional

from ray.rllib.algorithms.algorithm_config import NotProvided
from ray.rllib.utils.annotations import override

from rllib_il.algorithms.expert_data import check_expert_data
from rllib_il.algorithms.ppo_il.ppo_il import PPOILConfig
from rllib_il.core.errors import ConfigError
from rllib_il.envs import agent_spaces, make_env


class LearnedRewardConfig(PPOILConfig):
    """PPOILConfig plus `expert_data` and `max_expert_episodes`; `prepare()` checks the demonstrations
    and hands the env's spaces to `check_spaces` (a subclass's own requirements)."""

    # The demonstrations' rewards are never read: their reward settings need not match the env's.
    uses_demonstration_rewards = False

    def __init__(self, algo_class=None):
        super().__init__(algo_class=algo_class)
        self.expert_data = None
        self.max_expert_episodes = None

    @override(PPOILConfig)
    def training(
        self, *, expert_data=NotProvided, max_expert_episodes: Optional[int] = NotProvided, **kwargs
    ) -> "LearnedRewardConfig":
        """Sets the demonstrations (and every PPO_IL / PPO option).

        Args:
            expert_data: saved_experiences dataset(s) of the demonstrations (their rewards are not used).
            max_expert_episodes: use only the first N demonstrations (in stored order); None: all.
        """
        super().training(**kwargs)
        if expert_data is not NotProvided:
            self.expert_data = expert_data
        if max_expert_episodes is not NotProvided:
            self.max_expert_episodes = max_expert_episodes
        return self

    def check_spaces(self, observation_space, action_space) -> None:
        """ConfigError when the algorithm cannot learn a reward in these spaces (none here)."""

    @override(PPOILConfig)
    def prepare(self) -> "LearnedRewardConfig":
        """PPO_IL's preparation, plus the env's spaces and the demonstrations checked."""
        config = super().prepare()
        if isinstance(config.env, str):
            env = make_env(config.env, dict(config.env_config))
            spaces = agent_spaces(env)
            env.close()
            config.check_spaces(*spaces)
            if config.expert_data is not None:
                check_expert_data(config)
        return config

    @override(PPOILConfig)
    def validate(self) -> None:
        """PPO_IL's checks, plus demonstrations given, one learner and one trained module (the reward
        model is not distributed)."""
        super().validate()
        name = type(self).__name__.removesuffix("Config")
        if self.expert_data is None:
            raise ConfigError("expert_data: missing (the saved_experiences dataset of the demonstrations)")
        episodes = self.max_expert_episodes
        if episodes is not None and (isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1):
            raise ConfigError(f"max_expert_episodes: {episodes!r} must be a positive integer or None")
        if self.num_learners > 1:
            raise ConfigError(
                f"num_learners: {self.num_learners}; {name}'s reward model trains on one learner (0 or 1)"
            )
        if self.is_multi_agent and len(self.policies) != 1:
            raise ConfigError(f"policies: {sorted(self.policies)}; {name} trains one (shared) module")
