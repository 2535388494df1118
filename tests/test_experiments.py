"""Experiment files: validation of good and bad files, grid expansion, flag overrides, dry-run."""

import subprocess
import sys
from pathlib import Path

import pytest

from rllib_il.cli.train import main
from rllib_il.workflow.experiments import load_file
from rllib_il.workflow.trials import load_all, param_space

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT_FILES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "experiments").rglob("*.yaml"))

GOOD = """
cartpole-ppo:
  run: PPO
  env: CartPole-v1
  stop: {training_iteration: 3}
  checkpoint_config: {checkpoint_frequency: 1, checkpoint_at_end: true, num_to_keep: 2}
  config:
    lr: {grid_search: [0.001, 0.0001]}
    gamma: {grid_search: [0.9, 0.99, 0.999]}
    model_config: {fcnet_hiddens: [32, 32]}
"""


def write(tmp_path, text, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_grid_search_expands_to_the_product_of_all_grids(tmp_path):
    [exp] = load_all([write(tmp_path, GOOD)])
    assert len(exp.trials) == 6
    assert {(t["params"]["lr"], t["params"]["gamma"]) for t in exp.trials} == {
        (lr, g) for lr in (0.001, 0.0001) for g in (0.9, 0.99, 0.999)
    }
    # Resolved configs carry the grid values and the model config under RLlib's dict key.
    assert all(t["config"]["_model_config"] == {"fcnet_hiddens": [32, 32]} for t in exp.trials)


def test_grid_inside_nested_dict(tmp_path):
    text = GOOD.replace("lr: {grid_search: [0.001, 0.0001]}", "env_config: {a: {grid_search: [1, 2]}}")
    [exp] = load_all([write(tmp_path, text)])
    assert sorted(t["params"]["env_config/a"] for t in exp.trials if t["params"]["gamma"] == 0.9) == [1, 2]


def test_flag_overrides(tmp_path):
    [exp] = load_all([write(tmp_path, GOOD)], num_env_runners=3, stop_iters=1, stop_timesteps=500)
    assert exp.stop == {"training_iteration": 1, "num_env_steps_sampled_lifetime": 500}
    assert all(t["config"]["num_env_runners"] == 3 for t in exp.trials)


def test_seeds_flag_repeats_every_trial_per_seed(tmp_path):
    [exp] = load_all([write(tmp_path, GOOD.replace("    lr:", "    seed: 7\n    lr:"))], seeds=[0, 1, 2])
    assert len(exp.trials) == 2 * 3 * 3  # lr x gamma x seeds
    assert sorted({t["config"]["seed"] for t in exp.trials}) == [0, 1, 2]


def test_several_experiments_and_files_keep_their_order(tmp_path):
    two = GOOD + GOOD.replace("cartpole-ppo:", "second:")
    experiments = load_all(
        [write(tmp_path, two, "a.yaml"), write(tmp_path, GOOD.replace("cartpole-ppo", "third"), "b.yaml")]
    )
    assert [e.name for e in experiments] == ["cartpole-ppo", "second", "third"]


def test_multi_agent_env_is_wired_to_the_shared_module(tmp_path):
    text = "fl:\n  run: PPO\n  env: flatland_sparse\n  config: {env_config: {preset: small_v0}}\n"
    [exp] = load_file(write(tmp_path, text))
    space = param_space(exp)
    assert space["policies"] == {"shared"}
    assert space["policy_mapping_fn"]("0", None) == "shared"
    assert space["callbacks"] == "rllib_il.envs.flatland.callbacks.FlatlandMetricsCallback"


BAD = {
    "unknown top-level key": (
        "chekpoint_config: {}",
        "unknown key 'chekpoint_config' (did you mean 'checkpoint_config'?)",
    ),
    "unknown run": ("run: MARWILL", "unknown algorithm 'MARWILL' (did you mean 'MARWIL'?)"),
    "unknown env": ("env: CartPol-v1", "unknown env 'CartPol-v1'"),
    "config typo": ("config: {lrr: 0.1}", "'lrr' is not a setting of PPOConfig (did you mean 'lr'?)"),
    "model_config typo": ("config: {model_config: {fcnet_hidens: [8]}}", "(did you mean 'fcnet_hiddens'?)"),
    "old stack model key": ("config: {model: {fcnet_hiddens: [8]}}", "use model_config"),
    "bad grid": ("config: {lr: {grid_search: []}}", "grid_search needs a non-empty list"),
    "stop not a number": ("stop: {training_iteration: soon}", "key 'stop.training_iteration': expected a number"),
    "checkpoint key": ("checkpoint_config: {keep: 3}", "checkpoint_config.keep': unknown key"),
    "invalid value": ("config: {train_batch_size_per_learner: 10, minibatch_size: 100}", "invalid config"),
    "fixed-seed evaluation without interval": (
        "fixed_seed_evaluation: {episodes: 100}",
        "fixed_seed_evaluation': needs config.evaluation_interval",
    ),
    "fixed-seed evaluation bad episodes": (
        "fixed_seed_evaluation: {episodes: 0}",
        "fixed_seed_evaluation.episodes': expected an integer >= 1, got 0",
    ),
    "fixed-seed evaluation unknown key": (
        "fixed_seed_evaluation: {episodes: 5, seeds: 3}",
        "fixed_seed_evaluation.seeds': unknown key (did you mean 'seed'?)",
    ),
    "fixed-seed evaluation not a mapping": (
        "fixed_seed_evaluation: 100",
        "fixed_seed_evaluation': expected a mapping {episodes: N, seed: S}, got 100",
    ),
}


def test_fixed_seed_evaluation_sets_rllibs_custom_evaluation_function(tmp_path):
    text = GOOD + "  fixed_seed_evaluation: {episodes: 7, seed: 300}\n"
    text = text.replace("    model_config:", "    evaluation_interval: 2\n    model_config:")
    [exp] = load_all([write(tmp_path, text)])
    function = param_space(exp)["custom_evaluation_function"]
    assert function.keywords == {"seeds": list(range(300, 307))}
    assert all(t["config"]["custom_evaluation_function"] is not None for t in exp.trials)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_give_one_line_error_and_exit_2(tmp_path, capsys, case):
    line, expected = BAD[case]
    body = {"run": "run: PPO", "env": "env: CartPole-v1"}
    key = line.split(":")[0]
    lines = [v for k, v in body.items() if k != key] + [line]
    path = write(tmp_path, "my-exp:\n" + "".join(f"  {entry}\n" for entry in lines))
    out_dir = tmp_path / "out"
    assert main(["-f", path, "--output-dir", str(out_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"error: {path}: experiment 'my-exp'"), err
    assert expected in err, err
    assert not out_dir.exists()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: [1, 2\n", "malformed YAML at line"),
        ("- just\n- a list\n", "expected a mapping of experiment names"),
        ("exp: 3\n", "experiment 'exp': expected a mapping"),
        ("exp: {env: CartPole-v1}\n", "missing key 'run'"),
    ],
)
def test_malformed_files(tmp_path, capsys, text, expected):
    path = write(tmp_path, text)
    assert main(["-f", path, "--dry-run"]) == 2
    assert expected in capsys.readouterr().err


def test_missing_file(capsys):
    assert main(["-f", "nope/missing.yaml", "--dry-run"]) == 2
    assert "error: nope/missing.yaml: no such experiment file" in capsys.readouterr().err


def test_one_bad_file_stops_all_before_anything_runs(tmp_path, capsys):
    good = write(tmp_path, GOOD, "good.yaml")
    bad = write(tmp_path, GOOD.replace("lr:", "lrr:"), "bad.yaml")
    assert main(["-f", good, "-f", bad, "--output-dir", str(tmp_path / "out")]) == 2
    assert "bad.yaml" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_dry_run_prints_trials_without_starting_ray(tmp_path, capsys, monkeypatch):
    def no_ray(*args, **kwargs):
        raise AssertionError("--dry-run must not start Ray")

    monkeypatch.setattr("rllib_il.cli.train.init_ray", no_ray)
    monkeypatch.setattr("rllib_il.cli.train.run_experiment", no_ray)
    assert main(["-f", write(tmp_path, GOOD), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "gamma=0.99, lr=0.001" in out and "training_iteration=3" in out


def phase1_files(file: str) -> list:
    """The shipped files defining the experiments `file`'s restore_from names (a Phase 2 runs after them)."""
    import yaml

    defined = {name: f for f in EXPERIMENT_FILES for name in yaml.safe_load((ROOT / f).read_text())}
    sources = [
        spec["restore_from"]["experiment"]
        for spec in yaml.safe_load((ROOT / file).read_text()).values()
        if isinstance(spec.get("restore_from"), dict)
    ]
    return sorted({defined[name] for name in sources} - {file})


@pytest.mark.parametrize("file", EXPERIMENT_FILES)
def test_every_shipped_experiment_file_validates(file, capsys, monkeypatch, tmp_path):
    """Alone, or after the Phase 1 files it restores from, as its comment says to run it."""
    monkeypatch.chdir(ROOT)
    files = [arg for f in phase1_files(file) + [file] for arg in ("-f", f)]
    assert main([*files, "--dry-run", "--output-dir", str(tmp_path)]) == 0, capsys.readouterr().err


def test_dry_run_refuses_a_restore_from_no_experiment_provides(tmp_path, capsys, monkeypatch):
    """A Phase 2 file alone, in a fresh output dir: its Phase 1 neither runs before it nor exists."""
    monkeypatch.chdir(ROOT)
    file = "experiments/cartpole/apex_DQfD.yaml"
    assert main(["-f", file, "--dry-run", "--output-dir", str(tmp_path)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        f"error: {file}: experiment 'cartpole-apex-DQfD', key 'restore_from.experiment': "
        "'cartpole-apex-IL' is neither an earlier experiment of this run"
    ), line
    typo = write(
        tmp_path, (ROOT / file).read_text().replace("experiment: cartpole-apex-IL", "experiment: cartpole-apex-ILL")
    )
    assert (
        main(["-f", "experiments/cartpole/apex_IL.yaml", "-f", typo, "--dry-run", "--output-dir", str(tmp_path)]) == 2
    )
    assert "(did you mean 'cartpole-apex-IL'?)" in capsys.readouterr().err


def test_ppo_smoke_run_through_train_imitate(tmp_path):
    """A real Tune run of a built-in RLlib algorithm: 1 iteration, checkpoint and plot written."""
    out = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train_imitate.py"),
            "-f",
            str(ROOT / "experiments/cartpole/ppo.yaml"),
            "--stop-iters",
            "1",
            "--output-dir",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert list((out / "cartpole-ppo").glob("PPO_*/checkpoint_*")), proc.stdout[-2000:]
    assert (out / "cartpole-ppo" / "learning_curves.png").stat().st_size > 0
    assert list((out / "cartpole-ppo").glob("PPO_*/events.out.tfevents.*")), "no TensorBoard log"
    assert "return" in proc.stdout and "cartpole-ppo: results in" in proc.stdout


def test_dataset_paths_become_absolute(tmp_path, monkeypatch):
    """Tune runs trials in their own directories: relative dataset paths must not break there."""
    monkeypatch.chdir(ROOT)
    text = "exp:\n  run: DQfD\n  env: CartPole-v1\n  config: {expert_data: saved_experiences/cartpole}\n"
    [exp] = load_file(write(tmp_path, text))
    assert param_space(exp)["expert_data"] == str(ROOT / "saved_experiences/cartpole")


def test_demonstrations_recorded_with_other_observation_settings_exit_2(tmp_path, capsys):
    """The shipped Flatland set has observation_radius 10; radius 2 keeps the spaces, changes the meaning."""
    text = (
        "fl:\n  run: MARWIL_IL\n  env: flatland_sparse\n  config:\n"
        f"    env_config: {{preset: small_v0, observation_radius: 2}}\n    input: {ROOT}/saved_experiences/flatland_small_v0\n"
    )
    out_dir = tmp_path / "out"
    assert main(["-f", write(tmp_path, text), "--output-dir", str(out_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "observation_radius=10, the env has observation_radius=2" in err, err
    assert not out_dir.exists()
