"""What a finished Tune run tells its user: one row per trial, checkpoints, curves PNG, TensorBoard, and a
final greedy evaluation of every trial's last checkpoint on fixed seeds."""

import math
import numbers
from pathlib import Path

from rich.table import Table

from rllib_il.core.console import console
from rllib_il.core.constants import DEFAULT_EVAL_SEED
from rllib_il.core.nested import lookup
from rllib_il.workflow.evaluation import evaluate_checkpoint
from rllib_il.workflow.plots import plot_learning_curves
from rllib_il.workflow.results import last_values, load_results

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


def headline(metrics: dict) -> dict:
    """The summary columns present in one trial's flattened metrics (`plot.last_values`)."""
    found = {}
    for column, keys in HEADLINE.items():
        for key in keys:
            if isinstance(metrics.get(key), numbers.Real) and not math.isnan(metrics[key]):
                found[column] = metrics[key]
                break
    return found


def summarize(
    exp, results, output_dir: Path, eval_episodes: int = 0, eval_seed: int = DEFAULT_EVAL_SEED, start=None
) -> bool:
    """Prints one row per trial (params, headline metrics, best and, for a Phase 2 (`start`, a
    `StartCheckpoint`), the score it started from), the checkpoints, writes the curves PNG (with the
    start as a reference line) and, with `eval_episodes`, evaluates every trial's last checkpoint
    (`final_evaluation`)."""
    table = Table(
        title=f"{exp.name}: results in {output_dir.resolve() / exp.name}",
        caption="return, % arrived: the last value each trial reported in training; best: the best such value "
        "(in-training evaluations are short unless fixed_seed_evaluation sets them; the final evaluation "
        "below is the number to quote)",
    )
    progress = progress_column(start)
    for column in ("trial", "params", "iterations", *HEADLINE, progress, "status"):
        table.add_column(column)
    ok = True
    curves, checkpoints, finished = {}, [], []
    for result in results:
        trial = str(result.metrics.get("trial_id") or Path(result.path).name)
        params = ", ".join(f"{k}={v}" for k, v in _grid_params(exp, result.config).items()) or "-"
        if result.error:
            ok = False
            table.add_row(trial, params, "-", *["-"] * len(HEADLINE), "-", f"ERROR: {result.error}".splitlines()[0])
            continue
        frame = load_results(Path(result.path))
        shown = headline(last_values(frame))
        table.add_row(
            trial,
            params,
            str(result.metrics.get("training_iteration", "-")),
            *[format_headline(c, shown.get(c)) for c in HEADLINE],
            start_best_last(frame, start),
            "ok",
        )
        curves[params if params != "-" else f"trial {trial}"] = frame
        if result.checkpoint:
            checkpoints.append(f"  {trial} ({params}): {result.checkpoint.path}")
            finished.append((f"{exp.run} ({params})" if params != "-" else exp.run, result))
    out = console()
    out.print(table)
    if checkpoints:
        out.print(
            "Checkpoints (python -m rllib_il.cli.evaluate --checkpoint PATH):\n" + "\n".join(checkpoints),
            soft_wrap=True,
        )
    if curves:
        references = [(start.metric, start.score, "start (Phase 1)")] if start and start.score is not None else []
        png = plot_learning_curves(
            curves, list(HEADLINE.values()), output_dir / exp.name / "learning_curves.png", references=references
        )
        if png:
            out.print(f"Learning curves: {png.resolve()}", soft_wrap=True)
        out.print(f"TensorBoard: tensorboard --logdir {output_dir.resolve() / exp.name}", soft_wrap=True)
    if eval_episodes and finished:
        final_evaluation(finished, eval_episodes, eval_seed)
    return ok


def progress_column(start) -> str:
    if start is not None and start.metric is not None:
        return f"{start.metric.split('/')[-1]}: start -> best -> last"
    return "best (first headline metric)"


def start_best_last(frame, start) -> str:
    """'249.7 -> 263.1 -> 258.0' for the metric that chose a Phase 2's start (start: its score; best,
    last: this trial's best and last reported values), or the best value of the first headline metric
    when the run has no start."""
    if start is not None and start.metric is not None:
        if start.metric not in frame.columns or frame[start.metric].isna().all():
            return "-"
        values = frame[start.metric].dropna()
        first = "-" if start.score is None else f"{start.score:.4g}"
        best = values.max() if start.mode == "max" else values.min()
        return f"{first} -> {best:.4g} -> {values.iloc[-1]:.4g}"
    for column, keys in HEADLINE.items():
        for key in keys:
            if key in frame.columns and frame[key].notna().any():
                return format_headline(column, frame[key].max())
    return "-"


def final_evaluation(finished, episodes: int, seed: int) -> None:
    """Evaluates each (label, Tune Result)'s last checkpoint greedily on `episodes` seeded episodes
    (`rllib_il.cli.evaluate`, in this process) and prints one line per trial with its episode count and
    seeds; the numbers also go to `<checkpoint>/evaluation.json`."""
    out = console()
    seeds = f"seeds {seed}-{seed + episodes - 1}"
    out.print(
        f"Final evaluation: each trial's last checkpoint, greedy, {episodes} episodes, {seeds} "
        "(python -m rllib_il.cli.evaluate --checkpoint PATH --episodes N for more)"
    )
    for label, result in finished:
        checkpoint = Path(result.checkpoint.path)
        summary = evaluate_checkpoint(
            checkpoint,
            result.config["env"],
            result.config.get("env_config") or {},
            episodes,
            seed,
            checkpoint / "evaluation.json",
        )
        out.print(f"  {label}: {evaluation_line(summary)}, {summary['episodes']} episodes, {seeds}", soft_wrap=True)


def evaluation_line(summary: dict) -> str:
    """'60.0 % trains arrived (deadlocked 30.0 %, running late 8.0 %, never departed 2.0 %), return -3.2 ±
    1.0' (multi-agent Flatland) or 'return 500.0 ± 0.0'."""
    text = f"return {summary['return_mean']:.1f} ± {summary['return_std']:.1f}"
    if "percentage_complete" not in summary:
        return text
    others = {k: v for k, v in summary.get("train_outcomes", {}).items() if k != "arrived"}
    breakdown = ", ".join(f"{key.replace('_', ' ')} {100 * value:.1f} %" for key, value in others.items())
    arrived = f"{100 * summary['percentage_complete']:.1f} % trains arrived"
    return f"{arrived} ({breakdown}), {text}" if breakdown else f"{arrived}, {text}"


def format_headline(column: str, value) -> str:
    """A headline value as the tables show it ("-" when missing; % arrived in percent)."""
    if value is None:
        return "-"
    return f"{100 * value:.1f} %" if column == "% arrived" else f"{value:.2f}"


def _grid_params(exp, config: dict) -> dict:
    return {path: lookup(config, path) for path in sorted({p for trial in exp.trials for p in trial["params"]})}
