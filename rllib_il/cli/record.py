"""Record expert demonstrations into a saved_experiences dataset.

    python -m rllib_il.cli.record --env CartPole-v1 --expert cartpole --episodes 50 --out saved_experiences/cartpole
    python -m rllib_il.cli.record --env flatland_sparse --env-config small_v0 --expert flatland_planner \\
        --episodes 100 --out saved_experiences/flatland_small_v0 --num-workers 2
    # DAgger: the planner labels the states a trained policy visits
    python -m rllib_il.cli.record --env flatland_sparse --env-config small_v0 --expert flatland_planner \\
        --act-with CHECKPOINT --expert-prob 0.0 --episodes 100 --seed 100000 --out DIR
"""

import argparse
import os
import signal
import sys

import ray
from rich.console import Console

from rllib_il.cli.options import parse_env_config, parse_json_option
from rllib_il.core.errors import cli
from rllib_il.core.logs import RUNTIME_ENV
from rllib_il.rollout.gif import render_gif
from rllib_il.rollout.recording import record_dataset
from rllib_il.rollout.statistics import stats_table


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rllib_il.cli.record", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--env", required=True, help="gymnasium id, rllib_il env name (flatland_sparse) or your own 'module:make_env'"
    )
    parser.add_argument("--env-config", help='JSON object, or a preset name as shorthand for {"preset": NAME}')
    parser.add_argument(
        "--expert",
        required=True,
        help="a name in rllib_il.experts.EXPERTS, or your own expert as 'module:Class' (or 'module:factory')",
    )
    parser.add_argument("--expert-config", help='JSON object of expert options (e.g. {"explore": true})')
    parser.add_argument("--checkpoint", help="RLlib checkpoint directory for --expert checkpoint")
    parser.add_argument(
        "--act-with",
        metavar="CHECKPOINT",
        help="DAgger: step the env with this checkpoint's greedy policy; the expert only labels",
    )
    parser.add_argument(
        "--expert-prob",
        type=float,
        metavar="P",
        help="with --act-with: per agent and step, fly the expert's action with probability P (default 0)",
    )
    parser.add_argument("--episodes", type=int, required=True, help="number of env episodes")
    parser.add_argument("--out", required=True, help="dataset directory, e.g. saved_experiences/<name>")
    parser.add_argument("--seed", type=int, default=0, help="episode i is reset with seed SEED + i")
    parser.add_argument("--num-workers", type=int, default=1, help="parallel Ray workers (disjoint seeds)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing dataset")
    parser.add_argument("--render-gif", metavar="PATH", help="also render the first episode to a GIF")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


@cli
def main(argv=None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up like Ctrl-C: no partial dataset
    try:
        expert_config = parse_json_option("--expert-config", args.expert_config)
        if args.checkpoint:
            expert_config["checkpoint"] = args.checkpoint
        env_config = parse_env_config(args.env_config)
        if args.num_workers > 1:
            ray.init(
                address=os.environ.get("RAY_ADDRESS"),
                include_dashboard=False,
                log_to_driver=False,
                runtime_env=RUNTIME_ENV,
            )
        summary = record_dataset(
            args.env,
            args.expert,
            args.episodes,
            args.out,
            env_config,
            expert_config,
            seed=args.seed,
            num_workers=args.num_workers,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            act_with=args.act_with,
            expert_prob=args.expert_prob,
        )
        acting = f" (trajectories of {args.act_with}, labels by {args.expert})" if args.act_with else ""
        Console().print(stats_table(summary, f"{args.expert} on {args.env} -> {args.out}{acting}"))
        if args.render_gif:
            render_gif(args.env, env_config, args.expert, expert_config, args.seed, args.render_gif)
    except KeyboardInterrupt:
        print("error: interrupted; no dataset written", file=sys.stderr)
        return 130
    finally:
        if args.num_workers > 1:
            ray.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
