"""The demonstrations an algorithm learns from beside its own experience (DQfD, SQIL, GAIL, DRIL): their
checks against the env, and their rows as arrays."""

from typing import Tuple

import gymnasium as gym
import numpy as np

from rllib_il.algorithms.marwil.in_memory_data import EpisodeArrays
from rllib_il.core.errors import ConfigError
from rllib_il.data import (
    check_recorded_settings,
    check_spaces,
    dagger_dataset,
    datasets_metadata,
    read_episodes,
    read_metadata,
)
from rllib_il.envs import agent_spaces, make_env


def check_expert_data(config) -> None:
    """ConfigError unless `config.expert_data` is a readable dataset recorded with this env's spaces,
    observation settings and, when `config.uses_demonstration_rewards`, reward settings, in episodes the
    expert flew itself (not DAgger labels)."""
    try:
        metadata = read_metadata(config.expert_data)  # Also rejects a missing or empty directory.
    except ConfigError as e:
        raise ConfigError(f"expert_data: {e}") from None
    datasets = datasets_metadata(config.expert_data)
    d = dagger_dataset(datasets)
    if d is not None:
        raise ConfigError(
            f"expert_data: dataset {d} holds DAgger labels (another policy chose the actions "
            "that led to its next states and rewards); learning from demonstrations needs episodes the expert flew"
        )
    if isinstance(config.env, str):
        where = f"expert_data {config.expert_data}"
        env = make_env(config.env, config.env_config)
        try:
            check_spaces(metadata, *agent_spaces(env), where)
        finally:
            env.close()
        check_recorded_settings(
            datasets, config.env, config.env_config, where, rewards=config.uses_demonstration_rewards
        )


def expert_rows(
    config, action_space: gym.Space, with_absorbing: bool = False
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(observations, actions, absorbing) of every step of the first `config.max_expert_episodes`
    demonstrations of `config.expert_data`, actions in the module's units; `with_absorbing`:
    one absorbing row (zeros, flag true) after each terminated episode."""
    episodes = [e for e in read_episodes(config.expert_data) if len(e)][: config.max_expert_episodes]
    arrays = EpisodeArrays.from_episodes(episodes, config.gamma).in_module_units(action_space, config.normalize_actions)
    obs = arrays.obs.reshape(len(arrays.obs), -1).astype(np.float32)
    actions, absorbing = arrays.actions, np.zeros(len(obs), dtype=bool)
    num_absorbing = sum(e.is_terminated for e in episodes) if with_absorbing else 0
    if num_absorbing:
        obs = np.concatenate([obs, np.zeros((num_absorbing, obs.shape[1]), obs.dtype)])
        actions = np.concatenate([actions, np.zeros((num_absorbing,) + actions.shape[1:], actions.dtype)])
        absorbing = np.concatenate([absorbing, np.ones(num_absorbing, dtype=bool)])
    return obs, actions, absorbing
