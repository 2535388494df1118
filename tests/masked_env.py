"""A tiny gymnasium env whose observations end with a 0/1 mask over its 5 actions, for masking tests."""

import gymnasium as gym
import numpy as np

ENV_ID = "MaskedToy-v0"
FEATURES, ACTIONS = 3, 5


class MaskedToy(gym.Env):
    """Random features followed by a random mask (action 0 always allowed); reward 1 for an allowed action."""

    action_mask_in_observation = True
    observation_space = gym.spaces.Box(-1.0, 1.0, shape=(FEATURES + ACTIONS,), dtype=np.float32)
    action_space = gym.spaces.Discrete(ACTIONS)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action):
        reward = float(self._last[FEATURES + int(action)])
        return self._obs(), reward, False, False, {}

    def _obs(self):
        self._last = masked_observations(self.np_random, 1)[0]
        return self._last


def masked_observations(rng, n, always=None):
    """n observations: uniform features, a random mask in which action 0 (and `always[i]`) is allowed."""
    mask = (rng.random((n, ACTIONS)) < 0.5).astype(np.float32)
    mask[:, 0] = 1.0
    if always is not None:
        mask[np.arange(n), always] = 1.0
    features = rng.uniform(-1, 1, size=(n, FEATURES)).astype(np.float32)
    return np.concatenate([features, mask], axis=1)


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=MaskedToy)
