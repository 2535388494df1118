"""Scale-out of Ape-X DQfD over env runners on a local multi-node Ray cluster.

    python bench/bench_scaling.py [--iters 2] [--runners 1 2 4]

A `ray.cluster_utils.Cluster` on this machine: a head node with 0 CPUs (the driver and its local
learner live there) and one 1-CPU node per env runner of the largest row, so every runner gets a
node of its own. Each row builds `experiments/cartpole/apex_mixed_IL.yaml` (APEX_DQfD, CartPole-v1,
expert data `saved_experiences/cartpole`, from scratch, evaluation off) with N env runners of 1 CPU,
runs one warm-up iteration (the replay fills, learning starts) and then `--iters` timed iterations:
env steps/s = sampled env steps / wall time, learner updates/s = trained rows / batch size / wall time.
The machine's core count and its 1-minute load average before and after each row are printed with
the table: the nodes are processes sharing this machine's cores, and other jobs share them too.
"""

import argparse
import contextlib
import io
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = ROOT / "experiments/cartpole/apex_mixed_IL.yaml"


def build(num_env_runners: int):
    from rllib_il.algorithms.registry import default_config
    from rllib_il.workflow.trials import load_all

    with contextlib.redirect_stdout(io.StringIO()):  # its dry-run note on restore_from: we start from scratch
        [exp] = load_all([str(EXPERIMENT)], dry_run=True, num_env_runners=num_env_runners)
    config = default_config(exp.run).update_from_dict(exp.trials[0]["config"])
    return config.env_runners(num_cpus_per_env_runner=1).evaluation(evaluation_interval=None).build_algo()


def measure(num_env_runners: int, iters: int) -> dict:
    import ray
    from bench_dqfd import counters

    load_before = os.getloadavg()[0]
    algo = build(num_env_runners)
    try:
        node_of = lambda runner: ray.get_runtime_context().get_node_id()  # noqa: E731
        nodes = set(algo.env_runner_group.foreach_env_runner(node_of, local_env_runner=False))
        first = result = algo.train()  # warm-up
        start = time.perf_counter()
        for _ in range(iters):
            result = algo.train()
        elapsed = time.perf_counter() - start
    finally:
        algo.stop()
    a, b = counters(first), counters(result)
    return {
        "runners": num_env_runners,
        "nodes": len(nodes),
        "env_steps_per_s": (b["env_steps"] - a["env_steps"]) / elapsed,
        "updates_per_s": (b["trained"] - a["trained"]) / algo.config.total_train_batch_size / elapsed,
        "seconds": elapsed,
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=2, help="timed iterations per row (plus 1 warm-up)")
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2, 4], help="env runner counts, one row each")
    args = parser.parse_args()
    if args.iters < 1 or min(args.runners) < 1:
        parser.error("--iters and --runners must be >= 1")
    os.chdir(ROOT)  # the experiment file names its dataset relative to the repository

    import ray
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        for _ in range(max(args.runners)):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        rows = []
        for n in args.runners:
            rows.append(measure(n, args.iters))
            print({k: round(v, 1) for k, v in rows[-1].items()}, flush=True)
    finally:
        ray.shutdown()
        cluster.shutdown()
    print(
        f"\nAPEX_DQfD CartPole-v1 ({EXPERIMENT.relative_to(ROOT)}), {args.iters} timed iterations per row, "
        f"cluster: head 0 CPUs + {max(args.runners)} nodes x 1 CPU; machine: os.cpu_count() = {os.cpu_count()}"
    )
    print(
        f"{'env runners':>11s} {'nodes used':>10s} {'env steps/s':>11s} {'updates/s':>9s} {'timed s':>7s} "
        f"{'load before':>11s} {'load after':>10s}"
    )
    for r in rows:
        print(
            f"{r['runners']:11d} {r['nodes']:10d} {r['env_steps_per_s']:11.1f} {r['updates_per_s']:9.1f} "
            f"{r['seconds']:7.1f} {r['load_before']:11.2f} {r['load_after']:10.2f}"
        )


if __name__ == "__main__":
    main()
