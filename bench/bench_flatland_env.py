"""Env steps/s of Flatland: raw RailEnv, FlatlandEnv and an RLlib MultiAgentEnvRunner, today's path
(a train is asked at every cell) and the fast one side by side in one run.

    python bench/bench_flatland_env.py --preset small_v0 --steps 1000 --rounds 3 [--results flatland_env_speedup]

- raw: `RailEnv` with flatland's `FlattenedNormalizedTreeObsForRailEnv` (observations of every
  agent every step), random actions for every agent.
- FlatlandEnv: trees only for the agents asked, skipped steps stepped through; random actions
  (among the allowed ones when the observation carries a mask).
- runner: RLlib's `MultiAgentEnvRunner` on `flatland_sparse` sampling with a freshly initialised PPO
  RLModule shared by all agents (the masked one on the fast path; local, no Ray, torch on one thread
  as in an env runner actor), with 1 env and with `--vector` envs per runner.
Paths: "today" is env_config {preset}; "fast" adds `decision_points: true` (trains asked only at
decision cells) and `prefetch_layouts: 2` (a worker process builds the next layouts ahead, one per
env). Steps are flatland steps (skipped ones included), resets and layout generation included. The
measurements are interleaved over `--rounds` rounds and reported as medians, per wall-clock second
and per CPU second of this process (the layout workers' CPU is not in the latter; they run beside
it); every bench first runs one episode untimed (worker start-up, first calls). `--results NAME`
writes docs/results/NAME.json: the fast runner's steps/s over today's, 1 env.
"""

import argparse
import json
import sys
import time

import numpy as np
from flatland.envs.predictions import ShortestPathPredictorForRailEnv
from flatland.ml.observations.flatten_tree_observation_for_rail_env import FlattenedNormalizedTreeObsForRailEnv
from rich.console import Console
from rich.table import Table

from rllib_il.envs.flatland.env import FlatlandEnv
from rllib_il.envs.flatland.layouts import build
from rllib_il.workflow.measured import write_measured


def timed(run):
    """run() -> steps; returns (steps per wall second, steps per CPU second)."""
    wall, cpu = time.perf_counter(), time.process_time()
    steps = run()
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


FAST = {"decision_points": True, "prefetch_layouts": 2}


class Raw:
    """flatland RailEnv as FlatlandEnv builds it, but with flatland computing every tree itself."""

    def __init__(self, env_config):
        self.env = FlatlandEnv(env_config)
        self.rng = np.random.default_rng(0)
        self.seed = 0

    def run(self, steps):
        done_steps = 0
        while done_steps < steps:
            rail_env = build(self.env.config, self.seed)
            rail_env.obs_builder = FlattenedNormalizedTreeObsForRailEnv(
                max_depth=self.env.config["tree_depth"],
                predictor=ShortestPathPredictorForRailEnv(max_depth=self.env.config["predictor_depth"]),
            )
            rail_env.obs_builder.reset(rail_env)
            dones = {"__all__": False}
            while not dones["__all__"]:
                _, _, dones, _ = rail_env.step({h: int(self.rng.integers(5)) for h in rail_env.get_agent_handles()})
            done_steps += rail_env._elapsed_steps
            self.seed += 1
        return done_steps


class Wrapper:
    def __init__(self, env_config):
        self.env = FlatlandEnv(env_config)
        self.rng = np.random.default_rng(0)
        self.seed = 0

    def act(self, o):
        allowed = np.flatnonzero(o[-5:]) if self.env.action_mask_in_observation else np.arange(5)
        return int(self.rng.choice(allowed))

    def run(self, steps):
        start = self.env.num_rail_steps
        while self.env.num_rail_steps - start < steps:
            obs, _ = self.env.reset(seed=self.seed)
            done = False
            while not done:
                obs, _, terminateds, truncateds, _ = self.env.step({aid: self.act(o) for aid, o in obs.items()})
                done = terminateds["__all__"] or truncateds["__all__"]
            self.seed += 1
        return self.env.num_rail_steps - start


class Runner:
    def __init__(self, env_config, num_envs):
        import torch
        from ray.rllib.algorithms.ppo import PPOConfig
        from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

        from rllib_il.algorithms.action_masking import with_action_masking
        from rllib_il.core.constants import SHARED_MODULE_ID

        torch.set_num_threads(1)
        config = (
            PPOConfig()
            .environment(FlatlandEnv, env_config=env_config)
            .multi_agent(policies={SHARED_MODULE_ID}, policy_mapping_fn=lambda aid, ep, **kw: SHARED_MODULE_ID)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=num_envs)
            .debugging(seed=0)
        )
        config = with_action_masking(config)
        self.runner = MultiAgentEnvRunner(config=config)
        self.envs = [e.unwrapped for e in self.runner.env.envs]

    def rail_steps(self):
        return sum(e.num_rail_steps for e in self.envs)

    def run(self, steps):
        start = self.rail_steps()
        while self.rail_steps() - start < steps:
            self.runner.sample(num_timesteps=100)
        return self.rail_steps() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="small_v0")
    p.add_argument("--steps", type=int, default=1000, help="flatland steps per measurement")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--vector", type=int, default=4, help="envs per env runner in the vectorised runner rows")
    p.add_argument("--results", metavar="NAME", help="write docs/results/NAME.json")
    args = p.parse_args()
    today, fast = {"preset": args.preset}, {"preset": args.preset, **FAST}
    benches = {("raw RailEnv + tree obs", "today"): Raw(today)}
    for path, env_config in (("today", today), ("fast", fast)):
        benches[("FlatlandEnv", path)] = Wrapper(env_config)
        benches[("MultiAgentEnvRunner + PPO module, 1 env", path)] = Runner(env_config, 1)
        benches[(f"MultiAgentEnvRunner + PPO module, {args.vector} envs", path)] = Runner(env_config, args.vector)
    for bench in benches.values():  # warm-up: first resets, layout workers starting, torch's first calls
        bench.run(1)
    rates = {key: [] for key in benches}
    for _ in range(args.rounds):
        for key, bench in benches.items():
            rates[key].append(timed(lambda bench=bench: bench.run(args.steps)))
    medians = {key: np.median(measured, axis=0) for key, measured in rates.items()}
    table = Table(title=f"Flatland env steps/s, preset {args.preset}, median of {args.rounds} x {args.steps} steps")
    for column in ("env", "path", "steps/s (wall)", "x today", "steps/CPU-s", "x today"):
        table.add_column(column, justify="right")
    for (name, path), (wall, cpu) in medians.items():
        base_wall, base_cpu = medians[(name, "today")]
        table.add_row(name, path, f"{wall:.0f}", f"{wall / base_wall:.2f}", f"{cpu:.0f}", f"{cpu / base_cpu:.2f}")
    Console(width=130).print(table)
    print(f"fast = {json.dumps(FAST)}")
    for benchmark in benches.values():
        for env in getattr(benchmark, "envs", [getattr(benchmark, "env", None)]):
            env.close()
    if args.results:
        runner = "MultiAgentEnvRunner + PPO module, 1 env"
        per_round = [f[0] / t[0] for f, t in zip(rates[(runner, "fast")], rates[(runner, "today")])]
        out = write_measured(
            args.results,
            {
                "command": "python " + " ".join(sys.argv),
                "metric": f"env runner flatland steps/s (wall), fast path {json.dumps(FAST)} over today's, 1 env",
                "seeds": [],
                "per_round": [round(float(r), 3) for r in per_round],
                "mean": round(float(medians[(runner, "fast")][0] / medians[(runner, "today")][0]), 3),
                "std": round(float(np.std(per_round, ddof=1)), 3) if len(per_round) > 1 else 0.0,
                "episodes": None,
                "eval_seeds": "env seed 0 (env runner), reset(seed=i) (FlatlandEnv)",
                "steps_per_second": {
                    f"{name} / {path}": [round(float(v), 1) for v in m] for (name, path), m in medians.items()
                },
            },
        )
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
