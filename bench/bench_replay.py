"""Sampling cost of the mixed expert + simulation buffer against RLlib's PrioritizedEpisodeReplayBuffer.

    python bench/bench_replay.py                          # batch sizes 32, 128, 256; shipped CartPole data
    python bench/bench_replay.py --batch-sizes 1024 --rounds 20

Both buffers hold the same episodes: `--expert-data` demonstrations (for ours in its expert part, 25 % of
each batch) plus `--sim-episodes` episodes of random play recorded by `rllib_il.rollout.workers.record`.
One round = `sample(batch, n_step=3)` + `update_priorities` with one TD error per row, as Ape-X DQfD's
learner does per update; alpha 0.6 for both. After one untimed round each, `--repeats` times `--rounds`
rounds of ours then of RLlib's (interleaved, so load changes hit both): the best time of each and the
median and range of the per-repeat ratio. Ours builds 7 columns per row (1-step and n-step targets,
expert and margin flags), RLlib's 2.
"""

import argparse
import os
import time

import numpy as np
from ray.rllib.utils.replay_buffers.prioritized_episode_buffer import PrioritizedEpisodeReplayBuffer
from rich.console import Console
from rich.table import Table

from rllib_il.data import read_episodes
from rllib_il.replay.columns import IS_EXPERT, MARGIN_MASK
from rllib_il.replay.mixed_buffer import MixedEpisodeReplayBuffer
from rllib_il.replay.nstep_buffer import NStepPrioritizedEpisodeBuffer
from rllib_il.rollout.workers import record


def seconds_per_round(buffer, batch_size: int, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        buffer.sample(batch_size, n_step=3, beta=0.4, gamma=0.99)
        buffer.update_priorities(np.ones(batch_size))
    return (time.perf_counter() - start) / rounds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expert-data", default="saved_experiences/cartpole")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--sim-episodes", type=int, default=900, help="random-play episodes (CartPole: ~20,000 steps)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 256])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    expert = read_episodes(args.expert_data)
    sim, _ = record(args.env, {}, "random", {}, list(range(args.sim_episodes)), progress=False)
    capacity = sum(len(e) for e in expert + sim)
    demonstrations = NStepPrioritizedEpisodeBuffer(
        sum(len(e) for e in expert), priority_bonus=1.0, columns={IS_EXPERT: 1.0, MARGIN_MASK: 1.0}, alpha=0.6, seed=1
    )
    demonstrations.add(expert)
    simulation = NStepPrioritizedEpisodeBuffer(capacity, columns={IS_EXPERT: 0.0, MARGIN_MASK: 0.0}, alpha=0.6, seed=0)
    ours = MixedEpisodeReplayBuffer(simulation, demonstrations, 0.25)
    ours.add(sim)
    stock = PrioritizedEpisodeReplayBuffer(capacity, alpha=0.6)
    stock.rng = np.random.default_rng(0)  # RLlib's own is unseeded
    stock.add(expert + sim)

    table = Table(title=f"sample(n_step=3) + update_priorities per round, {args.repeats} interleaved repeats")
    for column in ("batch", "ours ms (best)", "RLlib ms (best)", "ours / RLlib (median)", "per repeat (min-max)"):
        table.add_column(column, justify="right")
    for batch_size in args.batch_sizes:
        for buffer in (ours, stock):  # warm-up: RLlib imports scipy.signal on its first sample
            seconds_per_round(buffer, batch_size, 1)
        times = np.array(
            [
                [seconds_per_round(buffer, batch_size, args.rounds) for buffer in (ours, stock)]
                for _ in range(args.repeats)
            ]
        )
        ratios = times[:, 0] / times[:, 1]
        table.add_row(
            str(batch_size),
            f"{times[:, 0].min() * 1e3:.2f}",
            f"{times[:, 1].min() * 1e3:.2f}",
            f"{np.median(ratios):.2f}",
            f"{ratios.min():.2f}-{ratios.max():.2f}",
        )
    Console().print(table)
    print(
        f"{demonstrations.get_num_timesteps()} expert + {simulation.get_num_timesteps()} simulation env steps; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
