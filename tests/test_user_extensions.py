"""A user's own expert and env, named "module:attr", as docs/recording.md tells a new user to do it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rllib_il.cli.train import main
from rllib_il.experts import make_expert

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "docs" / "recording.md").read_text()


def docs_expert() -> str:
    """The `myexpert.py` of docs/recording.md, as written there."""
    return re.search(r"`myexpert.py`:\n\n```python\n(.*?)```", DOCS, re.S).group(1)


MAKE_ENV = """
import gymnasium as gym


def make_env(env_config):
    return gym.make("CartPole-v1", **env_config)
"""

BC = """
mine-bc:
  run: MARWIL_IL
  env: CartPole-v1
  stop: {{training_iteration: 2}}
  checkpoint_config: {{checkpoint_at_end: true}}
  config:
    input: {data}
    beta: 0
    train_batch_size_per_learner: 256
    dataset_num_iters_per_learner: 5
    model_config: {{fcnet_hiddens: [16]}}
    evaluation_interval: 1
    evaluation_duration: 1
    evaluation_num_env_runners: 0
"""

PPO_ON_MY_ENV = """
mine-ppo:
  run: PPO
  env: myenvs:make_env
  stop: {training_iteration: 1}
  checkpoint_config: {checkpoint_at_end: true}
  config:
    num_env_runners: 1
    train_batch_size_per_learner: 200
    minibatch_size: 100
    num_epochs: 1
    model_config: {fcnet_hiddens: [16]}
"""


def run(tmp_path, *argv):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    return subprocess.run(
        [sys.executable, *map(str, argv)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )


def record(tmp_path, env, expert, episodes, out):
    """`python -m rllib_il.cli.record` in `tmp_path` (user modules there are importable)."""
    return run(
        tmp_path,
        "-m",
        "rllib_il.cli.record",
        "--env",
        env,
        "--expert",
        expert,
        "--episodes",
        episodes,
        "--out",
        out,
        "--no-progress",
    )


def test_record_with_my_expert_then_behaviour_cloning(tmp_path):
    """The docs' steps: write myexpert.py, record 5 episodes with it, clone it with MARWIL_IL beta 0."""
    (tmp_path / "myexpert.py").write_text(docs_expert())
    rec = record(tmp_path, "CartPole-v1", "myexpert:MyExpert", 5, "data/mine")
    assert rec.returncode == 0, rec.stderr[-3000:]
    meta = json.loads((tmp_path / "data" / "mine" / "metadata.json").read_text())
    assert meta["num_episodes"] == 5 and meta["expert"] == "myexpert:MyExpert"
    assert meta["num_steps"] == 5 * 500  # the docs' controller balances every episode to the limit
    (tmp_path / "bc.yaml").write_text(BC.format(data=tmp_path / "data" / "mine"))
    bc = run(tmp_path, ROOT / "train_imitate.py", "-f", "bc.yaml", "--eval-episodes", 2, "--output-dir", "out")
    assert bc.returncode == 0, bc.stdout[-3000:] + bc.stderr[-3000:]
    assert list((tmp_path / "out" / "mine-bc").glob("MARWIL_IL_*/checkpoint_*"))
    assert "MARWIL_IL: return" in bc.stdout and "2 episodes, seeds 10000-10001" in bc.stdout


@pytest.mark.parametrize(
    "expert, expected",
    [
        ("nosuchmodule:X", "expert 'nosuchmodule:X': module 'nosuchmodule' does not import (ModuleNotFoundError"),
        ("json:nosuch", "expert 'json:nosuch': module 'json' has no attribute 'nosuch'"),
        ("json:JSONDecoder", "expert 'json:JSONDecoder': class JSONDecoder has no act / reset methods"),
        ("json:dumps", "expert 'json:dumps' cannot be built for this env with options {}"),
        ("json:", "expert 'json:': expected 'module:attribute'"),
    ],
)
def test_a_bad_expert_is_one_line_and_exit_2(tmp_path, expert, expected):
    proc = record(tmp_path, "CartPole-v1", expert, 1, "data/x")
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("error: " + expected), line
    assert not (tmp_path / "data").exists()


def test_a_factory_returning_no_expert_is_refused(tmp_path, monkeypatch):
    (tmp_path / "factories.py").write_text("def make(env):\n    return 'not an expert'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from rllib_il.core.errors import ConfigError

    with pytest.raises(ConfigError, match="built str, which has no act / reset methods"):
        make_expert("factories:make", env=None)


def test_my_env_in_an_experiment_file(tmp_path, monkeypatch, capsys):
    (tmp_path / "myenvs.py").write_text(MAKE_ENV)
    (tmp_path / "exp.yaml").write_text(PPO_ON_MY_ENV)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["-f", str(tmp_path / "exp.yaml"), "--dry-run"]) == 0, capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text(PPO_ON_MY_ENV.replace("myenvs:make_env", "nosuchmod:make"))
    assert main(["-f", str(bad), "--dry-run"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        f"error: {bad}: experiment 'mine-ppo', key 'env': env 'nosuchmod:make': module 'nosuchmod' does not import"
    ), line


def test_an_env_runner_builds_my_env_and_the_recorder_too(tmp_path):
    """A real run: the remote env runner and the closing evaluation build the env by its name."""
    (tmp_path / "myenvs.py").write_text(MAKE_ENV)
    (tmp_path / "exp.yaml").write_text(PPO_ON_MY_ENV)
    proc = run(tmp_path, ROOT / "train_imitate.py", "-f", "exp.yaml", "--eval-episodes", 1, "--output-dir", "out")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "PPO: return" in proc.stdout
    rec = record(tmp_path, "myenvs:make_env", "random", 2, "data/r")
    assert rec.returncode == 0, rec.stderr[-3000:]
    assert json.loads((tmp_path / "data" / "r" / "metadata.json").read_text())["env"] == "myenvs:make_env"
