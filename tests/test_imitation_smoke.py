"""Smoke runs of the SQIL, GAIL and DRIL experiment families through train_imitate.py (a real Tune run of one
iteration each): checkpoints written, GAIL's discriminator and DRIL's ensemble inside theirs."""

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "file, name", [("SQIL.yaml", "cartpole-sqil"), ("GAIL.yaml", "cartpole-gail"), ("DRIL.yaml", "cartpole-dril")]
)
def test_one_iteration_through_train_imitate(tmp_path, file, name):
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train_imitate.py"),
            "-f",
            str(ROOT / "experiments" / "cartpole" / file),
            "--stop-iters",
            "1",
            "--eval-episodes",
            "2",
            "--output-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    checkpoints = list((out / name).glob("*/checkpoint_*"))
    assert checkpoints, proc.stdout[-2000:]
    assert "2 episodes" in proc.stdout
    reward_model = {"GAIL.yaml": "discriminator", "DRIL.yaml": "ensemble"}.get(file)
    if reward_model:
        [state_file] = checkpoints[0].glob("learner_group/learner/state.pkl")
        with open(state_file, "rb") as f:
            assert reward_model in pickle.load(f)
