"""`python -m rllib_il.cli.evaluate --checkpoint X --episodes 100 [--seed S] [--render out.gif]`

Runs a trained checkpoint's policy (greedy unless --explore) for N seeded episodes and prints a
statistics table (return mean/std/min/max, episode length, % arrived on Flatland); the same numbers
go to a JSON file. The env and its env_config come from the Tune trial the checkpoint belongs to,
unless --env / --env-config say otherwise.
"""

import argparse
import sys
from pathlib import Path

import ray

from rllib_il.cli.options import parse_env_config
from rllib_il.core.checkpoints import resolve_checkpoint
from rllib_il.core.console import console
from rllib_il.core.constants import DEFAULT_EVAL_SEED
from rllib_il.core.errors import ConfigError, cli
from rllib_il.core.logs import RUNTIME_ENV
from rllib_il.rollout.gif import render_gif
from rllib_il.rollout.statistics import stats_table
from rllib_il.workflow.evaluation import evaluate_checkpoint, trial_env


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m rllib_il.cli.evaluate", description=__doc__.splitlines()[0])
    p.add_argument(
        "--checkpoint",
        required=True,
        type=Path,
        help="an RLlib Algorithm checkpoint, or a Tune trial directory (its last checkpoint is taken)",
    )
    p.add_argument("--episodes", type=int, default=100, help="number of episodes (default 100)")
    p.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_EVAL_SEED,
        help="episode i uses seed SEED + i (default 10000, away from recorded demonstration seeds)",
    )
    p.add_argument("--env", help="env to evaluate in (default: the checkpoint's trial env)")
    p.add_argument("--env-config", help="JSON object, or a Flatland preset name (default: the trial's env_config)")
    p.add_argument("--module-id", help="module to act with (default: the only one in the checkpoint)")
    p.add_argument("--explore", action="store_true", help="sample actions instead of acting greedily")
    p.add_argument("--num-workers", type=int, default=1, help="parallel Ray workers")
    p.add_argument("--render", metavar="GIF", help="also render the first episode to this GIF")
    p.add_argument("--render-every", type=int, default=1, metavar="K", help="with --render: keep every K-th frame")
    p.add_argument("--render-shrink", type=int, default=1, metavar="S", help="with --render: frames S times smaller")
    p.add_argument("--json", type=Path, help="where to write the numbers (default: CHECKPOINT/evaluation.json)")
    return p.parse_args(argv)


@cli
def main(argv=None) -> int:
    args = parse_args(argv)
    counts = {"--episodes": args.episodes, "--render-every": args.render_every, "--render-shrink": args.render_shrink}
    for option, value in counts.items():
        if value < 1:
            raise ConfigError(f"{option} {value}: must be at least 1")
    args.checkpoint = resolve_checkpoint(args.checkpoint)
    env, env_config = (args.env, {}) if args.env else trial_env(args.checkpoint)
    if args.env_config:
        env_config = parse_env_config(args.env_config)
    if args.num_workers > 1:
        ray.init(include_dashboard=False, log_to_driver=False, runtime_env=RUNTIME_ENV)
    out = args.json or args.checkpoint / "evaluation.json"
    summary = evaluate_checkpoint(
        args.checkpoint,
        env,
        env_config,
        args.episodes,
        args.seed,
        out,
        module_id=args.module_id,
        explore=args.explore,
        num_workers=args.num_workers,
    )
    console().print(stats_table(summary, f"{args.checkpoint} on {env} {env_config or ''}"))
    print(f"wrote {out}")
    if args.render:
        expert_config = {"checkpoint": str(args.checkpoint), "module_id": args.module_id, "explore": args.explore}
        render_gif(
            env, env_config, "checkpoint", expert_config, args.seed, args.render, args.render_every, args.render_shrink
        )
        print(f"wrote {args.render}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
