"""Damaged demonstrations stop `train_imitate.py` before Ray starts, with one line naming the file.

Each case is a CartPole-v1 experiment whose dataset (`input` of MARWIL_IL, `expert_data` of DQfD /
APEX_DQfD) is damaged in one way: a truncated, non-parquet or empty file, a dataset or a single file from
another env (LunarLander), an empty directory, metadata without parquet files or without spaces,
an extra file the metadata does not count.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rllib_il.cli.train import main

ROOT = Path(__file__).resolve().parents[1]
CARTPOLE = ROOT / "saved_experiences/cartpole"
LUNAR = ROOT / "saved_experiences/lunarlander"
EPISODES = "episodes-00000.parquet"
RUNS = {"MARWIL_IL": "input", "DQfD": "expert_data", "APEX_DQfD": "expert_data"}


def _copy(base: Path, name: str) -> Path:
    out = base / name
    shutil.copytree(CARTPOLE, out)
    return out


def _truncated(base):
    d = _copy(base, "truncated")
    data = d / EPISODES
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    return d, data


def _not_parquet(base):
    d = _copy(base, "not_parquet")
    (d / EPISODES).write_text("episode 1: left, left, right\n")
    return d, d / EPISODES


def _no_episodes(base):
    d = _copy(base, "no_episodes")
    pq.write_table(pa.table({"item": pa.array([], pa.binary())}), d / EPISODES)
    return d, d / EPISODES


def _other_env(base):
    return LUNAR, LUNAR


def _file_from_other_env(base):
    d = _copy(base, "foreign_file")
    shutil.copy(LUNAR / EPISODES, d / "episodes-00001.parquet")
    return d, d / "episodes-00001.parquet"


def _uncounted_file(base):
    d = _copy(base, "uncounted_file")
    shutil.copy(d / EPISODES, d / "episodes-00001.parquet")  # metadata.json still says 50 episodes
    return d, d


def _empty_dir(base):
    (base / "empty").mkdir()
    return base / "empty", base / "empty"


def _metadata_only(base):
    (base / "metadata_only").mkdir()
    shutil.copy(CARTPOLE / "metadata.json", base / "metadata_only")
    return base / "metadata_only", base / "metadata_only"


def _metadata_without_spaces(base):
    d = _copy(base, "no_spaces")
    meta = json.loads((d / "metadata.json").read_text())
    del meta["observation_space"], meta["action_space"]
    (d / "metadata.json").write_text(json.dumps(meta))
    return d, d / "metadata.json"


CASES = {
    f.__name__.lstrip("_"): f
    for f in (
        _truncated,
        _not_parquet,
        _no_episodes,
        _other_env,
        _file_from_other_env,
        _uncounted_file,
        _empty_dir,
        _metadata_only,
        _metadata_without_spaces,
    )
}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """case -> (dataset path for the experiment file, path the error must name)."""
    base = tmp_path_factory.mktemp("damaged")
    return {name: make(base) for name, make in CASES.items()}


def experiment_file(tmp_path, run, dataset) -> str:
    path = tmp_path / f"{run}.yaml"
    path.write_text(f"damaged:\n  run: {run}\n  env: CartPole-v1\n  config:\n    {RUNS[run]}: {dataset}\n")
    return str(path)


@pytest.mark.parametrize("run", sorted(RUNS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_dataset_is_named_before_training(case, run, datasets, tmp_path, capsys, monkeypatch):
    def no_ray(*args, **kwargs):
        raise AssertionError("damaged data must be refused before Ray starts")

    monkeypatch.setattr("rllib_il.cli.train.init_ray", no_ray)
    monkeypatch.setattr("rllib_il.cli.train.run_experiment", no_ray)
    dataset, named = datasets[case]
    out_dir = tmp_path / "results"
    assert main(["-f", experiment_file(tmp_path, run, dataset), "--output-dir", str(out_dir)]) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert f"{named}:" in errors[0] or f"{named} " in errors[0], errors[0]
    assert not out_dir.exists()


def test_train_imitate_script_exits_2_on_a_truncated_file(datasets, tmp_path):
    """The real CLI process, end to end: exit code 2, the file named, no results directory."""
    dataset, named = datasets["truncated"]
    out_dir = tmp_path / "results"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "train_imitate.py"),
            "-f",
            experiment_file(tmp_path, "APEX_DQfD", dataset),
            "--output-dir",
            str(out_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(errors) == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"{named}:" in errors[0], errors[0]
    assert not out_dir.exists()
