"""--resume continues a killed run from its last checkpoint without losing finished iterations.

The run cannot finish before the kill, however fast the machine: a callback of the test holds
iteration 3 until a gate file exists. The test kills the driver once the callback says it is
holding, then opens the gate and resumes.
"""

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
    callbacks: resume_gate.HoldAtIteration3
    num_env_runners: 0
    train_batch_size_per_learner: 400
    minibatch_size: 200
    num_epochs: 1
    model_config: {fcnet_hiddens: [16]}
"""

# Imported by the Tune trial (a Ray worker) through PYTHONPATH.
GATE_CALLBACK = """
import os
import time
from pathlib import Path

from ray.rllib.callbacks.callbacks import RLlibCallback

GATE = Path(os.environ["RESUME_GATE"])


class HoldAtIteration3(RLlibCallback):
    def on_train_result(self, *, algorithm, result, **kwargs):
        if result["training_iteration"] == 3:
            (GATE.parent / "holding").touch()
            while not GATE.exists():
                time.sleep(0.1)
"""


def iterations(exp_dir: Path):
    """Training iterations recorded in the trial's result.json (empty before the first one)."""
    lines = [line for f in exp_dir.glob("PPO_*/result.json") for line in f.read_text().splitlines()]
    return [json.loads(line)["training_iteration"] for line in lines]


def test_resume_after_killed_driver(tmp_path):
    exp_file = tmp_path / "exp.yaml"
    exp_file.write_text(EXPERIMENT)
    (tmp_path / "resume_gate.py").write_text(GATE_CALLBACK)
    gate = tmp_path / "gate"
    env = {
        **os.environ,
        "RESUME_GATE": str(gate),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
    }
    out = tmp_path / "out"
    cmd = [sys.executable, str(ROOT / "train_imitate.py"), "-f", str(exp_file), "--output-dir", str(out)]
    # Own process group: the local Ray's GCS and raylet die with the driver, as after a crash.
    driver = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.time() + 600  # a bound for a broken run, not a race: the run waits for the gate
        # Held at iteration 3, the run cannot finish; wait until the driver has logged 1 and 2.
        while not ((tmp_path / "holding").exists() and iterations(out / "resume-me") == [1, 2]):
            assert driver.poll() is None, "run ended before iteration 3"
            assert time.time() < deadline, "iterations 1-2 not logged within 600 s"
            time.sleep(0.5)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)
        driver.wait()
    done_before = iterations(out / "resume-me")
    checkpoints_before = sorted(p.name for p in out.glob("resume-me/PPO_*/checkpoint_*"))
    assert done_before == [1, 2]  # iteration 3 was held: never reported
    assert len(checkpoints_before) == 2

    gate.touch()
    resumed = subprocess.run(cmd + ["--resume"], env=env, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "Resuming resume-me" in resumed.stdout
    done = iterations(out / "resume-me")
    assert done[: len(done_before)] == done_before  # finished iterations kept
    assert done.count(1) == 1, done  # not started again from scratch
    assert max(done) == 20
    checkpoints = sorted(p.name for p in out.glob("resume-me/PPO_*/checkpoint_*"))
    assert set(checkpoints_before) <= set(checkpoints)
