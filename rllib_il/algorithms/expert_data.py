"""Checks of the demonstrations an algorithm mixes with its own experience (DQfD, SQIL, GAIL)."""

from rllib_il.core.errors import ConfigError
from rllib_il.data import check_recorded_settings, check_spaces, dagger_dataset, datasets_metadata, read_metadata
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
