"""saved_experiences datasets: write/read round trip, input resolution, errors naming the file."""

import json
import logging
import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

from rllib_il.core.errors import ConfigError
from rllib_il.data import read_episodes
from rllib_il.data.codec import build_episode, spaces_metadata
from rllib_il.data.layout import resolve_input_files
from rllib_il.data.readers import check_spaces, read_metadata
from rllib_il.data.settings import check_recorded_settings
from rllib_il.data.writer import write_dataset

OBS = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
ACT = gym.spaces.Discrete(2)


def _episode(length, terminated=True, agent_id=None, seed=0):
    rng = np.random.default_rng(seed)
    return build_episode(
        rng.uniform(-1, 1, (length + 1, 3)).astype(np.float32),
        rng.integers(2, size=length),
        np.arange(1, length + 1, dtype=np.float32),
        np.full(length, -0.5),
        terminated,
        OBS,
        ACT,
        agent_id=agent_id,
        module_id="shared" if agent_id else None,
    )


def _write(path, episodes, overwrite=False, **meta):
    return write_dataset(episodes, path, {"env": "Test-v0", **spaces_metadata(OBS, ACT), **meta}, overwrite)


def test_round_trip_keeps_every_field(tmp_path):
    episodes = [_episode(4, seed=1), _episode(3, terminated=False, agent_id="2", seed=2)]
    _write(tmp_path / "ds", episodes)
    back = read_episodes(tmp_path / "ds")
    assert [e.id_ for e in back] == [e.id_ for e in episodes]
    for a, b in zip(episodes, back):
        np.testing.assert_array_equal(a.get_observations(), b.get_observations())
        np.testing.assert_array_equal(a.get_actions(), b.get_actions())
        np.testing.assert_array_equal(a.get_rewards(), b.get_rewards())
        assert (a.is_terminated, a.is_truncated, a.agent_id, a.module_id) == (
            b.is_terminated,
            b.is_truncated,
            b.agent_id,
            b.module_id,
        )
        assert b.observation_space == OBS and b.action_space == ACT and b.observations.space == OBS
    # return-to-go G_t = sum_{k>=t} r_k of rewards 1..4 -> 10, 9, 7, 4; logp stored per step.
    np.testing.assert_array_equal(back[0].get_extra_model_outputs("return_to_go"), [10, 9, 7, 4])
    np.testing.assert_array_equal(back[0].get_extra_model_outputs("action_logp"), [-0.5] * 4)
    meta = read_metadata(tmp_path / "ds")
    assert (meta["format"], meta["num_episodes"], meta["num_steps"]) == ("rllib_il.episodes/v1", 2, 7)
    check_spaces(meta, OBS, ACT, where="test")


def test_resolve_input_files_variants(tmp_path):
    _write(tmp_path / "a", [_episode(2)])
    _write(tmp_path / "b", [_episode(2), _episode(3)])
    a_file = tmp_path / "a" / "episodes-00000.parquet"
    b_file = tmp_path / "b" / "episodes-00000.parquet"
    assert resolve_input_files(tmp_path / "a") == [a_file]
    assert resolve_input_files(str(a_file)) == [a_file]
    assert resolve_input_files(str(tmp_path / "*")) == [a_file, b_file]  # dirs inside a glob, json skipped
    assert resolve_input_files(str(tmp_path / "*" / "*.parquet")) == [a_file, b_file]
    assert resolve_input_files([tmp_path / "b", str(a_file), str(b_file)]) == [b_file, a_file]
    assert resolve_input_files(tmp_path) == [a_file, b_file]  # recursive, like RLlib's output layout
    assert len(read_episodes([tmp_path / "a", tmp_path / "b"])) == 3
    meta = read_metadata(str(tmp_path / "*"))
    assert (meta["num_episodes"], meta["num_steps"]) == (3, 7)


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda p: p / "missing", "no such file"),
        (lambda p: str(p / "nothing*"), "matches no file"),
        (lambda p: [], "empty list"),
    ],
)
def test_resolve_errors(tmp_path, bad, match):
    with pytest.raises(ConfigError, match=match):
        resolve_input_files(bad(tmp_path))


def test_read_errors_name_the_file(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="empty: no .parquet files"):
        read_episodes(tmp_path / "empty")
    _write(tmp_path / "ds", [_episode(5)])
    data = tmp_path / "ds" / "episodes-00000.parquet"
    data.write_bytes(data.read_bytes()[:-100])  # truncated
    with pytest.raises(ConfigError, match="episodes-00000.parquet: not a readable"):
        read_episodes(tmp_path / "ds")
    (tmp_path / "ds" / "metadata.json").unlink()
    with pytest.raises(ConfigError, match="metadata.json: missing dataset metadata"):
        read_metadata(tmp_path / "ds")


def test_check_spaces_mismatch(tmp_path):
    _write(tmp_path / "ds", [_episode(2)])
    meta = read_metadata(tmp_path / "ds")
    with pytest.raises(ConfigError, match="where-it-is: dataset observation_space"):
        check_spaces(meta, gym.spaces.Box(-1.0, 1.0, (4,), np.float32), ACT, where="where-it-is")
    with pytest.raises(ConfigError, match="action_space"):
        check_spaces(meta, OBS, gym.spaces.Discrete(5), where="x")


def test_mixing_datasets_of_different_envs_is_refused(tmp_path):
    _write(tmp_path / "a", [_episode(2)])
    write_dataset([_episode(2)], tmp_path / "b", {"env": "Other-v0", **spaces_metadata(OBS, ACT)})
    with pytest.raises(ConfigError, match="env differs"):
        read_metadata([tmp_path / "a", tmp_path / "b"])


def test_write_refuses_to_clobber_and_leaves_no_partial_data(tmp_path, monkeypatch):
    _write(tmp_path / "ds", [_episode(2)])
    before = json.loads((tmp_path / "ds" / "metadata.json").read_text())
    with pytest.raises(ConfigError, match="already exists"):
        _write(tmp_path / "ds", [_episode(3)])
    assert json.loads((tmp_path / "ds" / "metadata.json").read_text()) == before
    _write(tmp_path / "ds", [_episode(3)], overwrite=True)
    assert read_metadata(tmp_path / "ds")["num_steps"] == 3

    (tmp_path / "code").mkdir()  # never replace a directory that is not a dataset
    with pytest.raises(ConfigError, match="not a dataset"):
        _write(tmp_path / "code", [_episode(2)], overwrite=True)

    def interrupted(table, path, **kwargs):
        real_write_table(table, path, **kwargs)
        raise KeyboardInterrupt

    from rllib_il.data import writer

    real_write_table = writer.pq.write_table
    monkeypatch.setattr(writer.pq, "write_table", interrupted)
    for out, overwrite in ((tmp_path / "new", False), (tmp_path / "ds", True)):
        with pytest.raises(KeyboardInterrupt):
            _write(out, [_episode(2)], overwrite=overwrite)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["code", "ds"]  # no temp dirs, old ds intact
    assert read_metadata(tmp_path / "ds")["num_steps"] == 3
    monkeypatch.undo()

    def rename_interrupted(src, dst):  # the old dataset is moved aside, then the new one is moved in
        if ".tmp-" in str(src):
            raise KeyboardInterrupt
        real_rename(src, dst)

    real_rename = writer.os.rename
    monkeypatch.setattr(writer.os, "rename", rename_interrupted)
    with pytest.raises(KeyboardInterrupt):
        _write(tmp_path / "ds", [_episode(4)], overwrite=True)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["code", "ds"]
    assert read_metadata(tmp_path / "ds")["num_steps"] == 3

    def another_writer_finishes_first(table, path, **kwargs):
        real_write_table(table, path, **kwargs)
        if not raced:
            raced.append(True)
            _write(tmp_path / "race", [_episode(5)])

    raced = []
    monkeypatch.setattr(writer.pq, "write_table", another_writer_finishes_first)
    with pytest.raises(ConfigError, match="race: already exists"):
        _write(tmp_path / "race", [_episode(2)])
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["code", "ds", "race"]
    assert read_metadata(tmp_path / "race")["num_steps"] == 5


def test_leftovers_of_a_killed_write_are_undone(tmp_path):
    """A writer killed by a signal runs no cleanup: the next write of the same dataset deletes its
    unfinished files and puts back the dataset it was replacing. Kept: a running writer's, another
    host's writer's (a shared file system), other datasets'. One named with this process's pid that
    this process is not writing is an earlier process's (pid 1 in containers)."""
    from rllib_il.data.writer import HOST

    dead = subprocess.Popen([sys.executable, "-c", ""])
    dead.wait()
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        _write(
            tmp_path / f".ds.old-{dead.pid}-{HOST}", [_episode(2)]
        )  # killed between moving ds aside and moving the new one in
        (tmp_path / f".ds.tmp-{dead.pid}-{HOST}-abc").mkdir()  # killed while writing the new one
        (tmp_path / f".ds.tmp-{os.getpid()}-{HOST}-abc").mkdir()  # an earlier process with our pid
        kept = [
            f".ds.tmp-{running.pid}-{HOST}-xyz",
            f".ds.tmp-{dead.pid}-0123abcd-xyz",
            f".ds-x.tmp-{dead.pid}-{HOST}-abc",
            f".ds.x.tmp-{dead.pid}-{HOST}-abc",
        ]
        for name in kept:
            (tmp_path / name).mkdir()
        with pytest.raises(ConfigError, match="already exists"):
            _write(tmp_path / "ds", [_episode(3)])
        assert read_metadata(tmp_path / "ds")["num_steps"] == 2
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ds", *kept])

        _write(tmp_path / f".ds.old-{dead.pid}-{HOST}", [_episode(2)])  # killed after the new one was in place
        _write(tmp_path / "ds", [_episode(3)], overwrite=True)
        assert read_metadata(tmp_path / "ds")["num_steps"] == 3
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ds", *kept])
    finally:
        running.kill()


def test_observation_settings_a_dataset_does_not_store_take_todays_defaults():
    """A dataset stored before `agent_features` existed was recorded without them: it suits the
    default env and is refused, naming the setting, by an env that appends them."""
    old = {
        "data/old": {
            "env": "flatland_sparse",
            "env_config": {"preset": "small_v0"},
            "observation_config": {"tree_depth": 2, "predictor_depth": 30, "observation_radius": 10},
        }
    }
    check_recorded_settings(old, "flatland_sparse", {"preset": "small_v0"}, "input", rewards=True)
    with pytest.raises(
        ConfigError,
        match="input: dataset data/old was recorded with env_config agent_features=False, "
        "the env has agent_features=True",
    ):
        check_recorded_settings(old, "flatland_sparse", {"agent_features": True}, "input", rewards=False)


def test_other_dynamics_give_a_warning_naming_them(caplog):
    """Demonstrations from another Flatland preset train (transfer may be meant), with a warning."""
    from rllib_il.data import settings

    settings._warn_once.cache_clear()  # once per process: forget earlier tests' warnings
    small = {"data/small": {"env": "flatland_sparse", "env_config": {"preset": "small_v0"}}}
    with caplog.at_level(logging.WARNING, logger="rllib_il.data"):
        check_recorded_settings(small, "flatland_sparse", {"preset": "small_v0"}, "input", rewards=True)
        assert caplog.text == ""
        check_recorded_settings(small, "flatland_sparse", {"preset": "small_malfunction_v0"}, "input", rewards=True)
    assert caplog.text.count("input: dataset data/small was recorded with other env dynamics: ") == 1
    assert "malfunction_rate=0.0 (env: 0.005)" in caplog.text and "number_of_agents" not in caplog.text
    # A dataset whose env_config today's presets reject still trains BC (as before dynamics were compared).
    old = {
        "data/old": {
            "env": "flatland_sparse",
            "env_config": {"preset": "small_v0", "max_rails_in_city": 3},
            "observation_config": {
                "tree_depth": 2,
                "predictor_depth": 30,
                "observation_radius": 10,
                "agent_features": False,
            },
        }
    }
    check_recorded_settings(old, "flatland_sparse", {"preset": "small_v0"}, "bc input", rewards=False)
    assert "bc input: dataset data/old: flatland env_config: unknown key 'max_rails_in_city'" in caplog.text
    assert "its env dynamics were not compared" in caplog.text


def test_reward_settings_are_checked_only_for_algorithms_that_learn_from_rewards():
    shaped = {"data/shaped": {"env": "flatland_sparse", "env_config": {"preset": "small_v0", "reward": "shaped"}}}
    check_recorded_settings(shaped, "flatland_sparse", {"preset": "small_v0"}, "input", rewards=False)
    with pytest.raises(
        ConfigError,
        match="input: dataset data/shaped was recorded with env_config reward='shaped', the env has reward='default'",
    ):
        check_recorded_settings(shaped, "flatland_sparse", {"preset": "small_v0"}, "input", rewards=True)
    stored = {
        "data/stored": {
            "env": "flatland_sparse",
            "env_config": {"preset": "gone"},
            "reward_config": {"reward": "default", "timetable": "flatland2"},
        }
    }
    with pytest.raises(ConfigError, match="input: dataset data/stored: flatland env_config: unknown preset 'gone'"):
        check_recorded_settings(stored, "flatland_sparse", {"preset": "small_v0"}, "input", rewards=True)
    stored["data/stored"]["observation_config"] = {
        "tree_depth": 2,
        "predictor_depth": 30,
        "observation_radius": 10,
        "agent_features": False,
    }
    with pytest.raises(
        ConfigError, match="recorded with env_config timetable='flatland2', the env has timetable='flatland3'"
    ):
        check_recorded_settings(stored, "flatland_sparse", {"preset": "small_v0"}, "input", rewards=True)
