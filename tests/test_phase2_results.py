"""scripts/phase2_results.py on hand-made Tune trial directories: the results JSON's numbers come from the
checkpoints' evaluation.json files and the runs' result.json, mean and sample std over seeds."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [20000, 20099]


def load_script():
    spec = importlib.util.spec_from_file_location("phase2_results", ROOT / "scripts/phase2_results.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def checkpoint(trial: Path, name: str, value: float, in_training: float = 0.0) -> Path:
    """A checkpoint directory with its closing evaluation on the held-out seeds and one on the in-training seeds."""
    path = trial / name
    (path / "learner_group/learner/rl_module/default_policy").mkdir(parents=True)
    (path / "learner_group/learner/rl_module/default_policy/module_state.pkl").write_bytes(b"")
    (path / "evaluation.json").write_text(json.dumps({"seeds": SEEDS, "explore": False, "return_mean": value}))
    other = {"seeds": [10000, 10099], "explore": False, "return_mean": in_training}
    (path / "evaluation_10000-10099.json").write_text(json.dumps(other))
    return path


def trial(runs: Path, seed: int, last: float, curve) -> Path:
    path = runs / f"DQfD_x_{seed}"
    path.mkdir(parents=True)
    (path / "params.json").write_text(json.dumps({"seed": seed, "env": "CartPole-v1"}))
    rows = [
        {
            "training_iteration": i + 1,
            "num_env_steps_sampled_lifetime": 1000 * (i + 1),
            "evaluation": {"num_healthy_workers": 0, "env_runners": {"episode_return_mean": v}},
        }
        for i, v in enumerate(curve)
    ]
    (path / "result.json").write_text("\n".join(json.dumps(r) for r in rows))
    checkpoint(path, "checkpoint_000000", -1.0)
    checkpoint(path, "checkpoint_000001", last)
    return path


def test_results_json_from_the_runs_files(tmp_path):
    runs = tmp_path / "phase2"
    for seed, last, curve in ((0, 250.0, [240, 262, 250]), (1, 270.0, [200, 270]), (2, 260.0, [255, 260])):
        trial(runs, seed, last, curve)
    start = checkpoint(tmp_path / "phase1", "checkpoint_000003", 240.0, in_training=245.0)
    script = load_script()
    argv = ["--name", "x", "--runs", str(runs), "--start", str(start), "--command", "cmd", "--out-dir", str(tmp_path)]
    argv += ["--eval-seed", "20000"]
    assert script.main(argv + ["--gain"]) == 0
    result = json.loads((tmp_path / "results/x.json").read_text())
    assert result["seeds"] == [0, 1, 2] and result["per_seed"] == [10.0, 30.0, 20.0]
    assert result["mean"] == 20.0 and result["std"] == pytest.approx(10.0)
    assert result["last"] == [250.0, 270.0, 260.0] and result["start"] == 240.0
    assert result["start_on_in_training_seeds"] == 245.0
    assert result["best_in_training"] == [262.0, 270.0, 260.0] and result["lowest_in_training"] == [240.0, 200.0, 255.0]
    assert result["episodes"] == 100 and result["eval_seeds"].startswith("20000-20099") and result["command"] == "cmd"
    assert result["env_steps"] == [3000, 2000, 2000]
    assert (tmp_path / "img/x.png").read_bytes()[:4] == b"\x89PNG"


def test_gain_needs_a_start(tmp_path):
    with pytest.raises(SystemExit):
        load_script().main(["--name", "x", "--runs", str(tmp_path), "--command", "c", "--gain"])
