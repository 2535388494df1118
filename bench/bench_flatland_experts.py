"""Flatland experts on the same seeded episodes: % trains arrived, normalised score, planning time.

    python bench/bench_flatland_experts.py --preset small_v0 --episodes 100
    python bench/bench_flatland_experts.py --preset small_v0 --episodes 100 --decision-points

Experts: uniformly random actions, flatland's ShortestPathPolicy and our planner
(`FlatlandPlannerExpert`). Episode i uses `env.reset(seed=i)` for every expert. "% arrived" is
counted from flatland's train states (`FlatlandEnv.episode_metrics()`); "plan ms" is the planner's
planning (and replanning) time per episode. `--decision-points`: trains are asked only at decision
cells (env_config `decision_points`) and the planner lets them wait only there.
"""

import argparse
import json
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table
from tqdm import tqdm

from rllib_il.core.errors import ConfigError
from rllib_il.envs.flatland.env import FlatlandEnv
from rllib_il.experts import make_expert
from rllib_il.workflow.measured import write_measured

EXPERTS = ("random", "flatland_shortest_path", "flatland_planner")


def evaluate(env, expert, seeds):
    arrived, scores, plan_ms = [], [], []
    start = time.perf_counter()
    for seed in tqdm(seeds, desc=type(expert).__name__, leave=False):
        obs, _ = env.reset(seed=seed)
        expert.reset(env, obs)
        done = False
        while not done:
            obs, _, terminateds, truncateds, _ = env.step(expert.act(obs)[0])
            done = terminateds["__all__"] or truncateds["__all__"]
        metrics = env.episode_metrics()
        arrived.append(metrics["percentage_complete"])
        scores.append(metrics["normalized_score"])
        plan_ms.append(1000 * getattr(expert, "planning_seconds", np.nan))
    return arrived, scores, plan_ms, len(seeds) / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="small_v0")
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument(
        "--experts",
        nargs="+",
        default=list(EXPERTS),
        help="registered expert names or your own as module:Class (default: %(default)s)",
    )
    p.add_argument("--decision-points", action="store_true", help="env_config decision_points: true")
    p.add_argument("--results", metavar="NAME", help="write the planner's %% arrived to docs/results/NAME.json")
    args = p.parse_args()
    env_config = {"preset": args.preset, "decision_points": args.decision_points}
    env = FlatlandEnv(env_config)
    seeds = range(args.episodes)
    table = Table(title=f"Flatland experts, env_config {json.dumps(env_config)}, seeds 0..{args.episodes - 1}")
    for column in ("expert", "% arrived (mean ± std)", "normalized score", "plan ms/episode (mean, max)", "episodes/s"):
        table.add_column(column, justify="right")
    try:
        experts = {name: make_expert(name, env) for name in args.experts}
    except ConfigError as e:
        p.error(str(e))
    for name, expert in experts.items():
        arrived, scores, plan_ms, rate = evaluate(env, expert, seeds)
        plan = "-" if np.isnan(plan_ms).all() else f"{np.mean(plan_ms):.1f}, {np.max(plan_ms):.1f}"
        if args.results and name == "flatland_planner":
            out = write_measured(
                args.results,
                {
                    "command": "python " + " ".join(sys.argv),
                    "metric": f"% trains arrived, flatland_planner, env_config {json.dumps(env_config)}",
                    "seeds": [],
                    "per_episode": [round(100 * a, 1) for a in arrived],
                    "mean": round(100 * float(np.mean(arrived)), 2),
                    "std": round(100 * float(np.std(arrived)), 2),
                    "episodes": args.episodes,
                    "eval_seeds": f"0-{args.episodes - 1}",
                },
            )
            print(f"wrote {out}")
        table.add_row(
            name,
            f"{100 * np.mean(arrived):.1f} ± {100 * np.std(arrived):.1f}",
            f"{np.mean(scores):.3f}",
            plan,
            f"{rate:.2f}",
        )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
