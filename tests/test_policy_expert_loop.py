"""The expert-from-a-trained-policy loop on a tiny budget, exactly as docs/workflows.md shows it:
train PPO on CartPole -> record demonstrations with that checkpoint as the expert -> BC on them
-> evaluate the BC checkpoint. Each step is the user's command line.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BC_FROM_DEMOS = """
cartpole-bc-from-ppo:
  run: MARWIL_IL
  env: CartPole-v1
  stop: {{training_iteration: 2}}
  checkpoint_config: {{checkpoint_at_end: true}}
  config:
    input: {demos}
    beta: 0.0
    train_batch_size_per_learner: 128
    dataset_num_iters_per_learner: 5
    validation_fraction: 0.0
    model_config: {{fcnet_hiddens: [32]}}
"""


def cli(*args, cwd=ROOT):
    proc = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=900, cwd=cwd)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_ppo_checkpoint_as_expert_then_bc_then_evaluate(tmp_path):
    out = tmp_path / "results"
    cli("train_imitate.py", "-f", "experiments/cartpole/ppo.yaml", "--stop-iters", "1", "--output-dir", out)
    [ppo_checkpoint] = out.glob("cartpole-ppo/PPO_*/checkpoint_*")

    demos = tmp_path / "cartpole_ppo_demos"
    cli(
        "-m",
        "rllib_il.cli.record",
        "--env",
        "CartPole-v1",
        "--expert",
        "checkpoint",
        "--checkpoint",
        ppo_checkpoint,
        "--episodes",
        "3",
        "--out",
        demos,
        "--no-progress",
    )
    metadata = json.loads((demos / "metadata.json").read_text())
    assert metadata["expert"] == "checkpoint" and metadata["statistics"]["episodes"] == 3

    bc_file = tmp_path / "bc.yaml"
    bc_file.write_text(BC_FROM_DEMOS.format(demos=demos))
    cli("train_imitate.py", "-f", bc_file, "--output-dir", out)
    [bc_checkpoint] = out.glob("cartpole-bc-from-ppo/MARWIL_IL_*/checkpoint_*")

    cli(
        "-m",
        "rllib_il.cli.evaluate",
        "--checkpoint",
        bc_checkpoint,
        "--episodes",
        "3",
        "--json",
        tmp_path / "eval.json",
    )
    evaluation = json.loads((tmp_path / "eval.json").read_text())
    assert evaluation["env"] == "CartPole-v1" and evaluation["episodes"] == 3
    assert evaluation["return_min"] <= evaluation["return_mean"] <= evaluation["return_max"]
    assert evaluation["return_min"] >= 1  # every CartPole episode lasts at least one step
