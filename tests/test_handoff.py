"""Phase 1 -> Phase 2 handoff through `restore_from`: PPO -> PPO (a grid, errors), behaviour cloning ->
PPO on CartPole and on Flatland (module `shared`)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rllib_il.cli.train import main
from rllib_il.core.checkpoints import checkpoint_modules

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


def phase2(restore_from, model=MODEL, env="CartPole-v1", extra="", runners=1, batch=400):
    return f"""
phase2:
  run: PPO
  env: {env}
  restore_from: {restore_from}
  stop: {{training_iteration: 1}}
  checkpoint_config: {{checkpoint_at_end: true}}
  config:
    lr: 0.0
    num_env_runners: {runners}
    train_batch_size_per_learner: {batch}
    minibatch_size: {batch // 2}
    {model}
    {extra}
"""


def train(*args):
    return subprocess.run(
        [sys.executable, str(ROOT / "train_imitate.py"), *args], capture_output=True, text=True, timeout=900
    )


def module_state(checkpoint, module_id="default_policy"):
    from ray.rllib.core.rl_module.rl_module import RLModule

    return RLModule.from_checkpoint(checkpoint_modules(Path(checkpoint))[module_id]).get_state()


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
        ("/no/such/checkpoint", MODEL, "'/no/such/checkpoint' does not exist"),
        ("/tmp", MODEL, "'/tmp' is not an RLlib checkpoint with module weights"),
        ("{experiment: phase1, metric: no/such/metric}", MODEL, "'no/such/metric' is not in the results"),
        (
            "{experiment: phase1, metric: evaluation/env_runners/episode_return_mean}",
            MODEL,
            "was never reported by PPO_CartPole-v1_",
        ),
        ("{experiment: phase1, metric: env_runners/episode_return_mean, trial: {lr: 0.5}}", MODEL, "no trial of"),
        (
            "{experiment: phase1, metric: env_runners/episode_return_mean}",
            "model_config: {fcnet_hiddens: [32]}",
            "does not fit module 'default_policy' of PPO",
        ),
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


def test_phase2_from_a_phase1_that_never_evaluated_starts_from_its_last_checkpoint(runs):
    """A short Phase 1 (no evaluation ran) named by an evaluation metric: one warning line, the last
    checkpoint of the chosen trial, and Phase 2 runs."""
    tmp, _ = runs
    spec = "{experiment: phase1, metric: evaluation/env_runners/episode_return_mean, trial: {lr: 0.0005}}"
    (tmp / "unevaluated.yaml").write_text(phase2(spec).replace("phase2:", "from-unevaluated:"))
    proc = train("-f", str(tmp / "unevaluated.yaml"), "--output-dir", str(tmp / "out"), "--eval-episodes", "1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.search(
        r"warning: PPO_CartPole-v1_\S+ never reported 'evaluation/env_runners/episode_return_mean' "
        r"\(no evaluation ran\): starting from its last checkpoint",
        proc.stdout,
    ), proc.stdout[-3000:]
    chosen = Path(re.search(r"Starting from \S+ checkpoint (\S+)", proc.stdout).group(1))
    assert '"lr": 0.0005' in (chosen.parent / "params.json").read_text()
    assert chosen == max(chosen.parent.glob("checkpoint_*"))


def phase1_bc(env, input, extra=""):
    """Phase 1 behaviour cloning (MARWIL_IL, beta 0) from shipped demonstrations."""
    return f"""
bc:
  run: MARWIL_IL
  env: {env}
  stop: {{training_iteration: 2}}
  checkpoint_config: {{checkpoint_frequency: 1}}
  config:
    input: {input}
    max_episodes: 20
    beta: 0.0
    train_batch_size_per_learner: 256
    dataset_num_iters_per_learner: 2
    evaluation_interval: 1
    evaluation_duration: 1
    evaluation_num_env_runners: 0
    {MODEL}
    {extra}
"""


def holds(ppo, marwil):
    """PPO's weights are MARWIL's, its actor and critic encoders both MARWIL's one shared encoder."""
    name = {k: re.sub(r"^encoder\.(actor|critic)_encoder\.", "encoder.encoder.", k) for k in ppo}
    return set(name.values()) == set(marwil) and all(np.array_equal(ppo[k], marwil[name[k]]) for k in ppo)


def bc_to_ppo(tmp_path, capsys, env, restore_from, module_id, input, extra=""):
    """Runs both phases in one command; returns the printed Phase 1 checkpoint, the other Phase 1
    checkpoint, and the weights of `module_id` in each of them and in Phase 2's checkpoint."""
    file = tmp_path / "bc_to_ppo.yaml"
    file.write_text(phase1_bc(env, input, extra) + phase2(restore_from, MODEL, env, extra, runners=0, batch=200))
    assert main(["-f", str(file), "--output-dir", str(tmp_path / "out")]) == 0
    printed = re.search(r"Starting from MARWIL_IL_\S+ checkpoint (\S+)(.*)", capsys.readouterr().out)
    chosen = Path(printed.group(1))
    [other] = [p for p in chosen.parent.glob("checkpoint_*") if p != chosen]
    [ppo] = (tmp_path / "out" / "phase2").glob("PPO_*/checkpoint_*")
    assert list(checkpoint_modules(ppo)) == [module_id]
    states = [module_state(c, module_id) for c in (chosen, other, ppo)]
    assert any(k.startswith("encoder.critic_encoder.") for k in states[2])  # PPO's own value encoder
    return chosen, printed.group(2), *states


def test_bc_then_ppo_on_cartpole(ray_session, tmp_path, capsys):
    metric = "evaluation/env_runners/episode_return_mean"
    chosen, shown, bc, other, ppo = bc_to_ppo(
        tmp_path,
        capsys,
        "CartPole-v1",
        f"{{experiment: bc, metric: {metric}, mode: max}}",
        "default_policy",
        ROOT / "saved_experiences/cartpole",
    )
    rows = [json.loads(line) for line in (chosen.parent / "result.json").read_text().splitlines()]
    returns = [row["evaluation"]["env_runners"]["episode_return_mean"] for row in rows]
    # checkpoint_00000k was written after iteration k + 1: the printed one has the best return.
    assert shown.startswith(f" ({metric}=") and returns[int(chosen.name[-6:])] == max(returns)
    # Phase 2 trains with lr 0: its weights are exactly the chosen checkpoint's, not the other one's.
    assert holds(ppo, bc) and not holds(ppo, other)


def test_bc_then_ppo_on_flatland(ray_session, tmp_path, capsys):
    """Every agent maps to module `shared` in both phases; without a metric the last checkpoint is taken."""
    # One file of the seven: reading the demonstrations is the slow part of a short Phase 1.
    data = ROOT / "saved_experiences/flatland_small_v0/episodes-00000.parquet"
    chosen, _, bc, other, ppo = bc_to_ppo(
        tmp_path, capsys, "flatland_sparse", "{experiment: bc}", "shared", data, extra="env_config: {preset: small_v0}"
    )
    assert chosen.name == "checkpoint_000001"
    assert holds(ppo, bc) and not holds(ppo, other)


def test_marwil_weights_in_ppo_give_the_same_policy_and_values(tmp_path):
    """MARWIL's one encoder, loaded as both of PPO's (actor and critic) encoders, computes the same functions."""
    import gymnasium as gym
    import torch
    from ray.rllib.core.columns import Columns

    from rllib_il.algorithms.registry import default_config
    from rllib_il.core.checkpoints import MODULES_DIR
    from rllib_il.workflow.handoff import load_checked

    env = gym.make("CartPole-v1")
    marwil, ppo = (
        default_config(run)
        .environment("CartPole-v1")
        .rl_module(model_config={"fcnet_hiddens": [16]})
        .get_multi_rl_module_spec(env=env)
        .build()["default_policy"]
        for run in ("MARWIL_IL", "PPO")
    )
    marwil.save_to_path(tmp_path / MODULES_DIR / "default_policy")
    ppo.set_state(load_checked(tmp_path, {"default_policy": ppo.get_state()}, "PPO")["default_policy"])
    batch = {Columns.OBS: torch.randn(8, 4)}
    for module in (marwil, ppo):
        module.eval()
    assert torch.equal(
        marwil.forward_inference(batch)[Columns.ACTION_DIST_INPUTS],
        ppo.forward_inference(batch)[Columns.ACTION_DIST_INPUTS],
    )
    assert torch.equal(marwil.compute_values(batch), ppo.compute_values(batch))
