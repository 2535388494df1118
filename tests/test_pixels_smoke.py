"""CI-sized smoke run of the pixel file family (experiments/carracing) through train_imitate: BC on the
shipped CarRacing frames, then PPO_IL from it, with the files' CNN and episodes cut to 40 steps."""

from pathlib import Path

import numpy as np
import torch
import yaml
from ray.rllib.core.columns import Columns

from rllib_il.algorithms.image_observations import ImagePPOTorchRLModule
from rllib_il.cli.train import main
from rllib_il.core.checkpoints import checkpoint_modules
from rllib_il.experts.checkpoint import load_module

ROOT = Path(__file__).resolve().parents[1]
SHORT = {"max_episode_steps": 40}


def small(tmp_path, name: str, **config) -> Path:
    """experiments/carracing/<name> with short episodes and the given config entries."""
    (experiment,) = yaml.safe_load((ROOT / "experiments/carracing" / name).read_text()).items()
    spec = experiment[1]
    spec["config"].update(env_config=SHORT, **config)
    spec["fixed_seed_evaluation"]["episodes"] = 2
    path = tmp_path / name
    path.write_text(yaml.safe_dump({experiment[0]: spec}))
    return path


def last_checkpoint(output_dir, experiment) -> Path:
    (trial,) = Path(output_dir, experiment).glob("*/params.json")
    return sorted(c for c in trial.parent.glob("checkpoint_*") if checkpoint_modules(c))[-1]


def test_bc_from_frames_then_ppo_il(ray_session, tmp_path, capsys):
    bc = small(
        tmp_path,
        "BC.yaml",
        input=str(ROOT / "saved_experiences/carracing"),
        dataset_num_iters_per_learner=2,
        evaluation_interval=1,
    )
    ppo = small(
        tmp_path,
        "ppo_from_bc.yaml",
        critic_burn_in_iterations=1,
        train_batch_size_per_learner=80,
        minibatch_size=40,
        num_epochs=1,
        seed={"grid_search": [0]},
        evaluation_interval=1,
    )
    out = tmp_path / "out"
    argv = ["-f", str(bc), "-f", str(ppo), "--stop-iters", "1", "--eval-episodes", "1", "--output-dir", str(out)]
    argv += ["--seeds", "0"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "MARWIL_IL (seed=0): return" in printed and "PPO_IL (seed=0): return" in printed
    bc_module, ppo_module = (
        load_module(last_checkpoint(out, name)) for name in ("carracing-bc", "carracing-ppo-from-bc")
    )
    assert type(bc_module) is type(ppo_module) is ImagePPOTorchRLModule
    # The PPO_IL trial's one iteration is its critic burn-in: it acts with the BC policy, unchanged.
    frames = torch.as_tensor(np.random.default_rng(0).integers(0, 256, size=(4, 96, 96, 3)), dtype=torch.uint8)
    with torch.no_grad():
        expected, found = (
            m.forward_inference({Columns.OBS: frames})[Columns.ACTION_DIST_INPUTS] for m in (bc_module, ppo_module)
        )
    torch.testing.assert_close(found, expected)
