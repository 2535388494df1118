"""`python train_imitate.py -f EXPERIMENT.yaml [-f ...]`: run experiment files through Ray Tune.

Every file is validated (keys, grid variants, `AlgorithmConfig.validate()`) before Ray starts; then
the experiments run in order, each as one Tune run under `<output-dir>/<experiment name>/`, with
Tune's progress table, TensorBoard logs, checkpoints and a learning-curve PNG.
"""

import argparse
import math
import numbers
import os
import shutil
import sys
from pathlib import Path

from rllib_il.errors import ConfigError, cli
from rllib_il.logs import RUNTIME_ENV

# Result keys shown in the final summary, first found wins per column.
HEADLINE = {
    "return": (
        "evaluation/env_runners/episode_return_mean",
        "env_runners/episode_return_mean",
    ),
    "% arrived": (
        "evaluation/env_runners/percentage_complete",
        "env_runners/percentage_complete",
    ),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="train_imitate.py", description=__doc__.splitlines()[0])
    p.add_argument("-f", "--file", action="append", required=True, dest="files",
                   help="experiment YAML file; repeat to run several files in order")
    p.add_argument("--address", default=os.environ.get("RAY_ADDRESS"),
                   help="join an existing Ray cluster (default: $RAY_ADDRESS, else start a local Ray)")
    p.add_argument("--num-env-runners", type=int, help="override config.num_env_runners")
    p.add_argument("--stop-iters", type=int, help="override stop.training_iteration")
    p.add_argument("--stop-timesteps", type=int, help="override stop on sampled env steps")
    p.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                   help="run every trial once per seed (a grid over config.seed, replacing the file's seed)")
    p.add_argument("--output-dir", default="results", help="where Tune writes runs (default: ./results)")
    p.add_argument("--max-concurrent-trials", type=int,
                   help="trials run at once (default: one per 4 CPUs, at least 1; more deadlocks on 2 cores)")
    p.add_argument("--resume", action="store_true",
                   help="continue interrupted experiments from their last checkpoints instead of starting anew")
    p.add_argument("--overwrite", action="store_true",
                   help="replace earlier runs of the same experiments in --output-dir (default: refuse)")
    p.add_argument("--eval-episodes", type=int, default=50, metavar="N",
                   help="at the end, evaluate each trial's last checkpoint greedily on N episodes (default 50; 0 skips)")
    p.add_argument("--eval-seed", type=int, default=10_000, metavar="S",
                   help="the final evaluation's episode i uses seed S + i (default 10000)")
    p.add_argument("--dry-run", action="store_true",
                   help="validate every file and print the resolved trials without starting Ray")
    args = p.parse_args(argv)
    minimum = {"num_env_runners": 0, "eval_episodes": 0, "stop_iters": 1, "stop_timesteps": 1, "max_concurrent_trials": 1}
    for flag, least in minimum.items():
        value = getattr(args, flag)
        if value is not None and value < least:
            p.error(f"--{flag.replace('_', '-')} must be >= {least}, got {value}")
    if args.resume and args.overwrite:
        p.error("--resume continues earlier runs and --overwrite replaces them: pass one of them")
    return args


def print_trials(experiments) -> None:
    from rich.table import Table

    from rllib_il.ui import console

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


def init_ray(address):
    import ray

    if ray.is_initialized():
        return
    # Without --address a new local Ray starts, never a cluster some other job left running here.
    ray.init(address=address or "local", include_dashboard=False, runtime_env=RUNTIME_ENV)


def run_experiment(exp, output_dir: Path, max_concurrent_trials=None, resume=False):
    """One Tune run (or the continuation of an interrupted one); returns its ResultGrid."""
    import ray
    from ray import tune

    from rllib_il.experiments import param_space

    space = param_space(exp)
    if exp.restore_from is not None:
        from rllib_il.handoff import check_compatible, on_init_callback, resolve_checkpoint

        checkpoint = resolve_checkpoint(exp.restore_from, output_dir, exp.where("restore_from"))
        for trial in exp.trials:
            check_compatible(exp.run, trial["config"], checkpoint)
        space["callbacks_on_algorithm_init"] = on_init_callback(checkpoint)
    if max_concurrent_trials is None:
        max_concurrent_trials = max(1, int(ray.cluster_resources().get("CPU", 1)) // 4)
    check_ray_data_cpus(exp, space, max_concurrent_trials)
    exp_dir = output_dir.resolve() / exp.name
    if resume and tune.Tuner.can_restore(str(exp_dir)):
        print(f"Resuming {exp.name} from {exp_dir}")
        tuner = tune.Tuner.restore(
            str(exp_dir), trainable=exp.run, param_space=space, resume_unfinished=True, resume_errored=True
        )
        return tuner.fit()
    tuner = tune.Tuner(
        exp.run,
        param_space=space,
        tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent_trials),
        run_config=tune.RunConfig(
            name=exp.name,
            storage_path=str(output_dir.resolve()),
            stop=exp.stop,
            checkpoint_config=tune.CheckpointConfig(**exp.checkpoint_config),
        ),
    )
    return tuner.fit()


def check_ray_data_cpus(exp, space: dict, max_concurrent_trials: int) -> None:
    """RLlib's own offline trials (BC, MARWIL, ... with `input`) must leave Ray Data a CPU.

    Ray Data schedules its read tasks outside the trial's placement group (its "SPREAD" strategy), and
    each needs 1 CPU: when the running trials (placement groups and pre-learner actors) hold every CPU,
    `train()` waits forever on a read that never starts. Refused here, in one line, instead.
    """
    import ray

    from rllib_il.algorithms.registry import get_algorithm_class
    from rllib_il.experiments import uses_rllib_offline_data

    if not uses_rllib_offline_data(exp.run, space):
        return
    algorithm = get_algorithm_class(exp.run)
    per_trial = max(trial_cpus(algorithm, trial["config"]) for trial in exp.trials)
    running = min(max_concurrent_trials, len(exp.trials))
    total = ray.cluster_resources().get("CPU", 0)
    if running * per_trial + 1 > total:
        raise ConfigError(
            f"{exp.where()}: {running} {exp.run} trial(s) at a time hold {running * per_trial:g} of Ray's "
            f"{total:g} CPUs and RLlib's Ray Data reads need 1 more; lower --max-concurrent-trials, the trial's "
            "env runners / CPUs or map_batches_kwargs.num_cpus, or use run: MARWIL_IL (beta 0 = BC)"
        )


def trial_cpus(algorithm, config: dict) -> float:
    """CPUs one trial holds while it trains: its placement group as Tune reserves it
    (`Algorithm.default_resource_request`) plus its Ray Data pre-learner actors (ray/rllib/offline/
    offline_data.py: `concurrency` max(2, num_learners) by default, 1 CPU each unless `num_cpus` says)."""
    placement_group = algorithm.default_resource_request(config).required_resources.get("CPU", 0)
    kwargs = config.get("map_batches_kwargs") or {}
    actors = kwargs.get("concurrency", max(2, config.get("num_learners") or 0))
    actors = max(actors) if isinstance(actors, (tuple, list)) else actors
    return placement_group + actors * kwargs.get("num_cpus", 1)


def headline(metrics: dict) -> dict:
    """The summary columns present in one trial's flattened metrics (`plot.last_values`)."""
    found = {}
    for column, keys in HEADLINE.items():
        for key in keys:
            if isinstance(metrics.get(key), numbers.Real) and not math.isnan(metrics[key]):
                found[column] = metrics[key]
                break
    return found


def summarize(exp, results, output_dir: Path, eval_episodes: int = 0, eval_seed: int = 10_000) -> bool:
    """Prints one row per trial (params, headline metrics), the checkpoints, writes the curves PNG and,
    with `eval_episodes`, evaluates every trial's last checkpoint (`final_evaluation`)."""
    from rich.table import Table

    from rllib_il.plot import last_values, load_results
    from rllib_il.plots import plot_learning_curves
    from rllib_il.ui import console

    table = Table(title=f"{exp.name}: results in {output_dir.resolve() / exp.name}",
                  caption="return, % arrived: the last value each trial reported in training (in-training "
                          "evaluations are short; the final evaluation below is the number to quote)")
    for column in ("trial", "params", "iterations", *HEADLINE, "status"):
        table.add_column(column)
    ok = True
    curves, checkpoints, finished = {}, [], []
    for result in results:
        trial = str(result.metrics.get("trial_id") or Path(result.path).name)
        params = ", ".join(f"{k}={v}" for k, v in _grid_params(exp, result.config).items()) or "-"
        if result.error:
            ok = False
            table.add_row(trial, params, "-", *["-"] * len(HEADLINE), f"ERROR: {result.error}".splitlines()[0])
            continue
        frame = load_results(Path(result.path))
        shown = headline(last_values(frame))
        table.add_row(
            trial, params, str(result.metrics.get("training_iteration", "-")), *[format_headline(c, shown.get(c)) for c in HEADLINE], "ok"
        )
        curves[params if params != "-" else f"trial {trial}"] = frame
        if result.checkpoint:
            checkpoints.append(f"  {trial} ({params}): {result.checkpoint.path}")
            finished.append((f"{exp.run} ({params})" if params != "-" else exp.run, result))
    out = console()
    out.print(table)
    if checkpoints:
        out.print("Checkpoints (python -m rllib_il.evaluate --checkpoint PATH):\n" + "\n".join(checkpoints), soft_wrap=True)
    if curves:
        png = plot_learning_curves(curves, list(HEADLINE.values()), output_dir / exp.name / "learning_curves.png")
        if png:
            out.print(f"Learning curves: {png.resolve()}", soft_wrap=True)
        out.print(f"TensorBoard: tensorboard --logdir {output_dir.resolve() / exp.name}", soft_wrap=True)
    if eval_episodes and finished:
        final_evaluation(finished, eval_episodes, eval_seed)
    return ok


def final_evaluation(finished, episodes: int, seed: int) -> None:
    """Evaluates each (label, Tune Result)'s last checkpoint greedily on `episodes` seeded episodes
    (`rllib_il.evaluate`, in this process) and prints one line per trial with its episode count and
    seeds; the numbers also go to `<checkpoint>/evaluation.json`."""
    from rllib_il.evaluate import evaluate_checkpoint
    from rllib_il.ui import console

    out = console()
    seeds = f"seeds {seed}-{seed + episodes - 1}"
    out.print(f"Final evaluation: each trial's last checkpoint, greedy, {episodes} episodes, {seeds} "
              "(python -m rllib_il.evaluate --checkpoint PATH --episodes N for more)")
    for label, result in finished:
        checkpoint = Path(result.checkpoint.path)
        summary = evaluate_checkpoint(checkpoint, result.config["env"], result.config.get("env_config") or {},
                                      episodes, seed, checkpoint / "evaluation.json")
        out.print(f"  {label}: {evaluation_line(summary)}, {summary['episodes']} episodes, {seeds}", soft_wrap=True)


def evaluation_line(summary: dict) -> str:
    """'60.0 % trains arrived, return -3.2 ± 1.0' (multi-agent Flatland) or 'return 500.0 ± 0.0'."""
    text = f"return {summary['return_mean']:.1f} ± {summary['return_std']:.1f}"
    if "percentage_complete" in summary:
        return f"{100 * summary['percentage_complete']:.1f} % trains arrived, {text}"
    return text


def format_headline(column: str, value) -> str:
    """A headline value as the tables show it ("-" when missing; % arrived in percent)."""
    if value is None:
        return "-"
    return f"{100 * value:.1f} %" if column == "% arrived" else f"{value:.2f}"


def _grid_params(exp, config: dict) -> dict:
    from rllib_il.experiments import lookup

    return {path: lookup(config, path) for path in sorted({p for trial in exp.trials for p in trial["params"]})}


@cli
def main(argv=None) -> int:
    args = parse_args(argv)
    import rllib_il  # noqa: F401  (registers envs and algorithms with Tune)
    from rllib_il.experiments import load_all

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
        results = run_experiment(exp, output_dir, args.max_concurrent_trials, args.resume)
        ok = summarize(exp, results, output_dir, args.eval_episodes, args.eval_seed) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
