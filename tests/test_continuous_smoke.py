"""CI-sized smoke runs of the continuous-action file families (experiments/pendulum) through
train_imitate, each Phase 2 chained to its Phase 1 file as the docs run them: BC with a squashed
Gaussian then SAC from it (the BC policy must be SAC's actor), MARWIL then PPO_IL and mixed MARWIL."""

import json
from pathlib import Path

import numpy as np
import torch
from ray.rllib.core.columns import Columns

from rllib_il.cli.train import main
from rllib_il.core.checkpoints import checkpoint_modules
from rllib_il.experts.checkpoint import load_module

ROOT = Path(__file__).resolve().parents[1]
PENDULUM = ROOT / "experiments/pendulum"


def run(tmp_path, capsys, *files, stop_iters=2):
    """train_imitate on the files (names in experiments/pendulum, or paths)."""
    argv = [a for f in files for a in ("-f", str(PENDULUM / f))]
    out = tmp_path / "out"
    argv += ["--stop-iters", str(stop_iters), "--seeds", "0", "--eval-episodes", "2", "--output-dir", str(out)]
    assert main(argv) == 0
    return out, capsys.readouterr().out


def last_checkpoint(output_dir, experiment) -> Path:
    (trial,) = Path(output_dir, experiment).glob("*/params.json")
    return sorted(c for c in trial.parent.glob("checkpoint_*") if checkpoint_modules(c))[-1]


def test_squashed_bc_then_sac_starts_from_the_bc_actor(ray_session, tmp_path, capsys):
    """SAC's 2 iterations (200 env steps) stay before its first update (1000 steps), so its checkpoint
    must hold the BC policy as its actor: the same means and log-stds on any observation (BC's free
    log-std became the bias of SAC's log-std outputs)."""
    out, printed = run(tmp_path, capsys, "BC_5_episodes.yaml", "sac_from_bc.yaml")
    bc, sac = (load_module(last_checkpoint(out, name)) for name in ("pendulum-bc-5-episodes", "pendulum-sac-from-bc"))
    obs = torch.as_tensor(np.random.default_rng(0).uniform(-1, 1, size=(16, 3)), dtype=torch.float32)
    with torch.no_grad():
        expected, found = (m.forward_inference({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS] for m in (bc, sac))
    assert expected.shape == found.shape == (16, 2)
    np.testing.assert_allclose(found.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert "SAC (seed=0): return" in printed


def test_marwil_then_ppo_il_and_mixed_marwil_with_box_actions(ray_session, tmp_path, capsys):
    # One beta of the grid: without an evaluation, restore_from cannot choose among the grid's trials.
    marwil = tmp_path / "MARWIL.yaml"
    marwil.write_text(
        (PENDULUM / "MARWIL.yaml").read_text().replace("grid_search: [0.0, 0.25, 1.0]", "grid_search: [1.0]")
    )
    out, printed = run(tmp_path, capsys, marwil, "ppo_from_bc.yaml", "MARWIL_mixed.yaml", stop_iters=1)
    (ppo_result,) = Path(out, "pendulum-ppo-from-bc").glob("*/result.json")
    assert json.loads(ppo_result.read_text().splitlines()[-1])["learners"]["default_policy"]["critic_burn_in"] == 1.0
    (mixed_result,) = Path(out, "pendulum-marwil-mixed").glob("*/result.json")
    mixed = json.loads(mixed_result.read_text().splitlines()[-1])
    assert mixed["mixing"]["expert_fraction"] == 0.25
    assert 0.0 < mixed["learners"]["default_policy"]["action_mae"] < 2.0  # Box actions: errors, not accuracy
    assert "PPO_IL (seed=0): return" in printed and "MARWIL_IL (seed=0): return" in printed
