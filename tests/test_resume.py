"""--resume continues a killed run from its last checkpoint without losing finished iterations."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

EXPERIMENT = """
resume-me:
  run: PPO
  env: CartPole-v1
  stop: {training_iteration: 20}
  checkpoint_config: {checkpoint_frequency: 1}
  config:
    num_env_runners: 0
    train_batch_size_per_learner: 400
    minibatch_size: 200
    num_epochs: 1
    model_config: {fcnet_hiddens: [16]}
"""


def iterations(exp_dir: Path):
    """Training iterations recorded in the trial's result.json (empty before the first one)."""
    lines = [line for f in exp_dir.glob("PPO_*/result.json") for line in f.read_text().splitlines()]
    return [json.loads(line)["training_iteration"] for line in lines]


def test_resume_after_killed_driver(tmp_path):
    exp_file = tmp_path / "exp.yaml"
    exp_file.write_text(EXPERIMENT)
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "train_imitate.py"), "-f", str(exp_file), "--output-dir", str(out)]
    # Own process group: the local Ray's GCS and raylet die with the driver, as after a crash.
    driver = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not (iterations(out / "resume-me") and list(out.glob("resume-me/PPO_*/checkpoint_000000"))):
        assert driver.poll() is None, "run ended before its first checkpoint"
        assert time.time() < deadline, "no checkpoint within 300 s"
        time.sleep(0.5)
    os.killpg(driver.pid, signal.SIGKILL)
    driver.wait()
    done_before = iterations(out / "resume-me")
    checkpoints_before = sorted(p.name for p in out.glob("resume-me/PPO_*/checkpoint_*"))
    assert done_before and max(done_before) < 20

    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "Resuming resume-me" in resumed.stdout
    done = iterations(out / "resume-me")
    assert done[: len(done_before)] == done_before  # finished iterations kept
    assert done.count(1) == 1, done  # not started again from scratch
    assert max(done) == 20
    checkpoints = sorted(p.name for p in out.glob("resume-me/PPO_*/checkpoint_*"))
    assert set(checkpoints_before) <= set(checkpoints)
