"""Write a measured Phase 2 result: docs/results/<name>.json and a learning-curve PNG.

    python scripts/phase2_results.py --name lunarlander_dqfd_phase2 --runs results/x/lunarlander-dqn-DQfD \
        --start results/x/lunarlander-apex-IL --command "python train_imitate.py -f ... -f ..."

`--runs` is a Tune experiment directory with one trial per seed (`config.seed`; `--params beta=0` keeps
the trials of one grid point); a Phase 1 run works too (curves then against training iterations). Each trial's
last checkpoint is evaluated greedily on `--episodes` episodes with seeds `--eval-seed` .. (the
closing evaluation of `train_imitate.py` wrote `<checkpoint>/evaluation.json` when its settings were
the same; it is read then, else the evaluation runs here). `--start` is the Phase 1 experiment (or
checkpoint) the seeds started from: the checkpoint `restore_from` chose is evaluated the same way and
is the dashed reference line of the PNG. `--gain` reports Phase 2 minus the start instead of Phase 2.
`--vs-expert NAME` reports normalised scores (R - R_random) / (R_expert - R_random) instead of returns,
with the expert (a name of `rllib_il.experts.EXPERTS`) and uniformly random actions evaluated on the
same seeds.
The PNG draws every trial's in-training evaluations (fixed-seed ones when the files set
`fixed_seed_evaluation`) against env steps. Nothing is written by hand: every number comes from the
runs' files or from an evaluation run by this script.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from rllib_il.cli.options import parse_json_option
from rllib_il.core.checkpoints import checkpoint_modules
from rllib_il.core.constants import DEFAULT_EVAL_SEED
from rllib_il.core.errors import ConfigError, cli
from rllib_il.workflow.evaluation import evaluate_checkpoint, evaluate_expert, trial_env
from rllib_il.workflow.measured import write_measured
from rllib_il.workflow.plots import plot_learning_curves
from rllib_il.workflow.results import load_results

METRICS = {
    "return": ("return_mean", "evaluation/env_runners/episode_return_mean"),
    "percentage_complete": ("percentage_complete", "evaluation/env_runners/percentage_complete"),
}
ENV_STEPS = "num_env_steps_sampled_lifetime"
WALL_TIME = "time_total_s"
HELD_OUT_SEED = 20_000


def last_checkpoint(trial: Path) -> Path:
    checkpoints = sorted(c for c in trial.glob("checkpoint_*") if checkpoint_modules(c))
    if not checkpoints:
        raise ConfigError(f"{trial}: no checkpoint")
    return checkpoints[-1]


def evaluation(checkpoint: Path, episodes: int, seed: int) -> dict:
    """The checkpoint's greedy evaluation on these seeds: read from `evaluation.json` (train_imitate's closing
    evaluation) or `evaluation_<first>-<last>.json` (this script's) when one was made on them, else run
    now and written to the latter (the closing evaluation's file is never replaced)."""
    seeds = [seed, seed + episodes - 1]
    mine = checkpoint / f"evaluation_{seeds[0]}-{seeds[1]}.json"
    for saved in (checkpoint / "evaluation.json", mine):
        if saved.is_file():
            found = json.loads(saved.read_text())
            if found.get("seeds") == seeds and not found.get("explore"):
                return found
    env, env_config = trial_env(checkpoint)
    return evaluate_checkpoint(checkpoint, env, env_config, episodes, seed, mine, progress=False)


def normalised(returns: np.ndarray, random_return: float, expert_return: float) -> np.ndarray:
    """(R - R_random) / (R_expert - R_random): 0 is random, 1 is the expert."""
    if expert_return == random_return:
        raise ConfigError(f"the expert's return {expert_return} equals random's: no normalised score")
    return (returns - random_return) / (expert_return - random_return)


def start_checkpoint(start: Path, log: str) -> Path:
    """`start` itself if a checkpoint, else the checkpoint the Phase 2 log says it started from."""
    if checkpoint_modules(start):
        return start
    found = re.findall(r"Starting from \S+ checkpoint (\S+)", log)
    chosen = [Path(p) for p in found if str(start.resolve()) in str(Path(p).resolve())]
    if not chosen:
        raise ConfigError(f"--start {start}: give the checkpoint, or --log with the 'Starting from' line")
    return chosen[-1]


@cli
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True, help="docs/results/<name>.json")
    p.add_argument("--runs", type=Path, required=True, help="the Phase 2 Tune experiment directory")
    p.add_argument("--start", type=Path, help="the Phase 1 checkpoint, or its experiment directory (with --log)")
    p.add_argument("--log", type=Path, help="the train_imitate.py output that printed 'Starting from ...'")
    p.add_argument("--metric", choices=sorted(METRICS), default="return")
    p.add_argument("--gain", action="store_true", help="per seed: Phase 2 minus the start")
    p.add_argument("--vs-expert", metavar="EXPERT", help="per seed: normalised score against this expert and random")
    p.add_argument("--expert-config", default="{}", help="JSON options of --vs-expert's expert")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument(
        "--eval-seed",
        type=int,
        default=HELD_OUT_SEED,
        help=f"first evaluation seed (default {HELD_OUT_SEED}: held out from the in-training evaluations that "
        f"chose the start checkpoint, seeds {DEFAULT_EVAL_SEED}..)",
    )
    p.add_argument(
        "--curve-seed",
        type=int,
        default=DEFAULT_EVAL_SEED,
        help=f"first seed of the runs' in-training evaluations (fixed_seed_evaluation; default {DEFAULT_EVAL_SEED})",
    )
    p.add_argument("--params", nargs="*", default=[], metavar="KEY=VALUE", help="keep trials with these params")
    p.add_argument("--command", required=True, help="the exact command(s) that produced --runs")
    p.add_argument("--out-dir", type=Path, default=Path("docs"))
    args = p.parse_args(argv)
    if args.gain and args.start is None:
        p.error("--gain needs --start (the Phase 1 checkpoint the gain is measured from)")
    if args.gain and args.vs_expert:
        p.error("--gain and --vs-expert exclude each other")
    if args.vs_expert and args.metric != "return":
        p.error("--vs-expert normalises returns: use it with --metric return")
    expert_config = parse_json_option("--expert-config", args.expert_config)
    key, curve_key = METRICS[args.metric]
    wanted = dict(pair.split("=", 1) for pair in args.params)
    trials = [
        t.parent
        for t in sorted(args.runs.glob("*/params.json"))
        if all(str(json.loads(t.read_text()).get(k)) == v for k, v in wanted.items())
    ]
    if not trials:
        raise ConfigError(f"--runs {args.runs}: no Tune trials" + (f" with {args.params}" if wanted else ""))
    seeds = [json.loads((t / "params.json").read_text()).get("seed") for t in trials]
    finals = [evaluation(last_checkpoint(t), args.episodes, args.eval_seed) for t in trials]
    values = np.array([f[key] for f in finals], dtype=float)
    start = start_on_curve_seeds = None
    if args.start is not None:
        log = args.log.read_text() if args.log else ""
        chosen = start_checkpoint(args.start, log)
        start = evaluation(chosen, args.episodes, args.eval_seed)[key]
        # The curves are the runs' own evaluations (seeds from --curve-seed): their start line on those seeds.
        start_on_curve_seeds = evaluation(chosen, args.episodes, args.curve_seed)[key]
    per_seed = values - start if args.gain else values
    reference_returns = {}
    if args.vs_expert:
        env, env_config = trial_env(last_checkpoint(trials[0]))
        for name, options in ((args.vs_expert, expert_config), ("random", {})):
            found = evaluate_expert(name, options, env, env_config, args.episodes, args.eval_seed, progress=False)
            reference_returns[name] = found["return_mean"]
        per_seed = normalised(values, reference_returns["random"], reference_returns[args.vs_expert])
    curves = {f"seed {s}": load_results(t) for s, t in zip(seeds, trials)}
    along = [
        frame[curve_key].dropna() if curve_key in frame.columns else pd.Series(dtype=float) for frame in curves.values()
    ]
    result = {
        "command": args.command,
        "metric": f"{args.metric} of the last checkpoint"
        + (" minus the start checkpoint's" if args.gain else "")
        + (f", normalised: (R - R_random) / (R_{args.vs_expert} - R_random)" if args.vs_expert else ""),
        "seeds": seeds,
        "per_seed": [round(float(v), 4) for v in per_seed],
        "mean": round(float(per_seed.mean()), 4),
        "std": round(float(per_seed.std(ddof=1)), 4) if len(per_seed) > 1 else 0.0,
        "episodes": args.episodes,
        "eval_seeds": f"{args.eval_seed}-{args.eval_seed + args.episodes - 1}, greedy",
        "env_steps": [int(frame[ENV_STEPS].max()) if ENV_STEPS in frame else 0 for frame in curves.values()],
        # Tune's time_total_s of each trial: training wall time, trials side by side included.
        "wall_time_s": [
            round(float(frame[WALL_TIME].max()), 1) if WALL_TIME in frame else None for frame in curves.values()
        ],
        "start": None if start is None else round(float(start), 4),
        "start_on_in_training_seeds": None if start is None else round(float(start_on_curve_seeds), 4),
        "last": [round(float(v), 4) for v in values],
        **(
            {"reference_returns": {k: round(float(v), 4) for k, v in reference_returns.items()}}
            if args.vs_expert
            else {}
        ),
        "in_training_evaluations": f"{curve_key} per seed, seeds {args.curve_seed} + 0..{args.episodes - 1}",
        "best_in_training": [round(float(a.max()), 4) if len(a) else None for a in along],
        "lowest_in_training": [round(float(a.min()), 4) if len(a) else None for a in along],
    }
    if all("train_outcomes" in f for f in finals):
        result["train_outcomes"] = {
            k: round(float(np.mean([f["train_outcomes"][k] for f in finals])), 4) for k in finals[0]["train_outcomes"]
        }
    out = write_measured(args.name, result, args.out_dir / "results")
    references = [(curve_key, start_on_curve_seeds, "start (Phase 1)")] if start is not None else []
    references += [(curve_key, value, f"{name}, held-out seeds") for name, value in reference_returns.items()]
    x = ENV_STEPS if all(ENV_STEPS in frame for frame in curves.values()) else "training_iteration"
    png = plot_learning_curves(
        curves, [[curve_key]], args.out_dir / "img" / f"{args.name}.png", x=x, references=references
    )
    print(f"wrote {out} and {png}: {result['mean']:.2f} ± {result['std']:.2f} over seeds {seeds} {result['per_seed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
