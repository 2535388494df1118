"""MARWIL_IL end to end: results, bad input, checkpoints, the shared Flatland module."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModule
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from rllib_il import data as dataset
from rllib_il.algorithms.marwil.marwil import MARWILILConfig
from rllib_il.core.constants import SHARED_MODULE_ID
from rllib_il.core.errors import ConfigError


def cartpole_expert(obs):
    return int(obs[2] + 0.5 * obs[3] > 0)


def record(env, num_episodes, policy, module_id="default_policy", seed=0):
    episodes = []
    for i in range(num_episodes):
        obs, info = env.reset(seed=seed + i)
        ep = SingleAgentEpisode(observation_space=env.observation_space, action_space=env.action_space)
        ep.add_env_reset(obs, info)
        done = False
        while not done:
            action = policy(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            ep.add_env_step(
                obs,
                action,
                reward,
                info,
                terminated=terminated,
                truncated=truncated,
                extra_model_outputs={"action_logp": 0.0},
            )
            done = terminated or truncated
        episodes.append(ep.to_numpy())
    return episodes


def write(path, episodes, env_id, observation_space, action_space, module_id="default_policy"):
    metadata = {
        "env": env_id,
        "env_config": {},
        "expert": "test",
        "seeds": [],
        "multi_agent": module_id != "default_policy",
        "module_id": module_id,
        **dataset.spaces_metadata(observation_space, action_space),
    }
    return str(dataset.write_dataset(episodes, path, metadata))


@pytest.fixture(scope="module")
def cartpole_data(tmp_path_factory):
    env = gym.make("CartPole-v1", max_episode_steps=100)
    return write(
        tmp_path_factory.mktemp("data") / "cartpole",
        record(env, 10, cartpole_expert),
        "CartPole-v1",
        env.observation_space,
        env.action_space,
    )


def cartpole_config(data, **training):
    return (
        MARWILILConfig()
        .environment("CartPole-v1")
        .training(train_batch_size_per_learner=64, **training)
        .offline_data(input_=data, dataset_num_iters_per_learner=4)
        .debugging(seed=0)
    )


@pytest.mark.parametrize(
    "beta, message",
    [
        ([[0, 0.0], [100, 1.0], [50, 0.5]], "non-decreasing"),
        ([[0, 0.0], [100, 1.5]], r"\[0, 1\]"),
        (-0.1, r"\[0, 1\]"),
        ([[10, 0.0], [100, 1.0]], "start at t = 0"),
        ("high", "number or a schedule"),
    ],
)
def test_bad_beta_is_a_config_error(cartpole_data, beta, message):
    with pytest.raises(ConfigError, match=message):
        cartpole_config(cartpole_data, beta=beta).prepare().validate()


@pytest.mark.parametrize(
    "training, message",
    [
        ({"expert_fraction": 1.5}, r"expert_fraction: 1.5 must be a number in \[0, 1\]"),
        ({"expert_fraction": "a quarter"}, "expert_fraction: 'a quarter' must be a number"),
    ],
)
def test_bad_expert_fraction_is_a_config_error(cartpole_data, training, message):
    with pytest.raises(ConfigError, match=message):
        cartpole_config(cartpole_data, **training).prepare().validate()


def test_mixed_marwil_needs_complete_episodes(cartpole_data):
    config = cartpole_config(cartpole_data, expert_fraction=0.25).env_runners(batch_mode="truncate_episodes")
    with pytest.raises(ConfigError, match="batch_mode='truncate_episodes'.*complete_episodes"):
        config.prepare().validate()


def test_missing_and_unreadable_datasets_are_config_errors(tmp_path, cartpole_data):
    with pytest.raises(ConfigError, match="no such file"):
        cartpole_config(str(tmp_path / "nowhere")).prepare().validate()
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no .parquet"):
        cartpole_config(str(tmp_path / "empty")).prepare().validate()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "metadata.json").write_text(open(f"{cartpole_data}/metadata.json").read())
    (broken / "episodes-00000.parquet").write_bytes(b"not parquet")
    with pytest.raises(ConfigError, match="not a readable episode parquet"):
        from rllib_il.algorithms.marwil.in_memory_data import InMemoryOfflineData

        InMemoryOfflineData(cartpole_config(str(broken)))


def test_dataset_spaces_must_match_env(cartpole_data):
    config = cartpole_config(cartpole_data).environment("MountainCar-v0")
    with pytest.raises(ConfigError, match="does not match the env"):
        config.prepare().validate()


def learner_weights(algo, module_id):
    return algo.learner_group._learner.module[module_id].state_dict()


def eval_weights(algo, module_id):
    module = algo.eval_env_runner_group.local_env_runner.module
    return (module[module_id] if isinstance(module, MultiRLModule) else module).state_dict()


def assert_same_weights(a, b):
    assert a.keys() and set(b) <= set(a)
    for key in b:
        assert torch.equal(torch.as_tensor(a[key]), torch.as_tensor(b[key])), key


def test_cartpole_results_schedule_and_checkpoint(ray_session, cartpole_data, tmp_path):
    schedule = [[0, 0.0], [512, 1.0]]
    config = cartpole_config(cartpole_data, beta=schedule, validation_fraction=0.2).evaluation(
        evaluation_interval=2, evaluation_duration=2, evaluation_num_env_runners=0
    )
    algo = config.build_algo()
    try:
        results = [algo.train() for _ in range(3)]
        betas = [r["learners"]["default_policy"]["curr_beta"] for r in results]
        assert betas == pytest.approx([0.0, 0.5, 1.0])  # t = 0, 256, 512 trained samples
        last = results[-1]
        for key in ("action_accuracy", "policy_loss", "entropy", "vf_loss"):
            assert np.isfinite(last["learners"]["default_policy"][key])
        validation = last["validation"]
        assert validation["num_episodes"] == 2 and 0.0 <= validation["action_accuracy"] <= 1.0
        assert validation["off_policy_estimation"]["wis"]["v_behavior"] > 0
        for name in ("is", "wis"):
            assert set(validation["off_policy_estimation"][name]) == {"v_target", "v_behavior", "v_gain", "v_delta"}
        assert "episode_return_mean" in results[1]["evaluation"]["env_runners"]
        algo.evaluate()
        assert_same_weights(learner_weights(algo, "default_policy"), eval_weights(algo, "default_policy"))
        checkpoint = algo.save_to_path(str(tmp_path / "ckpt"))
        trained = {k: v.clone() for k, v in learner_weights(algo, "default_policy").items()}
    finally:
        algo.stop()

    restored = config.build_algo()
    try:
        assert not torch.equal(
            next(iter(learner_weights(restored, "default_policy").values())), next(iter(trained.values()))
        )
        restored.restore_from_path(checkpoint)
        assert_same_weights(learner_weights(restored, "default_policy"), trained)
        assert_same_weights(trained, eval_weights(restored, "default_policy"))
        assert restored.training_iteration == 3
        restored.train()
    finally:
        restored.stop()


def test_mixed_marwil_samples_the_env_and_mixes_at_the_set_ratio(ray_session, cartpole_data):
    config = cartpole_config(cartpole_data, beta=1.0, expert_fraction=0.25).env_runners(num_env_runners=1)
    algo = config.build_algo()
    try:
        results = [algo.train() for _ in range(2)]
        for result in results:  # 4 minibatches of 64 rows: 16 expert + 48 simulation rows each
            assert result["mixing"]["expert_fraction"] == 0.25
            assert result["mixing"]["num_simulation_rows_trained"] == 4 * 48
            assert result["mixing"]["num_simulation_rows_sampled"] >= 4 * 48
        sampled = results[-1]["env_runners"]["num_env_steps_sampled_lifetime"]
        assert sampled == sum(r["mixing"]["num_simulation_rows_sampled"] for r in results)
        assert results[-1]["num_env_steps_sampled_lifetime"] == sampled  # what --stop-timesteps stops on
        assert results[-1]["env_runners"]["num_episodes_lifetime"] > 0
        runner_weights = algo.env_runner_group.foreach_env_runner(
            lambda r: r.module.state_dict(), local_env_runner=False
        )[0]
        assert_same_weights(learner_weights(algo, "default_policy"), runner_weights)
    finally:
        algo.stop()


@pytest.fixture(scope="module")
def flatland_data(tmp_path_factory):
    from rllib_il.envs.flatland.env import FlatlandEnv

    env = FlatlandEnv({"preset": "small_v0", "seed": 0})
    obs_space, act_space = env.get_observation_space("0"), env.get_action_space("0")
    rng = np.random.default_rng(0)
    episodes = []
    for agent in range(4):  # synthetic per-agent episodes: only the module plumbing is tested here
        ep = SingleAgentEpisode(
            observation_space=obs_space, action_space=act_space, agent_id=str(agent), module_id=SHARED_MODULE_ID
        )
        ep.add_env_reset(obs_space.sample())
        for t in range(20):
            ep.add_env_step(
                obs_space.sample(),
                int(rng.integers(5)),
                0.0,
                terminated=t == 19,
                extra_model_outputs={"action_logp": 0.0},
            )
        episodes.append(ep.to_numpy())
    return write(
        tmp_path_factory.mktemp("data") / "flatland",
        episodes,
        "flatland_sparse",
        obs_space,
        act_space,
        SHARED_MODULE_ID,
    )


def flatland_config(data):
    from rllib_il.envs import map_to_shared

    return (
        MARWILILConfig()
        .environment("flatland_sparse", env_config={"preset": "small_v0", "seed": 0})
        .multi_agent(policies={SHARED_MODULE_ID}, policy_mapping_fn=map_to_shared)
        .training(beta=0.5, train_batch_size_per_learner=32, validation_fraction=0.25)
        .offline_data(input_=data, dataset_num_iters_per_learner=2)
    )


def test_flatland_dataset_recorded_with_other_observation_settings_is_refused(flatland_data):
    """Same spaces, different meaning: the dataset's distances were divided by radius 10 (the default), not 2."""
    config = flatland_config(flatland_data).environment(env_config={"preset": "small_v0", "observation_radius": 2})
    with pytest.raises(
        ConfigError, match="recorded with env_config observation_radius=10, the env has observation_radius=2"
    ):
        config.prepare().validate()


def test_flatland_dataset_recorded_with_other_rewards_trains_only_behaviour_cloning(flatland_data):
    """The dataset's rewards are flatland's default: advantages (beta > 0) under the shaped reward
    would weigh its actions by another task's returns; behaviour cloning ignores rewards."""
    config = flatland_config(flatland_data).environment(env_config={"preset": "small_v0", "reward": "shaped"})
    with pytest.raises(ConfigError, match="recorded with env_config reward='default', the env has reward='shaped'"):
        config.prepare().validate()
    config.training(beta=[[0, 0.0], [100, 0.5]])  # a schedule that leaves 0 learns from rewards too
    with pytest.raises(ConfigError, match="reward='default', the env has reward='shaped'"):
        config.prepare().validate()
    config.training(beta=0.0).prepare().validate()


def test_flatland_trains_without_evaluation_env_runners(ray_session, flatland_data):
    algo = flatland_config(flatland_data).build_algo()  # spaces then come from the dataset, per agent
    try:
        assert algo.eval_env_runner_group is None and algo.env_runner_group is None
        assert np.isfinite(algo.train()["learners"][SHARED_MODULE_ID]["policy_loss"])
    finally:
        algo.stop()


def test_flatland_shared_module_trains_and_drives_every_agent(ray_session, flatland_data):
    config = flatland_config(flatland_data).evaluation(
        evaluation_interval=1, evaluation_duration=1, evaluation_num_env_runners=0
    )
    algo = config.build_algo()
    try:
        before = {k: v.clone() for k, v in learner_weights(algo, SHARED_MODULE_ID).items()}
        result = algo.train()
        assert set(algo.learner_group._learner.module.keys()) == {SHARED_MODULE_ID}
        after = learner_weights(algo, SHARED_MODULE_ID)
        assert any(not torch.equal(before[k], after[k]) for k in before), "the shared module did not train"
        assert_same_weights(after, eval_weights(algo, SHARED_MODULE_ID))
        assert set(algo.eval_env_runner_group.local_env_runner.module.keys()) == {SHARED_MODULE_ID}
        assert result["evaluation"]["env_runners"]["num_episodes"] >= 1
    finally:
        algo.stop()

    algo = config.training(expert_fraction=0.5).build_algo()  # mixed: every agent's steps are simulation rows
    try:
        result = algo.train()
        rows, runners = result["mixing"]["num_simulation_rows_sampled"], result["env_runners"]
        # More rows than env steps: every agent's actions are rows. RLlib also counts a train's arrival
        # (an observation without an action) as an agent step, hence <=.
        assert (
            runners["num_env_steps_sampled_lifetime"]
            < rows
            <= sum(runners["num_agent_steps_sampled_lifetime"].values())
        )
        assert_same_weights(
            learner_weights(algo, SHARED_MODULE_ID),
            algo.env_runner_group.local_env_runner.module[SHARED_MODULE_ID].state_dict(),
        )
    finally:
        algo.stop()
