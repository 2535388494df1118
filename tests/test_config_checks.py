"""validate() only checks settings; prepare() resolves dataset and env facts once, before it; settings
inherited from RLlib that our algorithms do not use are refused, not silently ignored."""

import gymnasium as gym
import pytest

from rllib_il.algorithms.dqfd import DQfDConfig
from rllib_il.algorithms.marwil import MARWILILConfig
from rllib_il.core.errors import ConfigError

CARTPOLE = "saved_experiences/cartpole"


def marwil(**training):
    return MARWILILConfig().environment("CartPole-v1").offline_data(input_=CARTPOLE).training(**training)


def dqfd(**training):
    return DQfDConfig().environment("CartPole-v1").training(expert_data=CARTPOLE, **training)


def test_validate_reads_no_data_and_prepare_does():
    """A missing dataset passes validate() (settings only) and is refused by prepare()."""
    env = gym.make("CartPole-v1")
    config = (
        MARWILILConfig()
        .environment("CartPole-v1", observation_space=env.observation_space, action_space=env.action_space)
        .offline_data(input_="no/such/dataset")
    )
    config.validate()
    with pytest.raises(ConfigError, match="no/such/dataset"):
        config.prepare()
    config = DQfDConfig().environment("CartPole-v1").training(expert_data="no/such/dataset")
    config.validate()
    with pytest.raises(ConfigError, match="expert_data: .*no/such/dataset"):
        config.prepare()


def test_prepare_returns_a_resolved_copy_and_leaves_the_config_alone():
    config = marwil()
    prepared = config.prepare()
    assert config.observation_space is None and config.offline_data_class is None
    assert prepared.observation_space.shape == (4,) and prepared.action_space.n == 2
    assert prepared.offline_data_class is not None
    prepared.validate()
    dqfd_prepared = dqfd().prepare()
    assert dqfd().env_runner_cls is None and dqfd_prepared.env_runner_cls.__name__ == "ApexSingleAgentEnvRunner"


@pytest.mark.parametrize(
    "make, key, value",
    [
        (marwil, "bc_logstd_coeff", 0.5),
        (dqfd, "num_atoms", 51),
    ],
)
def test_inherited_settings_without_effect_are_refused(make, key, value):
    config = make()
    setattr(config, key, value)
    with pytest.raises(ConfigError, match=key):
        config.validate()


def test_dqfd_refuses_another_replay_buffer_type():
    """Its own type passes, as a dotted name or as the class RLlib resolves it to; any other is refused."""
    from rllib_il.replay.nstep_buffer import NStepPrioritizedEpisodeBuffer

    dqfd(replay_buffer_config={"type": NStepPrioritizedEpisodeBuffer, "capacity": 100}).validate()
    config = dqfd(replay_buffer_config={"type": "PrioritizedEpisodeReplayBuffer", "capacity": 100})
    with pytest.raises(ConfigError, match="replay_buffer_config.type"):
        config.validate()


@pytest.mark.parametrize("make", [marwil, dqfd])
def test_both_take_the_same_expert_fraction_forms(make):
    """A float or an iteration schedule, checked by the one shared rule."""
    make(expert_fraction=0.25).validate()
    make(expert_fraction=[[0, 1.0], [10, 0.25]]).validate()
    with pytest.raises(ConfigError, match="expert_fraction"):
        make(expert_fraction=[[5, 0.5]]).validate()
    with pytest.raises(ConfigError, match="expert_fraction"):
        make(expert_fraction=1.5).validate()


def test_an_env_registered_with_tune_is_found_by_name():
    """`ray.tune.register_env` names work like gymnasium ids: built by make_env, prepared by our configs."""
    from ray.tune.registry import register_env

    from rllib_il.envs import make_env

    register_env("cartpole_by_tune", lambda env_config: gym.make("CartPole-v1", **env_config))
    assert make_env("cartpole_by_tune", {"max_episode_steps": 7}).spec.max_episode_steps == 7
    prepared = MARWILILConfig().environment("cartpole_by_tune").offline_data(input_=CARTPOLE).prepare()
    assert prepared.observation_space.shape == (4,)


def test_dqfd_checkpoints_of_earlier_versions_keep_their_replay_type():
    earlier = "rllib_il.replay.mixed_episode_buffer.MixedPrioritizedEpisodeReplayBuffer"
    dqfd(replay_buffer_config={"type": earlier, "capacity": 100}).validate()
