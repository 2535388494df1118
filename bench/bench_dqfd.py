"""Throughput and sample efficiency of DQfD against RLlib's DQN with identical settings.

    python bench/bench_dqfd.py --expert-data saved_experiences/cartpole [--iterations 5 --repeats 2]
    python bench/bench_dqfd.py --expert-data saved_experiences/cartpole --learning --seeds 0 1 2

Throughput (default):
Both algorithms run the same env, network, batch size, n-step, rollout length, replay capacity and
`training_intensity` on one local env runner; each iteration samples 1000 env steps. Rates come
from RLlib's own counters over the timed iterations (the first iteration, a warm-up in which
learning starts, is excluded):
env steps/s = sampled env steps / wall time, updates/s = trained rows / batch size / wall time.
The algorithms are built side by side and their iterations interleaved (DQN, DQfD, DQfD Phase 1,
DQN, ...) so that load from other processes hits all alike. DQfD's
Phase 1 (pre-training, no env) is timed too. The load average is printed: on a shared machine
absolute numbers move, the DQfD/DQN ratio is what this measures.

Learning (`--learning`): env steps until the greedy evaluation return (mean of 5 episodes, after
every 1000 env steps) reaches `--target`, for DQfD Phase 2 (after `--pretrain-updates` Phase 1
updates, which sample no env step) and DQN from scratch, per seed, within `--max-env-steps`.
"""

import argparse
import os
import time

SETTINGS = dict(train_batch_size=32, n_step=3, lr=5e-4, num_steps_sampled_before_learning_starts=1000)


def build(kind: str, env: str, expert_data: str, seed: int, pretrain_iterations: int = 0, evaluate: bool = False):
    from ray.rllib.algorithms.dqn import DQNConfig

    from rllib_il.algorithms.dqfd.dqfd import DQfDConfig

    if kind == "DQN":
        config = DQNConfig().training(**SETTINGS).reporting(min_sample_timesteps_per_iteration=1000)
    else:
        fraction = 1.0 if kind == "DQfD-phase1" else 0.25
        if pretrain_iterations:
            fraction = [[0, 1.0], [pretrain_iterations - 1, 1.0], [pretrain_iterations, 0.25]]
        config = DQfDConfig().training(
            **SETTINGS,
            expert_data=expert_data,
            expert_fraction=fraction,
            mixed_env_steps_per_iteration=1000,
            pretrain_updates_per_iteration=200,
        )
    if evaluate:
        config.evaluation(evaluation_interval=1, evaluation_duration=5, evaluation_config={"explore": False}).training(
            epsilon=[(0, 1.0), (5000, 0.02)]
        )
    return (
        config.environment(env)
        .env_runners(num_env_runners=0, rollout_fragment_length=4)
        .training(replay_buffer_config={"capacity": 50000, "alpha": 0.6, "beta": 0.4})
        .rl_module(model_config={"fcnet_hiddens": [64, 64]})
        .debugging(seed=seed)
        .build_algo()
    )


def measure(kinds, env: str, expert_data: str, iterations: int, seed: int) -> dict:
    """Interleaved timing: one iteration of each algorithm in turn, so load changes hit all alike."""
    algos = {kind: build(kind, env, expert_data, seed) for kind in kinds}
    elapsed = dict.fromkeys(kinds, 0.0)
    try:
        first = {kind: counters(algo.train()) for kind, algo in algos.items()}  # warm-up, learning starts
        last = dict(first)
        for _ in range(iterations):
            for kind, algo in algos.items():
                start = time.perf_counter()
                last[kind] = counters(algo.train())
                elapsed[kind] += time.perf_counter() - start
    finally:
        for algo in algos.values():
            algo.stop()
    batch = SETTINGS["train_batch_size"]
    return {
        kind: {
            "env_steps_per_s": (last[kind]["env_steps"] - first[kind]["env_steps"]) / elapsed[kind],
            "updates_per_s": (last[kind]["trained"] - first[kind]["trained"]) / batch / elapsed[kind],
        }
        for kind in kinds
    }


def counters(result: dict) -> dict:
    return {
        "env_steps": result.get("env_runners", {}).get("num_env_steps_sampled_lifetime", 0),
        "trained": result["learners"]["__all_modules__"]["num_env_steps_trained_lifetime"],
    }


def steps_to_target(kind, args, seed) -> dict:
    """Env steps sampled when the evaluation return first reaches the target (None: never)."""
    pretrain = args.pretrain_updates // 200 if kind == "DQfD" else 0
    algo = build(kind, args.env, args.expert_data, seed, pretrain_iterations=pretrain, evaluate=True)
    returns = []
    try:
        while True:
            result = algo.train()
            steps = result.get("env_runners", {}).get("num_env_steps_sampled_lifetime", 0)
            returns.append((int(steps), round(result["evaluation"]["env_runners"]["episode_return_mean"], 1)))
            print(kind, seed, returns[-1], flush=True)
            if returns[-1][1] >= args.target or steps >= args.max_env_steps:
                break
    finally:
        algo.stop()
    reached = returns[-1][1] >= args.target
    return {"kind": kind, "seed": seed, "env_steps": returns[-1][0] if reached else None, "curve": returns}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--expert-data", required=True, help="demonstrations for DQfD (saved_experiences/...)")
    parser.add_argument("--iterations", type=int, default=5, help="timed iterations per run (plus 1 warm-up)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--learning", action="store_true", help="measure env steps to --target instead")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--target", type=float, default=450.0)
    parser.add_argument("--max-env-steps", type=int, default=20000)
    parser.add_argument("--pretrain-updates", type=int, default=1000, help="DQfD Phase 1 updates (multiple of 200)")
    args = parser.parse_args()

    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    if args.learning:
        try:
            runs = [steps_to_target(kind, args, seed) for seed in args.seeds for kind in ("DQfD", "DQN")]
        finally:
            ray.shutdown()
        print(
            f"\n{args.env}: env steps to eval return {args.target} (budget {args.max_env_steps}), "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        for run in runs:
            print(run["kind"], "seed", run["seed"], run["env_steps"] or f"not reached ({run['curve'][-1]})")
        return
    rows = {"DQN": [], "DQfD": [], "DQfD-phase1": []}
    try:
        for repeat in range(args.repeats):
            for kind, rates in measure(list(rows), args.env, args.expert_data, args.iterations, repeat).items():
                rows[kind].append(rates)
                print(kind, repeat, {k: round(v, 1) for k, v in rates.items()}, flush=True)
    finally:
        ray.shutdown()
    mean = {kind: {k: sum(r[k] for r in runs) / len(runs) for k in runs[0]} for kind, runs in rows.items()}
    print(
        f"\n{args.env}, {args.repeats} x {args.iterations} timed iterations, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"{'':12s} {'env steps/s':>12s} {'updates/s':>10s}")
    for kind, m in mean.items():
        print(f"{kind:12s} {m['env_steps_per_s']:12.1f} {m['updates_per_s']:10.1f}")
    for key in ("env_steps_per_s", "updates_per_s"):
        print(f"DQfD / DQN {key}: {mean['DQfD'][key] / mean['DQN'][key]:.2f}")


if __name__ == "__main__":
    main()
