"""DAgger: recording with an acting policy (labels vs acted actions, expert_prob, metadata, errors),
MARWIL_IL's refusal of beta != 0 on DAgger data, DQfD's refusal of DAgger data as expert data,
and one tiny `python -m rllib_il.cli.dagger` run."""

import copy
import json
import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rllib_il.algorithms.dqfd.dqfd import DQfDConfig
from rllib_il.algorithms.marwil.marwil import MARWILILConfig
from rllib_il.cli.dagger import main as dagger_main
from rllib_il.cli.record import main as record_main
from rllib_il.core.errors import ConfigError
from rllib_il.data import read_episodes
from rllib_il.data.readers import read_metadata
from rllib_il.envs import agent_spaces, make_env
from rllib_il.experts.checkpoint import CheckpointExpert
from rllib_il.experts.gym_experts import CartPoleExpert
from rllib_il.rollout.recording import record_dataset

ROOT = Path(__file__).resolve().parents[1]
CARTPOLE = str(ROOT / "saved_experiences/cartpole")


def save_policy(path, env, action, module_id="default_policy"):
    """A checkpoint (Algorithm layout) whose greedy policy always takes `action`."""
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    obs_space, act_space = agent_spaces(env)
    module = RLModuleSpec(
        module_class=DefaultPPOTorchRLModule,
        observation_space=obs_space,
        action_space=act_space,
        model_config={"fcnet_hiddens": [8]},
    ).build()
    with torch.no_grad():
        module.pi.net.mlp[0].weight.zero_()
        module.pi.net.mlp[0].bias.copy_(torch.where(torch.arange(act_space.n) == action, 10.0, -10.0))
    module.save_to_path(Path(path) / "learner_group" / "learner" / "rl_module" / module_id)
    return str(path)


@pytest.fixture(scope="module")
def left(tmp_path_factory):
    """A CartPole policy that always pushes left, and 3 episodes it flew, labelled by the expert."""
    tmp = tmp_path_factory.mktemp("dagger")
    checkpoint = save_policy(tmp / "left", gym.make("CartPole-v1"), action=0)
    summary = record_dataset("CartPole-v1", "cartpole", 3, tmp / "data", act_with=checkpoint, progress=False)
    return checkpoint, tmp / "data", summary


def test_stored_actions_are_the_experts_labels_along_the_acting_trajectory(left):
    checkpoint, data, summary = left
    expert = CartPoleExpert(None)
    episodes = read_episodes(data)
    for seed, episode in enumerate(episodes):
        obs = episode.get_observations()
        # the expert's action at every visited state ...
        assert list(episode.get_actions()) == [expert.act(o)[0] for o in obs[:-1]]
        assert 1 in episode.get_actions()  # (it pushes right where the policy pushed left)
        # ... along the trajectory of always pushing left: replaying 0s gives the same states.
        env = gym.make("CartPole-v1")
        replay = [env.reset(seed=seed)[0]] + [env.step(0)[0] for _ in range(len(episode))]
        np.testing.assert_array_equal(obs, np.array(replay))
        assert episode.is_terminated and len(episode) < 30
    assert summary["return_max"] < 30  # statistics describe the acting trajectory
    meta = read_metadata(data)
    assert meta["dagger"] == {"act_with": str(Path(checkpoint).resolve()), "expert_prob": 0.0}
    assert meta["expert"] == "cartpole" and meta["statistics"] == summary


def test_expert_prob_1_flies_the_experts_trajectory_and_draws_depend_only_on_the_seed(left, tmp_path):
    checkpoint, _, _ = left
    record_dataset("CartPole-v1", "cartpole", 1, tmp_path / "expert", seed=3, progress=False)
    record_dataset(
        "CartPole-v1", "cartpole", 1, tmp_path / "p1", seed=3, progress=False, act_with=checkpoint, expert_prob=1.0
    )
    [expert], [mixed] = read_episodes(tmp_path / "expert"), read_episodes(tmp_path / "p1")
    assert len(mixed) == 500
    np.testing.assert_array_equal(expert.get_observations(), mixed.get_observations())
    np.testing.assert_array_equal(expert.get_actions(), mixed.get_actions())
    # expert_prob 0.5: the episode of seed 3 is the same whether recorded alone or after seed 2.
    for name, seed, n in (("a", 3, 1), ("b", 2, 2)):
        record_dataset(
            "CartPole-v1",
            "cartpole",
            n,
            tmp_path / name,
            seed=seed,
            progress=False,
            act_with=checkpoint,
            expert_prob=0.5,
        )
    alone, after = read_episodes(tmp_path / "a")[0], read_episodes(tmp_path / "b")[1]
    np.testing.assert_array_equal(alone.get_observations(), after.get_observations())
    # where the label is "right", the env was stepped with it or with the policy's "left": both occur.
    env, taken = gym.make("CartPole-v1"), []
    env.reset(seed=3)
    for obs, label in zip(alone.get_observations()[1:], alone.get_actions()):
        if label == 1:
            taken.append(np.array_equal(copy.deepcopy(env).step(1)[0], obs))
        env.step(int(taken[-1]) if label == 1 else 0)
    assert any(taken) and not all(taken)


def test_flatland_planner_labels_the_states_a_policy_drives_into(tmp_path):
    env = make_env("flatland_sparse", {"preset": "small_v0"})
    checkpoint = save_policy(tmp_path / "forward", env, action=2, module_id="shared")
    summary = record_dataset(
        "flatland_sparse",
        "flatland_planner",
        1,
        tmp_path / "fl",
        {"preset": "small_v0"},
        seed=6,
        progress=False,
        act_with=checkpoint,
    )
    meta = read_metadata(tmp_path / "fl")
    assert meta["multi_agent"] and meta["dagger"]["expert_prob"] == 0.0 and "percentage_complete" in summary
    assert sorted(e.agent_id for e in read_episodes(tmp_path / "fl")) == ["0", "1", "2", "3", "4"]

    expert = CheckpointExpert(env, checkpoint=checkpoint)
    assert expert.act({}) == ({}, {})  # a step without acting agents (crashed a Flatland DAgger round)


def test_checkpoint_expert_loads_a_relative_path_with_tune_trial_characters(tmp_path, monkeypatch):
    checkpoint = save_policy(
        tmp_path / "DQfD_0_seed=0_2026-11-22_06-05-25" / "checkpoint_000000", gym.make("CartPole-v1"), 1
    )
    monkeypatch.chdir(tmp_path)
    expert = CheckpointExpert(gym.make("CartPole-v1"), checkpoint=str(Path(checkpoint).relative_to(tmp_path)))
    assert expert.act(np.zeros(4, dtype=np.float32))[0] == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--act-with", "/nonexistent"], "--act-with: checkpoint /nonexistent: no module weights"),
        (["--act-with", "LUNAR"], "--act-with: checkpoint .*: observation space"),
        (["--expert-prob", "0.5"], "--expert-prob 0.5: only means something with --act-with"),
        (["--act-with", "LEFT", "--expert-prob", "1.5"], "--expert-prob 1.5: must lie in"),
    ],
)
def test_bad_act_with_exits_2_without_output(left, tmp_path, capsys, extra, message):
    lunar = save_policy(tmp_path / "lunar", gym.make("LunarLander-v3"), action=0)
    extra = [{"LUNAR": lunar, "LEFT": left[0]}.get(a, a) for a in extra]
    argv = [
        "--env",
        "CartPole-v1",
        "--expert",
        "cartpole",
        "--episodes",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    assert record_main(argv + extra) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and re.search(message, err), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "beta, refused", [(0.0, False), ([[0, 0.0], [100, 0.0]], False), (0.5, True), ([[0, 0.0], [100, 0.5]], True)]
)
def test_marwil_refuses_advantages_on_dagger_data(left, beta, refused):
    _, data, _ = left
    config = MARWILILConfig().environment("CartPole-v1").offline_data(input_=[CARTPOLE, str(data)]).training(beta=beta)
    if not refused:
        config.prepare().validate()
        assert read_metadata([CARTPOLE, str(data)])["num_episodes"] == 53
        return
    with pytest.raises(ConfigError, match=f"dataset {data} holds DAgger labels") as error:
        config.prepare().validate()
    assert "\n" not in str(error.value)


EXPERIMENT = f"""
cartpole-dagger:
  run: MARWIL_IL
  env: CartPole-v1
  stop: {{training_iteration: 1}}
  config:
    input: {CARTPOLE}
    beta: BETA
    train_batch_size_per_learner: 256
    dataset_num_iters_per_learner: 2
    evaluation_interval: 1
    evaluation_duration: 2
    evaluation_num_env_runners: 0
    model_config: {{fcnet_hiddens: [16]}}
"""


def test_dqfd_refuses_dagger_labels_as_expert_data(left):
    _, data, _ = left
    config = DQfDConfig().environment("CartPole-v1").training(expert_data=[CARTPOLE, str(data)])
    with pytest.raises(ConfigError, match=f"expert_data: dataset {data} holds DAgger labels"):
        config.prepare().validate()
    DQfDConfig().environment("CartPole-v1").training(expert_data=CARTPOLE).prepare().validate()


def test_dagger_cli_refuses_bad_files_and_a_used_output_dir(tmp_path, capsys):
    (tmp_path / "marwil.yaml").write_text(EXPERIMENT.replace("BETA", "0.5"))
    argv = ["-f", str(tmp_path / "marwil.yaml"), "--rounds", "1", "--episodes", "1"]
    assert dagger_main(argv + ["--out", str(tmp_path / "out")]) == 2
    assert "beta must be 0, got 0.5" in capsys.readouterr().err and not (tmp_path / "out").exists()
    (tmp_path / "marwil.yaml").write_text(EXPERIMENT.replace("BETA", "0.0"))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep").write_text("")
    for extra in ([], ["--overwrite"]):
        assert dagger_main(argv + ["--out", str(tmp_path / "used"), *extra]) == 2
        assert capsys.readouterr().err.count("\n") == 1 and (tmp_path / "used" / "keep").exists()


def test_dagger_round_1_trains_on_the_original_and_its_own_labels(ray_session, tmp_path, capsys):
    (tmp_path / "bc.yaml").write_text(EXPERIMENT.replace("BETA", "0.0"))
    out = tmp_path / "out"
    assert dagger_main(["-f", str(tmp_path / "bc.yaml"), "--rounds", "1", "--episodes", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    log = json.loads((out / "dagger.json").read_text())
    round_0, round_1 = log["rounds"]
    assert "DAgger round 1: return" in printed and round_1["checkpoint"] in printed.replace("\n", "")
    data = read_metadata(out / "round_1" / "data")
    assert data["dagger"]["act_with"] == str(Path(round_0["checkpoint"]).resolve())
    assert data["seeds"] == [100_002, 100_003] and data["expert"] == "cartpole"
    [params] = (out / "round_1" / "cartpole-dagger").glob("MARWIL_IL_*/params.json")
    assert json.loads(params.read_text())["input"] == [CARTPOLE, str((out / "round_1" / "data").absolute())]
    assert round_0["input"] == [CARTPOLE] and Path(round_1["checkpoint"]).is_relative_to(out / "round_1")
