"""Recording throughput: env episodes/s of `rllib_il.rollout.workers.record` with 1 and 2 workers.

    python bench/bench_record.py                       # CartPole expert + Flatland small_v0 planner
    python bench/bench_record.py --flatland-episodes 40 --cartpole-episodes 200

1 worker records in-process; K > 1 workers are Ray actors (times include creating them, not
`ray.init`). Ray worker processes run at nice 15, so on a machine busy with other work they get a
smaller share of the CPUs than the in-process recorder.
"""

import argparse
import os
import time

import ray
from rich.console import Console
from rich.table import Table

from rllib_il.rollout.workers import record

CASES = {
    "CartPole-v1, cartpole": ("CartPole-v1", {}, "cartpole"),
    "small_v0, planner": ("flatland_sparse", {"preset": "small_v0"}, "flatland_planner"),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cartpole-episodes", type=int, default=100)
    parser.add_argument("--flatland-episodes", type=int, default=40)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    if max(args.workers) > 1:
        ray.init(num_cpus=max(args.workers), include_dashboard=False, log_to_driver=False)
    table = Table(title="recording throughput (env episodes/s, env steps/s)")
    for column in ("env / expert", "workers", "episodes", "seconds", "episodes/s", "steps/s"):
        table.add_column(column, justify="right")
    for (label, (env, env_config, expert)), n in zip(CASES.items(), (args.cartpole_episodes, args.flatland_episodes)):
        for workers in args.workers:
            start = time.perf_counter()
            _, stats = record(env, env_config, expert, {}, list(range(n)), num_workers=workers, progress=False)
            seconds = time.perf_counter() - start
            steps = sum(s.length for s in stats)
            table.add_row(label, str(workers), str(n), f"{seconds:.1f}", f"{n / seconds:.2f}", f"{steps / seconds:.0f}")
    ray.shutdown()
    Console().print(table)
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
