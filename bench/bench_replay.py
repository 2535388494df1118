"""Sampling cost of the mixed expert + simulation buffer against RLlib's PrioritizedEpisodeReplayBuffer.

    python bench/bench_replay.py                          # batch sizes 32, 128, 256; shipped CartPole data
    python bench/bench_replay.py --batch-sizes 1024 --rounds 20

Both buffers hold the same episodes: `--expert-data` demonstrations (for ours in its expert part, 25 % of
each batch) plus `--sim-steps` env steps of random CartPole play. One round = `sample(batch, n_step=3)`
+ `update_priorities` with one TD error per row, as Ape-X DQfD's learner does per update. The
best of `--repeats` runs of `--rounds` rounds is reported (the least disturbed by other load). Ours
builds 7 columns per row (1-step and n-step targets, expert and margin flags), RLlib's 2.
"""

import argparse
import os
import time

import gymnasium as gym
import numpy as np
from ray.rllib.env.single_agent_episode import SingleAgentEpisode
from ray.rllib.utils.replay_buffers.prioritized_episode_buffer import PrioritizedEpisodeReplayBuffer
from rich.console import Console
from rich.table import Table

from rllib_il.offline.dataset import read_episodes
from rllib_il.replay.mixed_episode_buffer import MixedPrioritizedEpisodeReplayBuffer


def random_play(env_name: str, steps: int, seed: int) -> list:
    """Episodes of uniformly random actions, `steps` env steps in all."""
    env = gym.make(env_name)
    env.action_space.seed(seed)
    episodes, episode = [], None
    for t in range(steps):
        if episode is None:
            episode = SingleAgentEpisode(observation_space=env.observation_space, action_space=env.action_space)
            obs, _ = env.reset(seed=seed + t)
            episode.add_env_reset(obs)
        action = env.action_space.sample()
        obs, reward, terminated, truncated, _ = env.step(action)
        episode.add_env_step(obs, action, reward, terminated=terminated, truncated=truncated)
        if terminated or truncated or t == steps - 1:
            episodes.append(episode.to_numpy())
            episode = None
    return episodes


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
    parser.add_argument("--sim-steps", type=int, default=20000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 256])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    expert, sim = read_episodes(args.expert_data), random_play(args.env, args.sim_steps, seed=0)
    capacity = args.sim_steps + sum(len(e) for e in expert)
    ours = MixedPrioritizedEpisodeReplayBuffer(capacity, expert_episodes=expert, expert_fraction=0.25, seed=0)
    ours.add(sim)
    stock = PrioritizedEpisodeReplayBuffer(capacity)
    stock.add(expert + sim)

    table = Table(title="sample(n_step=3) + update_priorities per round (best of repeats)")
    for column in ("batch", "ours ms", "RLlib ms", "ours / RLlib", "ours rows/s"):
        table.add_column(column, justify="right")
    for batch_size in args.batch_sizes:
        mine, theirs = (
            min(seconds_per_round(buffer, batch_size, args.rounds) for _ in range(args.repeats))
            for buffer in (ours, stock)
        )
        table.add_row(str(batch_size), f"{mine * 1e3:.2f}", f"{theirs * 1e3:.2f}", f"{mine / theirs:.2f}",
                      f"{batch_size / mine:,.0f}")
    Console().print(table)
    print(f"{ours.expert.get_num_timesteps()} expert + {ours.get_num_timesteps()} simulation env steps; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
