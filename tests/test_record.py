"""The recorder: statistics, stored layout (single- and multi-agent), CLI errors, parallel workers,
and plain RLlib BC reading the output."""

import json

import numpy as np
import pytest

from rllib_il.cli.record import main
from rllib_il.data import read_episodes
from rllib_il.data.readers import check_spaces, read_metadata
from rllib_il.data.settings import check_recorded_settings
from rllib_il.envs import agent_spaces, make_env
from rllib_il.rollout.recording import record_dataset
from rllib_il.rollout.workers import record


@pytest.fixture(scope="module")
def cartpole_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("rec") / "cartpole"
    summary = record_dataset("CartPole-v1", "cartpole", 4, out, seed=10, progress=False)
    return out, summary


def test_cartpole_recording_statistics_and_layout(cartpole_data):
    out, summary = cartpole_data
    assert summary == {
        "episodes": 4,
        "steps": 2000,
        "return_mean": 500.0,
        "return_std": 0.0,
        "return_min": 500.0,
        "return_max": 500.0,
    }
    meta = read_metadata(out)
    assert meta["seeds"] == [10, 11, 12, 13] and meta["num_episodes"] == 4 and meta["num_steps"] == 2000
    assert (meta["env"], meta["expert"], meta["multi_agent"], meta["module_id"]) == (
        "CartPole-v1",
        "cartpole",
        False,
        None,
    )
    assert meta["statistics"] == summary and "observation_config" not in meta and "reward_config" not in meta
    episodes = read_episodes(out)
    assert all(len(e) == 500 and e.is_truncated and not e.is_terminated for e in episodes)
    np.testing.assert_array_equal(episodes[0].get_extra_model_outputs("return_to_go"), np.arange(500, 0, -1))
    np.testing.assert_array_equal(episodes[0].get_extra_model_outputs("action_logp"), np.zeros(500))
    # The stored first observation is the env's reset observation of that seed.
    import gymnasium as gym

    np.testing.assert_array_equal(episodes[1].get_observations(0), gym.make("CartPole-v1").reset(seed=11)[0])


def test_flatland_recording_stores_one_episode_per_agent(tmp_path, caplog):
    summary = record_dataset(
        "flatland_sparse",
        "flatland_planner",
        2,
        tmp_path / "fl",
        env_config={"preset": "small_v0", "reward": "shaped"},
        progress=False,
    )
    meta = read_metadata(tmp_path / "fl")
    episodes = read_episodes(tmp_path / "fl")
    assert meta["multi_agent"] and meta["module_id"] == "shared" and meta["num_env_episodes"] == 2
    assert meta["observation_config"] == {
        "tree_depth": 2,
        "predictor_depth": 30,
        "observation_radius": 10,
        "agent_features": False,
        "decision_points": False,
    }
    assert meta["reward_config"] == {"reward": "shaped", "timetable": "flatland3"}
    assert meta["dynamics_config"]["number_of_agents"] == 5 and meta["dynamics_config"]["malfunction_rate"] == 0.0
    # The stored settings (JSON: speed_ratio_map's float keys became strings) match the env they came from.
    check_recorded_settings(
        {"fl": meta}, "flatland_sparse", {"preset": "small_v0", "reward": "shaped"}, "t", rewards=True
    )
    assert "dynamics" not in caplog.text
    check_spaces(meta, *agent_spaces(make_env("flatland_sparse", {"preset": "small_v0"})), where="test")
    assert len({e.multi_agent_episode_id for e in episodes}) == 2
    for ma_id in {e.multi_agent_episode_id for e in episodes}:
        agents = sorted(e.agent_id for e in episodes if e.multi_agent_episode_id == ma_id)
        assert agents == ["0", "1", "2", "3", "4"]
    assert all(e.module_id == "shared" for e in episodes)
    for e in episodes:
        rtg = e.get_extra_model_outputs("return_to_go")
        np.testing.assert_allclose(rtg, np.cumsum(e.get_rewards()[::-1])[::-1], rtol=1e-6)
        assert e.observation_space.contains(e.get_observations(0))
    # The summary's returns are sums over all agents; with the shaped reward an arrived train earns +1.
    total = sum(float(e.get_rewards().sum()) for e in episodes)
    assert summary["return_mean"] * 2 == pytest.approx(total, abs=1e-4)
    assert 0.0 <= summary["percentage_complete"] <= 1.0
    arrived = sum(e.is_terminated for e in episodes) / len(episodes)
    assert summary["percentage_complete"] == pytest.approx(arrived)


def test_parallel_workers_record_the_same_episodes(ray_session):
    args = ("CartPole-v1", {}, "random", {}, list(range(5)))
    serial, serial_stats = record(*args, num_workers=1, progress=False)
    parallel, parallel_stats = record(*args, num_workers=2, progress=False)
    assert [s.seed for s in parallel_stats] == list(range(5))
    assert [s.episode_return for s in parallel_stats] == [s.episode_return for s in serial_stats]
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a.get_actions(), b.get_actions())
        np.testing.assert_array_equal(a.get_observations(), b.get_observations())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--env", "NoSuchEnv-v0", "--expert", "random"], "NoSuchEnv-v0"),
        (["--env", "CartPole-v1", "--expert", "nope"], "expert 'nope' is unknown"),
        (["--env", "CartPole-v1", "--expert", "cartpole", "--env-config", "{bad"], "--env-config"),
        (["--env", "CartPole-v1", "--expert", "checkpoint", "--checkpoint", "/nonexistent"], "not an RLlib"),
        (["--env", "flatland_sparse", "--env-config", "no_such_preset", "--expert", "random"], "no_such_preset"),
    ],
)
def test_cli_errors_exit_2_without_output(tmp_path, capsys, argv, message):
    assert main(argv + ["--episodes", "1", "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_refuses_to_overwrite_and_unwritable_output(cartpole_data, tmp_path, capsys):
    out, _ = cartpole_data
    before = (out / "metadata.json").read_text()
    assert main(["--env", "CartPole-v1", "--expert", "random", "--episodes", "1", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err and (out / "metadata.json").read_text() == before
    (tmp_path / "file").write_text("")
    assert (
        main(["--env", "CartPole-v1", "--expert", "random", "--episodes", "1", "--out", str(tmp_path / "file" / "x")])
        == 2
    )
    assert "cannot create the output directory" in capsys.readouterr().err


def test_cli_overwrite_and_statistics_table(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["--env", "CartPole-v1", "--expert", "random", "--episodes", "3", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    assert main(argv + ["--overwrite", "--seed", "7"]) == 0
    table = capsys.readouterr().out
    assert "return mean" in table and "episodes" in table
    assert json.loads((out / "metadata.json").read_text())["seeds"] == [7, 8, 9]


def test_interrupt_leaves_no_dataset(tmp_path, monkeypatch):
    from rllib_il.rollout import workers

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(workers, "rollout", interrupted)
    assert main(["--env", "CartPole-v1", "--expert", "random", "--episodes", "2", "--out", str(tmp_path / "o")]) == 130
    assert list(tmp_path.iterdir()) == []


def test_killed_recorder_leaves_no_dataset_and_a_rerun_completes_it(tmp_path):
    """SIGKILL of the recorder process while it records (episodes are held in memory until the
    write): nothing under --out's parent; the same command run again writes the whole dataset. A
    kill during the write itself is `test_dataset.py::test_leftovers_of_a_killed_write_are_undone`.
    The recorder cannot finish before the kill, however fast the machine: its expert (a user expert
    of this test) holds episode 3 of 300 until a gate file exists."""
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "gated.py").write_text(GATED_EXPERT)
    gate, holding = tmp_path / "gate", tmp_path / "holding"
    env = {
        **os.environ,
        "RECORD_GATE": str(gate),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
    }
    out = tmp_path / "data" / "cartpole"
    out.parent.mkdir()
    argv = [
        sys.executable,
        "-m",
        "rllib_il.cli.record",
        "--env",
        "CartPole-v1",
        "--expert",
        "gated:GatedCartPole",
        "--episodes",
        "300",
        "--out",
        str(out),
        "--no-progress",
    ]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 600  # a bound for a broken recorder, not a race: it waits for the gate
        while not holding.exists():
            assert proc.poll() is None, proc.stderr.read().decode()[-3000:]
            assert time.time() < deadline, "the recorder did not reach episode 3 within 600 s"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert list(out.parent.iterdir()) == []  # killed while recording episode 3 of 300: nothing written
    gate.touch()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    meta = read_metadata(out)
    assert meta["num_episodes"] == 300 and meta["seeds"] == list(range(300))
    assert [p.name for p in out.parent.iterdir()] == ["cartpole"]


# A user expert (see docs/recording.md): the scripted CartPole expert that holds its third episode
# until the file $RECORD_GATE exists, after saying so in a file beside it.
GATED_EXPERT = """
import os
import time
from pathlib import Path

from rllib_il.experts.gym_experts import CartPoleExpert


class GatedCartPole(CartPoleExpert):
    episodes = 0

    def reset(self, env, obs):
        self.episodes += 1
        gate = Path(os.environ["RECORD_GATE"])
        if self.episodes == 3 and not gate.exists():
            (gate.parent / "holding").touch()
            while not gate.exists():
                time.sleep(0.1)
"""


def test_plain_rllib_bc_trains_on_a_recording(cartpole_data, ray_session, tmp_path, monkeypatch):
    """RLlib's own BC reads a recording's parquet files with `input_read_episodes=True`, here one file
    per episode like a large recording: Ray Data lists a list of files in threads, which failed with
    "cannot import name 'HTTPFileSystem'" while fsspec (from torch) lacked aiohttp."""
    from ray.rllib.algorithms.bc import BCConfig
    from ray.rllib.utils.serialization import gym_space_from_dict

    from rllib_il import data
    from rllib_il.data import writer

    meta = read_metadata(cartpole_data[0])
    monkeypatch.setattr(writer, "EPISODES_PER_FILE", 1)
    out = data.write_dataset(read_episodes(cartpole_data[0]), tmp_path / "files", meta)
    files = [str(f) for f in data.resolve_input_files(out)]
    assert len(files) == 4
    config = (
        BCConfig()
        .environment(
            observation_space=gym_space_from_dict(meta["observation_space"]),
            action_space=gym_space_from_dict(meta["action_space"]),
        )
        .offline_data(
            input_=files,
            input_read_episodes=True,
            input_read_batch_size=2,
            dataset_num_iters_per_learner=1,
            map_batches_kwargs={"concurrency": 1},
        )  # 2 CPUs: 2 pre-learner actors starve the reader
        .training(train_batch_size_per_learner=256, lr=1e-3)
    )
    algo = config.build_algo()
    try:
        losses = [algo.train()["learners"]["default_policy"]["policy_loss"] for _ in range(3)]
    finally:
        algo.stop()
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
