"""CI-sized smoke runs of the LunarLander Phase 2 file families through train_imitate, each chained to
its Phase 1 file as the docs run them, with a budget too short for Phase 1 to evaluate: the handoff
falls back to Phase 1's last checkpoint with one warning line and Phase 2 runs to its end."""

import json
from pathlib import Path

from rllib_il.cli.train import main

ROOT = Path(__file__).resolve().parents[1]
LUNAR = ROOT / "experiments/lunarlander"


def last_result(output_dir, experiment):
    (result,) = Path(output_dir, experiment).glob("*/result.json")
    return json.loads(result.read_text().splitlines()[-1])


def run(tmp_path, capsys, *files):
    argv = [a for f in files for a in ("-f", str(LUNAR / f))]
    out = tmp_path / "out"
    assert main(argv + ["--stop-iters", "2", "--seeds", "0", "--eval-episodes", "2", "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "never reported 'evaluation/env_runners/episode_return_mean' (no evaluation ran)" in printed
    return out, printed


def test_bc_then_ppo_il_with_critic_burn_in(ray_session, tmp_path, capsys):
    out, printed = run(tmp_path, capsys, "MARWIL_bc_3_episodes.yaml", "ppo_from_bc.yaml")
    result = last_result(out, "lunarlander-ppo-from-bc")
    assert result["training_iteration"] == 2
    assert result["learners"]["default_policy"]["critic_burn_in"] == 1.0  # 5 burn-in iterations in the file
    assert "PPO_IL (seed=0): return" in printed


def test_dqfd_pretraining_then_phase2(ray_session, tmp_path, capsys):
    out, printed = run(tmp_path, capsys, "apex_IL.yaml", "dqn_DQfD.yaml")
    result = last_result(out, "lunarlander-dqn-DQfD")
    assert result["training_iteration"] == 2 and result["expert_fraction"] == 0.25
    assert result["env_runners"]["num_env_steps_sampled_lifetime"] >= 2000
    assert "DQfD (seed=0): return" in printed
