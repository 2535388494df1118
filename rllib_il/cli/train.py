"""`python train_imitate.py -f EXPERIMENT.yaml [-f ...]`: run experiment files through Ray Tune.

Every file is validated (keys, grid variants, `AlgorithmConfig.validate()`) before Ray starts; then
the experiments run in order, each as one Tune run under `<output-dir>/<experiment name>/`, with
Tune's progress table, TensorBoard logs, checkpoints and a learning-curve PNG.
"""

import argparse
import os
import shutil
import sys
from pathlib import Path

from rich.table import Table

from rllib_il.core.console import console
from rllib_il.core.constants import DEFAULT_EVAL_SEED
from rllib_il.core.errors import ConfigError, cli
from rllib_il.workflow.summary import summarize
from rllib_il.workflow.trials import load_all
from rllib_il.workflow.tune_run import init_ray, run_experiment


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="train_imitate.py", description=__doc__.splitlines()[0])
    p.add_argument(
        "-f",
        "--file",
        action="append",
        required=True,
        dest="files",
        help="experiment YAML file; repeat to run several files in order",
    )
    p.add_argument(
        "--address",
        default=os.environ.get("RAY_ADDRESS"),
        help="join an existing Ray cluster (default: $RAY_ADDRESS, else start a local Ray)",
    )
    p.add_argument("--num-env-runners", type=int, help="override config.num_env_runners")
    p.add_argument("--stop-iters", type=int, help="override stop.training_iteration")
    p.add_argument("--stop-timesteps", type=int, help="override stop on sampled env steps")
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        metavar="SEED",
        help="run every trial once per seed (a grid over config.seed, replacing the file's seed)",
    )
    p.add_argument("--output-dir", default="results", help="where Tune writes runs (default: ./results)")
    p.add_argument(
        "--max-concurrent-trials",
        type=int,
        help="trials run at once (default: one per 4 CPUs, at least 1; more deadlocks on 2 cores)",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue interrupted experiments from their last checkpoints instead of starting anew",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace earlier runs of the same experiments in --output-dir (default: refuse)",
    )
    p.add_argument(
        "--eval-episodes",
        type=int,
        default=50,
        metavar="N",
        help="at the end, evaluate each trial's last checkpoint greedily on N episodes (default 50; 0 skips)",
    )
    p.add_argument(
        "--eval-seed",
        type=int,
        default=DEFAULT_EVAL_SEED,
        metavar="S",
        help="the final evaluation's episode i uses seed S + i (default 10000)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="validate every file and print the resolved trials without starting Ray"
    )
    args = p.parse_args(argv)
    minimum = {
        "num_env_runners": 0,
        "eval_episodes": 0,
        "stop_iters": 1,
        "stop_timesteps": 1,
        "max_concurrent_trials": 1,
    }
    for flag, least in minimum.items():
        value = getattr(args, flag)
        if value is not None and value < least:
            p.error(f"--{flag.replace('_', '-')} must be >= {least}, got {value}")
    if args.resume and args.overwrite:
        p.error("--resume continues earlier runs and --overwrite replaces them: pass one of them")
    return args


def print_trials(experiments) -> None:
    table = Table(title="Resolved trials")
    for column in ("file", "experiment", "run", "env", "trial", "grid values", "stop"):
        table.add_column(column)
    for exp in experiments:
        for i, trial in enumerate(exp.trials):
            grid = ", ".join(f"{k}={v}" for k, v in trial["params"].items()) or "-"
            stop = ", ".join(f"{k}={v}" for k, v in exp.stop.items()) or "-"
            table.add_row(exp.file, exp.name, exp.run, exp.env, str(i), grid, stop)
    console().print(table)


def check_output_dirs(experiments, output_dir: Path, resume: bool, overwrite: bool) -> set:
    """Names of the experiments that ran into `output_dir` before. Without --resume (continue them)
    or --overwrite (replace them), an earlier run is refused: a new run in its directory would
    replace what --resume restores from and mix its trials with the old ones."""
    earlier = {exp.name for exp in experiments if (output_dir / exp.name).exists()}
    if earlier and not (resume or overwrite):
        name = sorted(earlier)[0]
        raise ConfigError(
            f"{output_dir / name}: experiment '{name}' has run there before; pass --resume to continue it, "
            "--overwrite to replace it, or another --output-dir"
        )
    return earlier


@cli
def main(argv=None) -> int:
    args = parse_args(argv)
    experiments = load_all(
        args.files,
        output_dir=args.output_dir,
        num_env_runners=args.num_env_runners,
        stop_iters=args.stop_iters,
        stop_timesteps=args.stop_timesteps,
        seeds=args.seeds,
    )
    print_trials(experiments)
    if args.dry_run:
        return 0
    output_dir = Path(args.output_dir)
    earlier = check_output_dirs(experiments, output_dir, args.resume, args.overwrite)
    init_ray(args.address)
    ok = True
    for exp in experiments:
        if exp.name in earlier and args.overwrite:
            shutil.rmtree(output_dir / exp.name)
        results, start = run_experiment(exp, output_dir, args.max_concurrent_trials, args.resume)
        ok = summarize(exp, results, output_dir, args.eval_episodes, args.eval_seed, start) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
