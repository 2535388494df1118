"""The README's main command, as a new user runs it: it trains, ends with a final evaluation whose
episode count and seeds are printed, and its output holds no traceback. A second run into the same
output directory is refused before anything is replaced."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_main_file() -> str:
    """The experiment file of the README's main command (the first `train_imitate.py -f` line)."""
    match = re.search(r"\.venv/bin/python train_imitate\.py -f (\S+)", (ROOT / "README.md").read_text())
    return match.group(1)


def train(*args):
    return subprocess.run(
        [sys.executable, str(ROOT / "train_imitate.py"), *args], cwd=ROOT, capture_output=True, text=True, timeout=1800
    )


@pytest.fixture(scope="module")
def main_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("main") / "results"
    proc = train("-f", readme_main_file(), "--output-dir", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, proc


def test_main_command_ends_with_a_final_evaluation(main_run):
    out, proc = main_run
    lines = re.findall(
        r"MARWIL_IL \(beta=(\d)\): (\d+\.\d) % trains arrived \(deadlocked [\d.]+ %, never departed [\d.]+ %, "
        r"running late [\d.]+ %\), return \S+ ± \S+, "
        r"50 episodes, seeds 10000-10049",
        proc.stdout,
    )
    assert sorted(beta for beta, _ in lines) == ["0", "1"], proc.stdout[-3000:]
    assert all(0.0 <= float(pct) <= 100.0 for _, pct in lines)
    [exp_dir] = out.iterdir()
    assert len(list(exp_dir.glob("*/checkpoint_*/evaluation.json"))) == 2
    assert f"Learning curves: {exp_dir / 'learning_curves.png'}" in proc.stdout
    assert f"TensorBoard: tensorboard --logdir {exp_dir}" in proc.stdout


def test_main_command_prints_no_traceback_and_no_known_noise(main_run):
    _, proc = main_run
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output[-5000:]
    for noise in ("on the new API stack!", "RLModuleConfig object", "Install gputil", "Overriding environment"):
        assert noise not in output, noise


def test_a_second_run_into_the_same_output_dir_is_refused(main_run):
    out, _ = main_run
    [exp_dir] = out.iterdir()
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    proc = train("-f", readme_main_file(), "--output-dir", str(out))
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()
    assert line == (
        f"error: {exp_dir}: experiment '{exp_dir.name}' has run there before; pass --resume to "
        "continue it, --overwrite to replace it, or another --output-dir"
    )
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def evaluate(*args):
    return subprocess.run(
        [sys.executable, "-m", "rllib_il.cli.evaluate", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_evaluate_takes_a_trial_directory_to_its_last_checkpoint(main_run, tmp_path):
    out, _ = main_run
    [exp_dir] = out.iterdir()
    trial = sorted(exp_dir.glob("MARWIL_IL_*"))[0]
    last = max(trial.glob("checkpoint_*"))
    proc = evaluate("--checkpoint", trial, "--episodes", 2, "--json", tmp_path / "e.json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"Evaluating the trial's last checkpoint: {last}" in proc.stdout
    assert json.loads((tmp_path / "e.json").read_text())["checkpoint"] == str(last)
    several = evaluate("--checkpoint", exp_dir, "--episodes", 2)
    assert several.returncode == 2
    [line] = several.stderr.strip().splitlines()
    assert line.startswith(f"error: --checkpoint {exp_dir}: 2 trials (") and "pass one trial directory" in line
