"""`python -m rllib_il.cli.convert` on files written by RLlib's own old-stack JsonWriter."""

import json

import gymnasium as gym
import numpy as np
import pytest
from ray.rllib.offline.json_writer import JsonWriter
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

from rllib_il.cli.convert import main as convert_main
from rllib_il.core.errors import ConfigError
from rllib_il.data import read_episodes
from rllib_il.data.legacy import convert
from rllib_il.data.readers import read_metadata


def _cartpole_rows(eps_id, agent_index, seed, length=None):
    """One random CartPole episode as old-stack SampleBatch columns (dones, action_prob)."""
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    cols = {k: [] for k in ("obs", "new_obs", "actions", "rewards", "dones", "t", "action_prob")}
    for t in range(length or 10**6):
        action = int(rng.integers(2))
        new_obs, reward, terminated, truncated, _ = env.step(action)
        for k, v in zip(cols, (obs, new_obs, action, reward, terminated, t, 0.5)):
            cols[k].append(v)
        obs = new_obs
        if terminated:
            break
    n = len(cols["t"])
    return {
        **{k: np.array(v) for k, v in cols.items()},
        "eps_id": np.full(n, eps_id),
        "agent_index": np.full(n, agent_index),
    }


def _batch(cols, start=0, end=None):
    """A SampleBatch of rows start:end with the 2020 `dones` column (SampleBatch.slice cannot keep it)."""
    return SampleBatch({k: v[start:end] for k, v in cols.items()})


def test_single_agent_compressed_columns_split_across_lines(tmp_path):
    first, second = _cartpole_rows(7, 0, seed=1), _cartpole_rows(8, 0, seed=2)
    writer = JsonWriter(str(tmp_path / "json"))  # compresses obs and new_obs by default
    half = len(first["t"]) // 2
    writer.write(_batch(first, half))  # fragments out of order: sorted back by `t`
    writer.write(_batch(first, 0, half))
    writer.write(_batch(second))
    writer.cur_file.close()
    line = json.loads((next((tmp_path / "json").glob("*.json"))).read_text().splitlines()[0])
    assert isinstance(line["obs"], str)  # really compressed

    meta = convert(str(tmp_path / "json"), tmp_path / "out", "CartPole-v1")
    assert meta["num_episodes"] == 2 and meta["num_steps"] == len(first["t"]) + len(second["t"])
    episodes = read_episodes(tmp_path / "out")
    ep = episodes[0]
    np.testing.assert_allclose(ep.get_observations()[:-1], first["obs"], rtol=1e-6)
    np.testing.assert_allclose(ep.get_observations()[-1], first["new_obs"][-1], rtol=1e-6)
    np.testing.assert_array_equal(ep.get_actions(), first["actions"])
    np.testing.assert_allclose(ep.get_extra_model_outputs("action_logp"), np.log(0.5), rtol=1e-6)
    np.testing.assert_allclose(ep.get_extra_model_outputs("return_to_go"), np.arange(len(first["t"]), 0, -1))
    assert ep.is_terminated and not ep.is_truncated
    assert read_metadata(tmp_path / "out")["env"] == "CartPole-v1"


def test_cut_fragment_becomes_truncated(tmp_path):
    writer = JsonWriter(str(tmp_path / "json"), compress_columns=[])
    writer.write(_batch(_cartpole_rows(1, 0, seed=3, length=4)))
    writer.cur_file.close()
    convert(str(tmp_path / "json"), tmp_path / "out", "CartPole-v1")
    (ep,) = read_episodes(tmp_path / "out")
    assert len(ep) == 4 and ep.is_truncated and not ep.is_terminated


def test_multi_agent_batch_with_agent_index(tmp_path):
    """Flatland-style data: a MultiAgentBatch, agents 0 and 3 of one env episode -> two agent episodes."""
    from rllib_il.envs import agent_spaces, make_env

    obs_space, _ = agent_spaces(make_env("flatland_sparse", {"preset": "small_v0"}))
    rng = np.random.default_rng(0)
    parts = []
    for agent_index, n in ((0, 5), (3, 7)):
        obs = rng.uniform(-1, 1, (n + 1,) + obs_space.shape).astype(np.float32)
        parts.append(
            {
                "obs": obs[:-1],
                "new_obs": obs[1:],
                "actions": rng.integers(5, size=n),
                "rewards": -np.ones(n),
                "dones": np.arange(n) == n - 1,
                "eps_id": np.full(n, 42),
                "agent_index": np.full(n, agent_index),
                "action_prob": np.ones(n),
            }
        )
    both = _batch({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
    JsonWriter(str(tmp_path / "json")).write(MultiAgentBatch({"default_policy": both}, 12))

    assert (
        convert_main(
            [
                str(tmp_path / "json" / "*.json"),
                "--env",
                "flatland_sparse",
                "--env-config",
                "small_v0",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    episodes = sorted(read_episodes(tmp_path / "out"), key=lambda e: e.agent_id)
    assert [(e.agent_id, e.module_id, len(e)) for e in episodes] == [("0", "shared", 5), ("3", "shared", 7)]
    assert {e.multi_agent_episode_id for e in episodes} == {"42"}
    np.testing.assert_allclose(episodes[1].get_observations(), parts[1]["obs"].tolist() + [parts[1]["new_obs"][-1]])
    np.testing.assert_allclose(episodes[0].get_extra_model_outputs("action_logp"), 0.0)
    meta = read_metadata(tmp_path / "out")
    assert meta["multi_agent"] and meta["module_id"] == "shared" and meta["num_env_episodes"] == 1


def test_errors(tmp_path, capsys):
    writer = JsonWriter(str(tmp_path / "json"))
    writer.write(_batch(_cartpole_rows(1, 0, seed=3)))
    writer.cur_file.close()
    with pytest.raises(ConfigError, match="obs shape"):
        convert(str(tmp_path / "json"), tmp_path / "out", "LunarLander-v3")
    assert not (tmp_path / "out").exists()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.json").write_text('{"type": "SampleBatch", "obs": "not base64!"}\n')
    with pytest.raises(ConfigError, match="x.json:1"):
        convert(str(tmp_path / "bad"), tmp_path / "out", "CartPole-v1")
    assert convert_main([str(tmp_path / "empty*"), "--env", "CartPole-v1", "--out", str(tmp_path / "o")]) == 2
    assert "error: input" in capsys.readouterr().err
