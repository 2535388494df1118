"""DQfD on multi-agent Flatland with the one shared module: both phases, and priority routing
through RLlib's learner connector (which regroups rows by episode/agent/module)."""

import numpy as np
import pytest

from rllib_il.algorithms.dqfd.dqfd import APEXDQfDConfig
from rllib_il.algorithms.sqil.sqil import SQILConfig
from rllib_il.core.constants import SHARED_MODULE_ID
from rllib_il.core.errors import ConfigError
from rllib_il.envs import map_to_shared
from rllib_il.replay.columns import IS_EXPERT, REWARD_1STEP

ENV_CONFIG = {"preset": "small_v0"}


@pytest.fixture(scope="module")
def flatland_data(tmp_path_factory):
    from rllib_il.rollout.recording import record_dataset

    out = tmp_path_factory.mktemp("data") / "flatland"
    record_dataset("flatland_sparse", "flatland_planner", 2, out, ENV_CONFIG, progress=False)
    return str(out)


def apex_config(flatland_data):
    return (
        APEXDQfDConfig()
        .environment("flatland_sparse", env_config=ENV_CONFIG)
        .multi_agent(policies={SHARED_MODULE_ID}, policy_mapping_fn=map_to_shared)
        .env_runners(num_env_runners=0, rollout_fragment_length=20)
        .training(
            expert_data=flatland_data,
            expert_fraction=[[0, 1.0], [1, 1.0], [2, 0.25]],
            train_batch_size=64,
            n_step=3,
            pretrain_updates_per_iteration=3,
            num_steps_sampled_before_learning_starts=0,
        )
        .rl_module(model_config={"fcnet_hiddens": [32]})
    )


def test_expert_data_recorded_with_other_observation_settings_is_refused(flatland_data):
    config = apex_config(flatland_data).environment(env_config={**ENV_CONFIG, "tree_depth": 1})
    with pytest.raises(ConfigError, match="does not match"):  # a shallower tree: the spaces differ
        config.prepare().validate()
    config = apex_config(flatland_data).environment(env_config={**ENV_CONFIG, "observation_radius": 5})
    with pytest.raises(ConfigError, match="expert_data .* observation_radius=10, the env has observation_radius=5"):
        config.prepare().validate()


@pytest.mark.parametrize("key, value", [("reward", "shaped"), ("timetable", "flatland2")])
def test_expert_data_recorded_with_other_reward_settings_is_refused(flatland_data, key, value):
    """Same observations, other returns: DQfD's TD targets would mix two tasks' rewards."""
    config = apex_config(flatland_data).environment(env_config={**ENV_CONFIG, key: value})
    default = {"reward": "default", "timetable": "flatland3"}[key]
    with pytest.raises(ConfigError, match=f"expert_data .* {key}='{default}', the env has {key}='{value}'"):
        config.prepare().validate()


@pytest.fixture(scope="module")
def algo(ray_session, flatland_data):
    algorithm = apex_config(flatland_data).build_algo()
    yield algorithm
    algorithm.stop()


def test_phases_train_the_shared_module(algo):
    result = algo.train()
    stats = result["learners"][SHARED_MODULE_ID]
    assert stats["expert_fraction_achieved"] == 1.0 and "margin_loss" in stats
    before = algo.learner_group.get_weights()[SHARED_MODULE_ID]
    for _ in range(3):
        result = algo.train()
    stats = result["learners"][SHARED_MODULE_ID]
    assert result["env_runners"]["num_env_steps_sampled_lifetime"] > 0
    assert stats["expert_fraction_achieved"] == pytest.approx(0.25, abs=1 / 64)
    assert "td_error_simulation" in stats and "epsilon_runner_0" in result["env_runners"]
    after = algo.learner_group.get_weights()[SHARED_MODULE_ID]
    assert any(not np.allclose(before[k], after[k]) for k in before)
    # Every agent's transitions entered the simulation part (several agent ids).
    agents = {e.agent_id for e in algo.local_replay_buffer.primary.episodes}
    assert len(agents) > 1


def test_learner_batch_keeps_sampling_order(algo):
    """TD errors are written back in sampling order, so the learner batch must keep that order."""
    buffer = algo.local_replay_buffer
    buffer.fraction = 0.25
    rows = buffer.sample(64, n_step=3, gamma=0.99)
    learner = algo.learner_group._learner
    batch = learner._learner_connector(
        rl_module=learner.module, batch={}, episodes=rows, shared_data={}, metrics=learner.metrics
    )[SHARED_MODULE_ID]
    expected_obs = np.stack([r.get_observations(0) for r in rows])
    np.testing.assert_allclose(np.asarray(batch["obs"]), expected_obs)
    np.testing.assert_array_equal(np.asarray(batch[IS_EXPERT]), [r.get_extra_model_outputs(IS_EXPERT, 0) for r in rows])


DP_CONFIG = {"preset": "small_v0", "decision_points": True}


@pytest.fixture(scope="module")
def dp_algo(ray_session, tmp_path_factory):
    """Ape-X DQfD on the decision-point env, from 2 planner episodes recorded on it."""
    from rllib_il.rollout.recording import record_dataset

    data = tmp_path_factory.mktemp("data") / "flatland_dp"
    record_dataset("flatland_sparse", "flatland_planner", 2, data, DP_CONFIG, progress=False)
    algorithm = apex_config(str(data)).environment(env_config=DP_CONFIG).build_algo()
    yield algorithm
    algorithm.stop()


def test_decision_point_env_trains_a_masked_module_that_acts_within_the_masks(dp_algo):
    assert type(dp_algo.get_module(SHARED_MODULE_ID)).__name__ == "MaskedDQNTorchRLModule"
    for _ in range(3):  # pre-training, then mixed iterations with the Ape-X runner's epsilon
        result = dp_algo.train()
    stats = result["learners"][SHARED_MODULE_ID]
    assert np.isfinite(stats["qf_loss"]) and result["env_runners"]["num_env_steps_sampled_lifetime"] > 0
    checked = 0
    for episode in dp_algo.env_runner.sample(num_timesteps=100, random_actions=False):
        for agent_episode in episode.agent_episodes.values():
            observations, actions = agent_episode.get_observations()[:-1], agent_episode.get_actions()
            for obs, action in zip(observations, actions):
                assert obs[-5:][action] == 1.0
                checked += 1
    assert checked > 20


def test_sqil_trains_the_shared_module_on_half_demonstration_rows(ray_session, flatland_data):
    """SQIL on multi-agent Flatland: every agent's steps enter the replay with reward 0, the
    demonstrations' with 1, half of each batch from each; the shared module learns."""
    config = (
        SQILConfig()
        .environment("flatland_sparse", env_config=ENV_CONFIG)
        .multi_agent(policies={SHARED_MODULE_ID}, policy_mapping_fn=map_to_shared)
        .env_runners(num_env_runners=0, rollout_fragment_length=20)
        .training(expert_data=flatland_data, train_batch_size=64, num_steps_sampled_before_learning_starts=0)
        .rl_module(model_config={"fcnet_hiddens": [32]})
    )
    algorithm = config.build_algo()
    try:
        before = algorithm.learner_group.get_weights()[SHARED_MODULE_ID]
        result = algorithm.train()
        stats = result["learners"][SHARED_MODULE_ID]
        assert stats["expert_fraction_achieved"] == pytest.approx(0.5)
        after = algorithm.learner_group.get_weights()[SHARED_MODULE_ID]
        assert any(not np.allclose(before[k], after[k]) for k in before)
        rows = algorithm.local_replay_buffer.sample(64, n_step=1, gamma=0.99)
        expert = np.array([r.get_extra_model_outputs(IS_EXPERT, 0) for r in rows]) > 0.5
        rewards = np.array([r.get_extra_model_outputs(REWARD_1STEP, 0) for r in rows])
        assert expert.sum() == 32
        np.testing.assert_array_equal(rewards, np.where(expert, 1.0, 0.0))
        assert len({r.agent_id for r in algorithm.local_replay_buffer.primary.episodes}) > 1
    finally:
        algorithm.stop()
