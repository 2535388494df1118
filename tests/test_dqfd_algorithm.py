"""DQfD / APEX_DQfD on CartPole: both phases, metrics, per-runner epsilon, checkpoints, bad input."""

import numpy as np
import pytest

from rllib_il.algorithms.dqfd.apex_env_runner import apex_epsilon
from rllib_il.algorithms.dqfd.dqfd import APEXDQfDConfig, DQfDConfig
from rllib_il.core.errors import ConfigError

MODULE = "default_policy"


@pytest.fixture(scope="module")
def cartpole_data(tmp_path_factory):
    from rllib_il.rollout.recording import record_dataset

    out = tmp_path_factory.mktemp("data") / "cartpole"
    record_dataset("CartPole-v1", "cartpole", 4, out, progress=False)
    return str(out)


def small_config(cls, data, **training):
    return (
        cls()
        .environment("CartPole-v1")
        .env_runners(num_env_runners=0)
        .training(expert_data=data, train_batch_size=32, n_step=3, pretrain_updates_per_iteration=5, **training)
        .rl_module(model_config={"fcnet_hiddens": [32]})
        .debugging(seed=0)
    )


def learner(result):
    return result["learners"][MODULE]


def test_apex_epsilon_formula():
    assert apex_epsilon(0, 1, 0.4, 7) == 0.4
    eps = [apex_epsilon(i, 4, 0.4, 7) for i in range(4)]
    np.testing.assert_allclose(eps, [0.4 ** (1 + 7 * i / 3) for i in range(4)])
    assert eps[0] == pytest.approx(0.4) and eps[-1] == pytest.approx(0.4**8)


def test_phase1_offline_then_phase2_mixed_and_checkpoint(ray_session, cartpole_data, tmp_path):
    import torch

    config = small_config(DQfDConfig, cartpole_data, expert_fraction=[[0, 1.0], [1, 1.0], [2, 0.25]])
    config.training(num_steps_sampled_before_learning_starts=0, mixed_env_steps_per_iteration=20)
    algo = config.build()
    try:
        # Phase 1: expert rows only, no env step.
        for _ in range(2):
            result = algo.train()
        assert result.get("env_runners", {}).get("num_env_steps_sampled_lifetime", 0) == 0
        assert learner(result)["expert_fraction_achieved"] == 1.0
        assert "margin_loss" in learner(result) and "expert_greedy_accuracy" in learner(result)
        assert result["num_learner_updates_lifetime"] == 10 and result["updates_per_s"] > 0
        # Phase 2: env sampling and a 25/75 mix.
        fractions = []
        for _ in range(4):
            result = algo.train()
            fractions.append(learner(result)["expert_fraction_achieved"])
        assert result["env_runners"]["num_env_steps_sampled_lifetime"] >= 4 * 20 and result["env_steps_per_s"] > 0
        assert np.mean(fractions) == pytest.approx(0.25)
        assert {"td_error_expert", "td_error_simulation"} <= set(learner(result))
        # Checkpoint: a new algorithm restored from it has the same module weights.
        path = algo.save_to_path(str(tmp_path / "ckpt"))
        weights = algo.learner_group.get_weights()[MODULE]
    finally:
        algo.stop()
    restored = config.build()
    try:
        fresh = restored.learner_group.get_weights()[MODULE]
        assert any(not np.allclose(fresh[k], weights[k]) for k in weights)
        restored.restore_from_path(path)
        got = restored.learner_group.get_weights()[MODULE]
        for key in weights:
            np.testing.assert_allclose(got[key], weights[key])
        # Env runners act with the restored weights too.
        runner_state = restored.env_runner.module.get_state()
        key = next(k for k in runner_state if k in weights)
        np.testing.assert_allclose(torch.as_tensor(runner_state[key]).numpy(), weights[key])
    finally:
        restored.stop()


def test_apex_runners_use_and_log_their_own_epsilon(ray_session, cartpole_data):
    config = small_config(APEXDQfDConfig, cartpole_data).env_runners(num_env_runners=2, rollout_fragment_length=8)
    config.training(num_steps_sampled_before_learning_starts=0)
    algo = config.build()
    try:
        result = algo.train()
        eps = algo.env_runner_group.foreach_env_runner(
            lambda r: (r.worker_index, r.module.epsilon_schedule.get_current_value()), local_env_runner=False
        )
    finally:
        algo.stop()
    assert sorted(eps) == [(1, pytest.approx(0.1)), (2, pytest.approx(0.1**8))]
    assert result["env_runners"]["epsilon_runner_1"] == pytest.approx(0.1)
    assert result["env_runners"]["epsilon_runner_2"] == pytest.approx(0.1**8)


@pytest.mark.parametrize(
    "training, message",
    [
        ({"expert_fraction": 1.5}, "expert_fraction"),
        ({"expert_fraction": [[0, 1.0], [10, -0.1]]}, "expert_fraction"),
        ({"margin": -0.1}, "margin"),
        ({"expert_data": None}, "expert_data"),
        ({"expert_fraction": 1.0, "reporting": {"min_sample_timesteps_per_iteration": 100}}, "mixed_env_steps"),
    ],
)
def test_bad_settings_raise_config_error(cartpole_data, training, message):
    config = small_config(DQfDConfig, cartpole_data).reporting(**training.pop("reporting", {})).training(**training)
    if training.get("expert_data", 1) is None:
        config.expert_data = None
    with pytest.raises(ConfigError, match=message):
        config.prepare().validate()


def test_bad_expert_data_raises_config_error(cartpole_data, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no .parquet"):
        small_config(DQfDConfig, str(tmp_path / "empty")).prepare().validate()
    config = small_config(DQfDConfig, cartpole_data).environment("LunarLander-v3")
    with pytest.raises(ConfigError, match="does not match"):
        config.prepare().validate()
