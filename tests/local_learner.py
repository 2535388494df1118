"""A learner built in this process from its algorithm config (no Ray, no env runners), for loss tests."""

import gymnasium as gym
import torch


def local_learner(config, env_id: str = "CartPole-v1"):
    """`config`'s default learner for `env_id`'s spaces, built with torch seeded (weights reproducible)."""
    torch.manual_seed(0)
    spec = config.get_multi_rl_module_spec(env=gym.make(env_id))
    learner = config.get_default_learner_class()(config=config, module_spec=spec)
    learner.build()
    return learner
