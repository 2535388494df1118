"""Scripted experts for gymnasium's CartPole and LunarLander."""

import numpy as np

from rllib_il.experts.base import Expert, optional_import


class CartPoleExpert(Expert):
    """Linear state feedback on (x, x_dot, theta, theta_dot): push right when
    0.1 x + 0.5 x_dot + 3 theta + theta_dot > 0. Balances for the full 500 steps of CartPole-v1."""

    GAINS = np.array([0.1, 0.5, 3.0, 1.0])

    def act(self, obs):
        return int(self.GAINS @ obs > 0), 0.0


class LunarLanderHeuristicExpert(Expert):
    """gymnasium's own LunarLander controller (`lunar_lander.heuristic`), mean return ~250.

    On the discrete env the action is an engine index; on the continuous one (`continuous=True`) it is the
    float32 throttle pair (main, lateral) in [-1, 1]."""

    def __init__(self, env, **kwargs):
        super().__init__(env, **kwargs)
        lunar_lander = optional_import("gymnasium.envs.box2d.lunar_lander", "lunarlander_heuristic", "gymnasium[box2d]")
        self._heuristic = lunar_lander.heuristic
        self._continuous = env.unwrapped.continuous

    def act(self, obs):
        action = self._heuristic(self.env.unwrapped, obs)
        return (action.astype(np.float32) if self._continuous else int(action)), 0.0
