"""RLlib's own offline algorithms (`run: BC`, `run: MARWIL`) under train_imitate.py on 2 CPUs: the
experiment layer's Ray Data settings, the refusal when no CPU is left for Ray Data, and a real run."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rllib_il.cli.train import main
from rllib_il.core.errors import ConfigError
from rllib_il.workflow.experiments import load_file
from rllib_il.workflow.trials import param_space
from rllib_il.workflow.tune_run import check_ray_data_cpus

ROOT = Path(__file__).resolve().parents[1]
BC_FILE = ROOT / "experiments/cartpole/rllib_BC.yaml"


def write(tmp_path, run="BC", input_=f"{ROOT}/saved_experiences/cartpole", extra=""):
    """An experiment file; RLlib's offline configs validate only with an evaluation (or explicit
    spaces) and `dataset_num_iters_per_learner`."""
    path = tmp_path / "exp.yaml"
    path.write_text(
        f"exp:\n  run: {run}\n  env: CartPole-v1\n  config:\n    input: {input_}\n"
        f"    evaluation_interval: 1\n    dataset_num_iters_per_learner: 1\n{extra}"
    )
    return str(path)


def experiment(tmp_path, **kwargs):
    [exp] = load_file(write(tmp_path, **kwargs))
    return exp


def test_episode_datasets_are_read_as_episodes_by_rllib(tmp_path):
    space = param_space(experiment(tmp_path))
    assert space["input_read_episodes"] is True
    assert space["map_batches_kwargs"] == {"num_cpus": 0}


def test_values_in_the_file_win(tmp_path):
    extra = "    input_read_episodes: false\n    map_batches_kwargs: {concurrency: 1, num_cpus: 0.5}\n"
    space = param_space(experiment(tmp_path, run="MARWIL", extra=extra))
    assert space["input_read_episodes"] is False
    assert space["map_batches_kwargs"] == {"num_cpus": 0.5, "concurrency": 1}


def test_other_data_and_our_algorithms_are_left_alone(tmp_path):
    column_data = tmp_path / "columns"
    column_data.mkdir()
    (column_data / "part-0.parquet").write_bytes(b"")  # no metadata.json: RLlib's own format
    space = param_space(experiment(tmp_path, input_=column_data))
    assert "input_read_episodes" not in space and space["map_batches_kwargs"] == {"num_cpus": 0}
    ours = param_space(experiment(tmp_path, run="MARWIL_IL"))
    assert "input_read_episodes" not in ours and "map_batches_kwargs" not in ours


@pytest.fixture
def two_cpus(monkeypatch):
    """A Ray with 2 CPUs, as far as the check asks (no Ray started)."""
    monkeypatch.setattr("ray.cluster_resources", lambda: {"CPU": 2.0})
    monkeypatch.setattr("rllib_il.cli.train.init_ray", lambda address: None)


def test_one_bc_trial_leaves_ray_data_a_cpu(tmp_path, two_cpus):
    exp = experiment(tmp_path)
    exp.trials = [{"params": {}, "config": param_space(exp)}]
    check_ray_data_cpus(exp, param_space(exp), max_concurrent_trials=1)


@pytest.mark.parametrize(
    "extra,flags",
    [
        ("    map_batches_kwargs: {concurrency: 1, num_cpus: 1}\n", []),  # the trial's CPU + the actor's: none left
        ("", ["--seeds", "0", "1", "--max-concurrent-trials", "2"]),  # two trials hold both CPUs
    ],
)
def test_no_cpu_left_for_ray_data_exits_2_before_tune(tmp_path, capsys, monkeypatch, two_cpus, extra, flags):
    def no_tune(*args, **kwargs):
        raise AssertionError("Tune started")

    monkeypatch.setattr("ray.tune.Tuner", no_tune)
    assert main(["-f", write(tmp_path, extra=extra), "--output-dir", str(tmp_path / "out"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Ray Data reads need 1 more" in err and "MARWIL_IL" in err, err


def test_check_names_the_experiment(tmp_path, two_cpus):
    exp = experiment(tmp_path, extra="    num_env_runners: 1\n")
    exp.trials = [{"params": {}, "config": param_space(exp)}]
    with pytest.raises(ConfigError, match="experiment 'exp'.*2 of Ray's 2 CPUs"):
        check_ray_data_cpus(exp, param_space(exp), max_concurrent_trials=1)


def test_rllib_bc_trains_10_iterations_through_train_imitate_on_2_cpus(tmp_path):
    """The shipped file, a real Tune run with Ray told it has 2 CPUs (this machine's count): RLlib's
    BC reads the episode dataset through Ray Data beside the trial, evaluates, checkpoints."""
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train_imitate.py"),
            "-f",
            str(BC_FILE),
            "--stop-iters",
            "10",
            "--output-dir",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "RAY_OVERRIDE_RESOURCES": '{"CPU": 2}'},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    [trial] = (out / "cartpole-rllib-bc").glob("BC_*")
    results = [json.loads(line) for line in (trial / "result.json").read_text().splitlines()]
    assert [r["training_iteration"] for r in results] == list(range(1, 11))
    assert results[-1]["learners"]["__all_modules__"]["num_module_steps_trained_lifetime"] == 10 * 50 * 512
    assert results[-1]["evaluation"]["env_runners"]["num_episodes"] == 20
    assert list(trial.glob("checkpoint_*/algorithm_state.pkl")), sorted(p.name for p in trial.iterdir())
