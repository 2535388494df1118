"""`python -m rllib_il.cli.plot DIR [DIR ...] --metric KEY [--metric KEY] -o curves.png`

Learning curves of several runs on one PNG, e.g. from scratch vs pre-trained, or imitation vs mixed.
Each DIR is a Tune experiment directory (every trial in it is one line) or a single trial directory.
Curves are read from each trial's result.json, which survives resumed runs intact.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import pandas as pd

from rllib_il.core.errors import ConfigError, cli
from rllib_il.workflow.plots import plot_learning_curves

EVALUATION_RAN = "evaluation/num_healthy_workers"  # present only on rows whose iteration evaluated
DEFAULT_METRICS = ("env_runners/episode_return_mean", "evaluation/env_runners/episode_return_mean")


def trial_dirs(directory: Path):
    if (directory / "result.json").is_file():
        return [directory]
    trials = sorted(p.parent for p in directory.glob("*/result.json"))
    if not trials:
        raise ConfigError(f"{directory}: no Tune trial results (result.json) found")
    return trials


def load_results(trial_dir: Path) -> pd.DataFrame:
    """One row per reported iteration, nested metrics flattened to 'a/b/c' columns; evaluation
    metrics only on the iterations that ran an evaluation (`without_repeated_evaluations`)."""
    rows = [json.loads(line) for line in (trial_dir / "result.json").read_text().splitlines() if line.strip()]
    frame = pd.json_normalize(rows, sep="/")
    return without_repeated_evaluations(frame.drop_duplicates("training_iteration", keep="last")) if rows else frame


def without_repeated_evaluations(frame: pd.DataFrame) -> pd.DataFrame:
    """RLlib reports the last evaluation's metrics again on the next iteration when that iteration
    ran none. Only an evaluation that ran adds `evaluation/num_healthy_workers` (set in
    `Algorithm._run_one_evaluation`, ray/rllib/algorithms/algorithm.py); on the other rows the
    evaluation columns become NaN, so a curve has one point per evaluation."""
    if EVALUATION_RAN not in frame.columns:
        return frame
    columns = [c for c in frame.columns if c.startswith("evaluation/")]
    frame = frame.copy()
    frame.loc[frame[EVALUATION_RAN].isna(), columns] = float("nan")
    return frame


def last_values(frame: pd.DataFrame) -> dict:
    """Each column's last measured value: evaluation metrics exist only on evaluation iterations
    (RLlib reports NaN or nothing in between), so the last row alone would often lack them."""
    return frame.ffill().iloc[-1].to_dict() if len(frame) else {}


def run_label(directory: Path, trial: Path) -> str:
    """'<experiment> <grid params>' from Tune's trial directory name
    `<trainable>_<env>_<id>_<index>[_<params>]_<date>`, else the experiment and trial id."""
    found = re.search(r"_([0-9a-f]{5}_\d{5})_\d+(?:_(.+?))?_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d$", trial.name)
    if not found:
        return f"{directory.name}/{trial.name[:40]}"
    return f"{directory.name} {found.group(2) or found.group(1)}"


@cli
def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m rllib_il.cli.plot", description=__doc__.splitlines()[0])
    p.add_argument("dirs", nargs="+", type=Path, help="Tune experiment or trial directories")
    p.add_argument("--metric", action="append", help=f"result key (repeatable; default {DEFAULT_METRICS[0]})")
    p.add_argument("--x", default="training_iteration", help="x axis key (default training_iteration)")
    p.add_argument("-o", "--out", type=Path, default=Path("curves.png"), help="PNG to write")
    args = p.parse_args(argv)
    runs = {}
    for directory in args.dirs:
        for trial in trial_dirs(directory):
            runs[run_label(directory, trial)] = load_results(trial)
    metrics = [[m] for m in args.metric] if args.metric else [list(DEFAULT_METRICS)]
    for candidates in metrics:
        if not any(key in f.columns for f in runs.values() for key in candidates):
            raise ConfigError(f"metric '{candidates[0]}' is in none of the runs' results")
    png = plot_learning_curves(runs, metrics, args.out, x=args.x)
    print(f"wrote {png.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
