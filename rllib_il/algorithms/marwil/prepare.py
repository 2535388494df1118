"""MARWIL_IL's preparation step: what the dataset and the env say, resolved once before validate()."""

import gymnasium as gym
from ray.rllib.policy.policy import PolicySpec
from ray.rllib.utils.serialization import gym_space_from_dict

from rllib_il import data as dataset
from rllib_il.algorithms.marwil.checks import NAME, check_beta, check_no_dagger_advantages, is_behaviour_cloning
from rllib_il.algorithms.marwil.streaming_data import offline_data_class
from rllib_il.algorithms.squashed_actions import with_squashed_actions
from rllib_il.core.errors import ConfigError
from rllib_il.envs import agent_spaces, build_env, ensure_registered, is_multi_agent


def prepare(config):
    """Resolves, once and before validate(), what the dataset and the env say: how the data is
    read (`offline_data_class`), the module's spaces when the config names none (the dataset's;
    a multi-agent env's agents all map to the one module), and whether the dataset fits this env
    (spaces, Box actions inside the Box, observation and reward settings, DAgger labels only with
    behaviour cloning), and the
    squashed-Gaussian module with `squash_actions`. Returns
    a prepared copy; MARWILIL.__init__ and the experiment layer call it."""
    config = config.copy(copy_frozen=False)
    if isinstance(config.env, str):
        ensure_registered(config.env)  # RLlib's env runners build it by name
    if not config.is_offline:
        raise ConfigError(f"{NAME} config input={config.input_!r}: name a saved_experiences dataset")
    check_beta(config.beta)
    metadata = dataset.read_metadata(config.input_)  # ConfigError for missing / unreadable data
    datasets = dataset.datasets_metadata(config.input_)  # each input dataset's own metadata
    check_no_dagger_advantages(config.beta, datasets)
    config.offline_data_class = offline_data_class(config)
    env = env_facts(config) if config.env is not None else None
    if config.observation_space is None and config.action_space is None:
        # Without env runners RLlib takes the spaces from the config: the dataset declares the
        # module's; a multi-agent env's are dicts over its agents, all mapped to that module.
        config.observation_space = gym_space_from_dict(metadata["observation_space"])
        config.action_space = gym_space_from_dict(metadata["action_space"])
        if config.is_multi_agent:
            module_spaces = (config.observation_space, config.action_space)
            config.policies = {config.trained_module_id: PolicySpec(None, *module_spaces, None)}
            config.observation_space = gym.spaces.Dict({agent: module_spaces[0] for agent in env[2]})
            config.action_space = gym.spaces.Dict({agent: module_spaces[1] for agent in env[2]})
    spaces = env[:2] if env is not None else (config.observation_space, config.action_space)
    where = f"{NAME} input {config.input_} (env {config.env})"
    dataset.check_spaces(metadata, *spaces, where=where)
    if dataset.is_box(spaces[1]):
        dataset.check_dataset_actions(config.input_, gym_space_from_dict(metadata["action_space"]), where)
    if isinstance(config.env, str):
        # Behaviour cloning's policy ignores rewards: data recorded under other reward settings will do.
        rewards = not is_behaviour_cloning(config.beta)
        dataset.check_recorded_settings(datasets, config.env, config.env_config, where, rewards=rewards)
    return with_squashed_actions(config, gym_space_from_dict(metadata["action_space"]), NAME)


def env_facts(config):
    """(observation_space, action_space, agents) of the configured env, built once: the spaces of
    the trained module (every agent of a multi-agent env maps to it) and the env's possible
    agents (None for a single-agent env)."""
    env = build_env(config.env, config.env_config)
    try:
        return (*agent_spaces(env), list(env.possible_agents) if is_multi_agent(env) else None)
    finally:
        env.close()
