"""`python -m rllib_il.cli.plot DIR [DIR ...] --metric KEY [--metric KEY] [--reference LABEL=VALUE] -o curves.png`

Learning curves of several runs on one PNG, e.g. from scratch vs pre-trained, or imitation vs mixed.
Each DIR is a Tune experiment directory (every trial in it is one line) or a single trial directory.
Curves are read from each trial's result.json, which survives resumed runs intact.
"""

import argparse
import sys
from pathlib import Path

from rllib_il.core.errors import ConfigError, cli
from rllib_il.workflow.plots import plot_learning_curves
from rllib_il.workflow.results import load_results, run_label, trial_dirs

DEFAULT_METRICS = ("env_runners/episode_return_mean", "evaluation/env_runners/episode_return_mean")


@cli
def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m rllib_il.cli.plot", description=__doc__.splitlines()[0])
    p.add_argument("dirs", nargs="+", type=Path, help="Tune experiment or trial directories")
    p.add_argument("--metric", action="append", help=f"result key (repeatable; default {DEFAULT_METRICS[0]})")
    p.add_argument("--x", default="training_iteration", help="x axis key (default training_iteration)")
    p.add_argument(
        "--reference",
        action="append",
        default=[],
        metavar="LABEL=VALUE",
        help="a dashed horizontal line on the first metric's panel, e.g. 'Phase 1=249.7' (repeatable)",
    )
    p.add_argument("-o", "--out", type=Path, default=Path("curves.png"), help="PNG to write")
    args = p.parse_args(argv)
    references = {}
    for item in args.reference:
        label, _, value = item.rpartition("=")
        try:
            references[label or "reference"] = float(value)
        except ValueError:
            p.error(f"--reference {item!r}: expected LABEL=NUMBER")
    runs = {}
    for directory in args.dirs:
        for trial in trial_dirs(directory):
            runs[run_label(directory, trial)] = load_results(trial)
    metrics = [[m] for m in args.metric] if args.metric else [list(DEFAULT_METRICS)]
    for candidates in metrics:
        if not any(key in f.columns for f in runs.values() for key in candidates):
            raise ConfigError(f"metric '{candidates[0]}' is in none of the runs' results")
    first = next(k for k in metrics[0] if any(k in f.columns for f in runs.values()))
    lines = [(first, value, label) for label, value in references.items()]
    png = plot_learning_curves(runs, metrics, args.out, x=args.x, references=lines)
    print(f"wrote {png.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
