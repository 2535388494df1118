"""Smoke runs of the shipped DQfD experiment files (CartPole twins) through train_imitate:
Phase 1 (apex_IL) then Phase 2 (apex_DQfD), two iterations each."""

import json
from pathlib import Path

import pytest

from rllib_il.cli.train import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cartpole_data(tmp_path_factory):
    from rllib_il.rollout.recording import record_dataset

    out = tmp_path_factory.mktemp("data") / "cartpole"
    record_dataset("CartPole-v1", "cartpole", 3, out, progress=False)
    return out


def local_copy(name, data, tmp_path, handoff=True):
    """The shipped file with expert_data pointing at a freshly recorded dataset, made small and fast."""
    text = (ROOT / "experiments/cartpole" / name).read_text()
    if not handoff:
        text = "\n".join(
            line
            for line in text.splitlines()
            if not line.startswith(("  restore_from", "    experiment:", "    metric:", "    mode:"))
        )
    for old, new in (
        ("saved_experiences/cartpole", str(data)),
        ("pretrain_updates_per_iteration: 100", "pretrain_updates_per_iteration: 5"),
        ("evaluation_interval: 5", "evaluation_interval: 1"),
        ("evaluation_duration: 5", "evaluation_duration: 1"),
    ):
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def last_result(output_dir, experiment):
    (result,) = Path(output_dir, experiment).glob("*/result.json")
    return json.loads(result.read_text().splitlines()[-1])


@pytest.mark.parametrize("handoff", [False, True])
def test_phase1_then_apex_phase2(ray_session, cartpole_data, tmp_path, handoff):
    files = [
        local_copy("apex_IL.yaml", cartpole_data, tmp_path),
        local_copy("apex_DQfD.yaml", cartpole_data, tmp_path, handoff),
    ]
    out = tmp_path / "results"
    argv = ["-f", files[0], "-f", files[1], "--stop-iters", "2", "--output-dir", str(out)]
    assert main(argv) == 0
    phase1 = last_result(out, "cartpole-apex-IL")
    assert phase1.get("env_runners", {}).get("num_env_steps_sampled_lifetime", 0) == 0
    phase2 = last_result(out, "cartpole-apex-DQfD")
    stats = phase2["learners"]["default_policy"]
    assert phase2["env_runners"]["num_env_steps_sampled_lifetime"] >= 2000
    assert stats["expert_fraction_achieved"] == pytest.approx(0.25, abs=1 / 32)
    assert phase2["env_runners"]["epsilon_runner_2"] == pytest.approx(0.1**8)


def test_bad_expert_data_exits_2_before_training(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    path = local_copy("apex_IL.yaml", tmp_path / "empty", tmp_path)
    assert main(["-f", path, "--output-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "expert_data" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "results").exists()
