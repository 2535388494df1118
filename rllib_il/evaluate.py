"""`python -m rllib_il.evaluate --checkpoint X --episodes 100 [--seed S] [--render out.gif]`

Runs a trained checkpoint's policy (greedy unless --explore) for N seeded episodes and prints a
statistics table (return mean/std/min/max, episode length, % arrived on Flatland); the same numbers
go to a JSON file. The env and its env_config come from the Tune trial the checkpoint belongs to,
unless --env / --env-config say otherwise.
"""

import argparse
import json
import pickle
import sys
from pathlib import Path

from rllib_il.errors import ConfigError, cli
from rllib_il.handoff import checkpoint_modules
from rllib_il.logs import RUNTIME_ENV


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m rllib_il.evaluate", description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", required=True, type=Path,
                   help="an RLlib Algorithm checkpoint, or a Tune trial directory (its last checkpoint is taken)")
    p.add_argument("--episodes", type=int, default=100, help="number of episodes (default 100)")
    p.add_argument("--seed", type=int, default=10_000,
                   help="episode i uses seed SEED + i (default 10000, away from recorded demonstration seeds)")
    p.add_argument("--env", help="env to evaluate in (default: the checkpoint's trial env)")
    p.add_argument("--env-config", help='JSON object, or a Flatland preset name (default: the trial\'s env_config)')
    p.add_argument("--module-id", help="module to act with (default: the only one in the checkpoint)")
    p.add_argument("--explore", action="store_true", help="sample actions instead of acting greedily")
    p.add_argument("--num-workers", type=int, default=1, help="parallel Ray workers")
    p.add_argument("--render", metavar="GIF", help="also render the first episode to this GIF")
    p.add_argument("--json", type=Path, help="where to write the numbers (default: CHECKPOINT/evaluation.json)")
    return p.parse_args(argv)


def resolve_checkpoint(path: Path) -> Path:
    """`path` itself if it is an Algorithm checkpoint; for a Tune trial directory (or an experiment
    directory with one trial) its last checkpoint, saying so. (Tune's `Result.from_path` cannot read
    RLlib trials that checkpoint every few iterations: their result rows lack `checkpoint_dir_name`.)"""
    if not path.is_dir():
        raise ConfigError(f"--checkpoint {path}: no such directory")
    if checkpoint_modules(path):
        return path
    trials = [path] if (path / "params.pkl").is_file() else sorted(p.parent for p in path.glob("*/params.pkl"))
    if not trials:
        raise ConfigError(f"--checkpoint {path}: neither an RLlib checkpoint nor a Tune trial or experiment directory")
    if len(trials) > 1:
        raise ConfigError(f"--checkpoint {path}: {len(trials)} trials ({', '.join(t.name for t in trials)}); "
                          "pass one trial directory or checkpoint")
    checkpoints = sorted(c for c in trials[0].glob("checkpoint_*") if checkpoint_modules(c))
    if not checkpoints:
        raise ConfigError(f"--checkpoint {path}: trial {trials[0].name} saved no checkpoint")
    print(f"Evaluating the trial's last checkpoint: {checkpoints[-1]}")
    return checkpoints[-1]


def trial_env(checkpoint: Path):
    """(env, env_config) of the Tune trial that wrote `checkpoint` (its params.pkl)."""
    params = checkpoint.resolve().parent / "params.pkl"
    if not params.is_file():
        raise ConfigError(f"{checkpoint}: no Tune params.pkl beside it to take the env from; pass --env")
    with open(params, "rb") as f:
        config = pickle.load(f)
    return config["env"], config.get("env_config") or {}


def evaluate_checkpoint(checkpoint: Path, env: str, env_config: dict, episodes: int, seed: int, out: Path,
                        module_id=None, explore=False, num_workers=1, progress=True) -> dict:
    """Runs `episodes` episodes (seeds seed .. seed + episodes - 1) with the checkpoint's policy and
    writes the statistics (return, length, % arrived, seeds) as JSON to `out`; returns them."""
    from rllib_il.offline.recording import record, summarize

    expert_config = {"checkpoint": str(checkpoint), "module_id": module_id, "explore": explore}
    seeds = list(range(seed, seed + episodes))
    _, stats = record(env, env_config, "checkpoint", expert_config, seeds, num_workers, progress=progress,
                      desc=f"evaluating {Path(checkpoint).name} on {env}")
    summary = summarize(stats)
    summary["episode_length_mean"] = summary["steps"] / summary["episodes"]
    out.write_text(json.dumps({"checkpoint": str(Path(checkpoint).resolve()), "env": env, "env_config": env_config,
                               "seeds": [seeds[0], seeds[-1]], "explore": explore, **summary}, indent=2))
    return summary


@cli
def main(argv=None) -> int:
    args = parse_args(argv)
    import rllib_il  # noqa: F401  (registers envs)
    from rllib_il.offline.recording import parse_env_config, render_gif, stats_table
    from rllib_il.ui import console

    if args.episodes < 1:
        raise ConfigError(f"--episodes {args.episodes}: must be at least 1")
    args.checkpoint = resolve_checkpoint(args.checkpoint)
    env, env_config = (args.env, {}) if args.env else trial_env(args.checkpoint)
    if args.env_config:
        env_config = parse_env_config(args.env_config)
    if args.num_workers > 1:
        import ray

        ray.init(include_dashboard=False, log_to_driver=False, runtime_env=RUNTIME_ENV)
    out = args.json or args.checkpoint / "evaluation.json"
    summary = evaluate_checkpoint(args.checkpoint, env, env_config, args.episodes, args.seed, out,
                                  module_id=args.module_id, explore=args.explore, num_workers=args.num_workers)
    console().print(stats_table(summary, f"{args.checkpoint} on {env} {env_config or ''}"))
    print(f"wrote {out}")
    if args.render:
        expert_config = {"checkpoint": str(args.checkpoint), "module_id": args.module_id, "explore": args.explore}
        render_gif(env, env_config, "checkpoint", expert_config, args.seed, args.render)
        print(f"wrote {args.render}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
