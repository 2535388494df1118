"""Phase 1 -> Phase 2 handoff through `restore_from` (PPO on CartPole keeps it fast)."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rllib_il.handoff import checkpoint_modules
from rllib_il.train import main

ROOT = Path(__file__).resolve().parents[1]
MODEL = "model_config: {fcnet_hiddens: [16]}"
PHASE1 = f"""
phase1:
  run: PPO
  env: CartPole-v1
  stop: {{training_iteration: 2}}
  checkpoint_config: {{checkpoint_frequency: 1, checkpoint_at_end: true}}
  config:
    lr: {{grid_search: [0.001, 0.0005]}}
    num_env_runners: 0
    train_batch_size_per_learner: 400
    minibatch_size: 200
    {MODEL}
"""


def phase2(restore_from, model=MODEL):
    return f"""
phase2:
  run: PPO
  env: CartPole-v1
  restore_from: {restore_from}
  stop: {{training_iteration: 1}}
  checkpoint_config: {{checkpoint_at_end: true}}
  config:
    lr: 0.0
    num_env_runners: 1
    train_batch_size_per_learner: 400
    minibatch_size: 200
    {model}
"""


def train(*args):
    return subprocess.run([sys.executable, str(ROOT / "train_imitate.py"), *args], capture_output=True, text=True, timeout=900)


def module_state(checkpoint):
    from ray.rllib.core.rl_module.rl_module import RLModule

    return RLModule.from_checkpoint(checkpoint_modules(Path(checkpoint))["default_policy"]).get_state()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Phase 1 (a grid of two trials) then Phase 2 from the lr=0.0005 trial, as two files in one command."""
    tmp = tmp_path_factory.mktemp("handoff")
    (tmp / "phase1.yaml").write_text(PHASE1)
    spec = "{experiment: phase1, metric: env_runners/episode_return_mean, mode: max, trial: {lr: 0.0005}}"
    (tmp / "phase2.yaml").write_text(phase2(spec))
    proc = train("-f", str(tmp / "phase1.yaml"), "-f", str(tmp / "phase2.yaml"), "--output-dir", str(tmp / "out"))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return tmp, proc.stdout


def test_phase2_starts_from_the_chosen_phase1_checkpoint(runs):
    tmp, stdout = runs
    chosen = Path(re.search(r"Starting from \S+ checkpoint (\S+)", stdout).group(1))
    assert '"lr": 0.0005' in (chosen.parent / "params.json").read_text()
    [phase2_checkpoint] = (tmp / "out" / "phase2").glob("PPO_*/checkpoint_*")
    before, after = module_state(chosen), module_state(phase2_checkpoint)
    # Phase 2 trains with lr 0, so its weights must still be exactly the Phase 1 checkpoint's ...
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    # ... and those differ from a fresh module's, so equality is not an accident of seeding.
    [other] = [p for p in (tmp / "out" / "phase1").glob("PPO_*/checkpoint_000000") if p.parent != chosen.parent]
    assert any(not np.array_equal(before[k], module_state(other)[k]) for k in before)


@pytest.mark.parametrize(
    "restore_from, model, expected",
    [
        ("{experiment: nowhere}", MODEL, "'nowhere' is neither an earlier experiment"),
        ("/no/such/checkpoint", MODEL, "is not an RLlib checkpoint"),
        ("{experiment: phase1, metric: no/such/metric}", MODEL, "'no/such/metric' is not in the results"),
        ("{experiment: phase1, metric: env_runners/episode_return_mean, trial: {lr: 0.5}}", MODEL, "no trial of"),
        ("{experiment: phase1, metric: env_runners/episode_return_mean}", "model_config: {fcnet_hiddens: [32]}",
         "does not fit module 'default_policy' of PPO"),
    ],
)
def test_bad_restore_from_fails_before_phase2_trains(runs, restore_from, model, expected, capsys, ray_session):
    tmp, _ = runs
    bad = tmp / "bad.yaml"
    bad.write_text(phase2(restore_from, model).replace("phase2:", "bad-phase2:"))
    assert main(["-f", str(bad), "--output-dir", str(tmp / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and len(err.splitlines()) == 1, err
    assert not (tmp / "out" / "bad-phase2").exists()
