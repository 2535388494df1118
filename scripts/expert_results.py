"""Measure an expert (a scripted controller, a planner, "random") on fixed seeds and write the result:
docs/results/<name>.json with every episode's return, their mean and std.

    python scripts/expert_results.py --name carracing_expert --env CarRacing-v3 \
        --expert carracing_pure_pursuit --episodes 50 --eval-seed 20000

The episodes are the shared rollout's (the recorder's and the evaluations'), one per seed
eval-seed .. eval-seed + episodes - 1, in this process.
"""

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
from rich.console import Console

from rllib_il.cli.options import parse_env_config, parse_json_option
from rllib_il.core.errors import cli
from rllib_il.rollout.statistics import stats_table, summarize
from rllib_il.rollout.workers import record
from rllib_il.workflow.measured import write_measured


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--name", required=True, help="results name: docs/results/<name>.json")
    p.add_argument("--env", required=True)
    p.add_argument("--env-config", help='JSON object, or a preset name as shorthand for {"preset": NAME}')
    p.add_argument("--expert", required=True, help="a name in rllib_il.experts.EXPERTS")
    p.add_argument("--expert-config", default="{}", help="JSON options of the expert")
    p.add_argument("--episodes", type=int, default=50)
    p.add_argument("--eval-seed", type=int, default=20_000)
    p.add_argument("--out-dir", type=Path, default=Path("docs"), help="results go to OUT_DIR/results")
    return p.parse_args(argv)


@cli
def main(argv=None) -> int:
    args = parse_args(argv)
    env_config = parse_env_config(args.env_config)
    expert_config = parse_json_option("--expert-config", args.expert_config)
    seeds = list(range(args.eval_seed, args.eval_seed + args.episodes))
    _, stats = record(args.env, env_config, args.expert, expert_config, seeds, desc=f"{args.expert} on {args.env}")
    returns = np.array([s.episode_return for s in stats])
    summary = summarize(stats)
    result = {
        "command": "python scripts/expert_results.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "metric": f"episode return of {args.expert} (per_seed: one episode per seed)",
        "seeds": seeds,
        "per_seed": [round(float(r), 2) for r in returns],
        "mean": round(float(returns.mean()), 2),
        "std": round(float(returns.std(ddof=1)), 2) if len(returns) > 1 else 0.0,
        "min": round(float(returns.min()), 2),
        "episodes": len(returns),
        "eval_seeds": f"{seeds[0]}-{seeds[-1]}",
        "episode_length_mean": summary["steps"] / summary["episodes"],
    }
    out = write_measured(args.name, result, args.out_dir / "results")
    Console().print(stats_table(summary, f"{args.expert} on {args.env}, seeds {result['eval_seeds']}"))
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
