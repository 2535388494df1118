"""Env steps/s: raw flatland RailEnv with tree obs vs FlatlandEnv vs an RLlib MultiAgentEnvRunner.

    python bench/bench_flatland_env.py --preset small_v0 --steps 1000 --rounds 3

- raw: `RailEnv` with flatland's `FlattenedNormalizedTreeObsForRailEnv` (observations of every
  agent every step), random actions for every agent.
- wrapper: `FlatlandEnv` (trees only for agents that must act, skipped steps), random actions.
- runner: RLlib's `MultiAgentEnvRunner` on `flatland_sparse` sampling with a PPO RLModule shared
  by all agents (local, no Ray, torch on one thread as in an env runner actor), with 1 env and
  with `--vector` envs per runner.
Steps are flatland steps (skipped ones included), resets and layout generation included. The
measurements are interleaved over `--rounds` rounds and reported as medians, both per wall-clock
second and per CPU second of this process (the latter is less sensitive to other load on the machine).
"""

import argparse
import time

import numpy as np
from flatland.envs.predictions import ShortestPathPredictorForRailEnv
from flatland.ml.observations.flatten_tree_observation_for_rail_env import FlattenedNormalizedTreeObsForRailEnv
from rich.console import Console
from rich.table import Table

from rllib_il.envs.flatland.env import FlatlandEnv


def timed(run):
    """run() -> steps; returns (steps per wall second, steps per CPU second)."""
    wall, cpu = time.perf_counter(), time.process_time()
    steps = run()
    return steps / (time.perf_counter() - wall), steps / (time.process_time() - cpu)


class Raw:
    """flatland RailEnv as FlatlandEnv builds it, but with flatland computing every tree itself."""

    def __init__(self, env_config):
        self.env = FlatlandEnv(env_config)
        self.rng = np.random.default_rng(0)
        self.seed = 0

    def run(self, steps):
        done_steps = 0
        while done_steps < steps:
            rail_env = self.env._make_rail_env(self.seed)
            rail_env.obs_builder = FlattenedNormalizedTreeObsForRailEnv(
                max_depth=self.env.config["tree_depth"],
                predictor=ShortestPathPredictorForRailEnv(max_depth=self.env.config["predictor_depth"]),
            )
            rail_env.reset(random_seed=self.seed)
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

    def run(self, steps):
        start = self.env.num_rail_steps
        while self.env.num_rail_steps - start < steps:
            obs, _ = self.env.reset(seed=self.seed)
            done = False
            while not done:
                obs, _, terminateds, truncateds, _ = self.env.step({aid: int(self.rng.integers(5)) for aid in obs})
                done = terminateds["__all__"] or truncateds["__all__"]
            self.seed += 1
        return self.env.num_rail_steps - start


class Runner:
    def __init__(self, env_config, num_envs):
        import torch
        from ray.rllib.algorithms.ppo import PPOConfig
        from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner

        from rllib_il.core.constants import SHARED_MODULE_ID
        from rllib_il.envs.flatland.env import FlatlandEnv

        torch.set_num_threads(1)
        config = (
            PPOConfig()
            .environment(FlatlandEnv, env_config=env_config)
            .multi_agent(policies={SHARED_MODULE_ID}, policy_mapping_fn=lambda aid, ep, **kw: SHARED_MODULE_ID)
            .env_runners(num_env_runners=0, num_envs_per_env_runner=num_envs)
            .debugging(seed=0)
        )
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
    p.add_argument("--vector", type=int, default=4, help="envs per env runner in the vectorised runner row")
    args = p.parse_args()
    env_config = {"preset": args.preset}
    benches = {
        "raw RailEnv + tree obs": Raw(env_config),
        "FlatlandEnv": Wrapper(env_config),
        "MultiAgentEnvRunner + PPO module, 1 env": Runner(env_config, 1),
        f"MultiAgentEnvRunner + PPO module, {args.vector} envs": Runner(env_config, args.vector),
    }
    rates = {name: [] for name in benches}
    for _ in range(args.rounds):
        for name, bench in benches.items():
            rates[name].append(timed(lambda bench=bench: bench.run(args.steps)))
    raw_wall, raw_cpu = np.median(rates["raw RailEnv + tree obs"], axis=0)
    table = Table(title=f"Flatland env steps/s, preset {args.preset}, median of {args.rounds} x {args.steps} steps")
    for column in ("env", "steps/s (wall)", "x raw", "steps/CPU-s", "x raw"):
        table.add_column(column, justify="right")
    for name, measured in rates.items():
        wall, cpu = np.median(measured, axis=0)
        table.add_row(name, f"{wall:.0f}", f"{wall / raw_wall:.2f}", f"{cpu:.0f}", f"{cpu / raw_cpu:.2f}")
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
