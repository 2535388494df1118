"""Uniformly random actions: the baseline every expert must beat."""

import numpy as np
from gymnasium import spaces

from rllib_il.core.errors import ConfigError
from rllib_il.envs import agent_spaces, is_multi_agent
from rllib_il.experts.base import Expert


class RandomExpert(Expert):
    """a ~ U(A), logp = -log|A| (Discrete) or -sum log(high - low) (bounded Box)."""

    def __init__(self, env, seed=None):
        super().__init__(env)
        self.multi_agent = is_multi_agent(env)
        space = agent_spaces(env)[1]
        if isinstance(space, spaces.Discrete):
            self.logp = -float(np.log(space.n))
        elif isinstance(space, spaces.Box) and space.is_bounded():
            self.logp = -float(np.sum(np.log(space.high - space.low)))
        else:
            raise ConfigError(f"expert random: action space {space} is neither Discrete nor a bounded Box")
        self.space = space
        self.space.seed(seed)

    def seed(self, seed):
        self.space.seed(seed)

    def act(self, obs):
        if not self.multi_agent:
            return self.space.sample(), self.logp
        actions = {aid: self.space.sample() for aid in obs}
        return actions, {aid: self.logp for aid in obs}
