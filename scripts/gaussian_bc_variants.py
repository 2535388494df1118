"""Behaviour cloning of the Pendulum swing-up with four Gaussian policy variants, in plain torch: why the
continuous experiment files use `free_log_std: true` and thousands of updates (they train 5,000).

    python scripts/gaussian_bc_variants.py [--episodes 100] [--seeds 0 1 2] [--eval-episodes 30]

The demonstrations are recorded in-process with `pendulum_swingup` (seeds 0 ..); each variant trains a
[64, 64] ReLU network by maximum likelihood on the actions in [-1, 1] (minibatches of 512, Adam 1e-3),
plain or tanh-squashed Gaussian, with a log-std that is a function of the state or one free parameter
per dimension, for a given number of updates; each is evaluated greedily (mu, or tanh(mu)) on seeds
20000 ... Prints one table row per variant with the return per training seed.
"""

import argparse

import gymnasium as gym
import numpy as np
import torch

from rllib_il.experts import make_expert

EVAL_SEED = 20_000


def demonstrations(episodes: int):
    env = gym.make("Pendulum-v1")
    expert = make_expert("pendulum_swingup", env)
    obs_rows, action_rows = [], []
    for seed in range(episodes):
        obs, _ = env.reset(seed=seed)
        for _ in range(200):
            action, _ = expert.act(obs)
            obs_rows.append(obs)
            action_rows.append(action / env.action_space.high)
            obs, *_ = env.step(action)
    return torch.as_tensor(np.array(obs_rows)), torch.as_tensor(np.array(action_rows))


def train(obs, actions, squash: bool, free_std: bool, updates: int, seed: int):
    """The greedy policy obs -> action in [-1, 1] after `updates` maximum-likelihood steps."""
    torch.manual_seed(seed)
    outputs = 1 if free_std else 2  # mean, and the log-std when it is a function of the state
    body = torch.nn.Sequential(
        torch.nn.Linear(3, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, outputs)
    )
    free_log_std = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([*body.parameters(), free_log_std], 1e-3)
    for _ in range(updates):
        rows = torch.randint(len(obs), (512,))
        out, a = body(obs[rows]), actions[rows]
        mean = out[:, :1]
        log_std = (free_log_std.expand_as(mean) if free_std else out[:, 1:]).clamp(-20, 2)
        if squash:  # log N(atanh u; mu, sigma) - log(1 - u^2), as RLlib's squashed Gaussian
            u = a.clamp(-1 + 1e-6, 1 - 1e-6)
            logp = torch.distributions.Normal(mean, log_std.exp()).log_prob(torch.atanh(u)) - torch.log(1 - u**2)
        else:
            logp = torch.distributions.Normal(mean, log_std.exp()).log_prob(a)
        loss = -logp.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return lambda o: torch.tanh(body(o)[:, :1]) if squash else body(o)[:, :1].clamp(-1, 1)


@torch.no_grad()
def evaluate(policy, episodes: int) -> float:
    env = gym.make("Pendulum-v1")
    returns = []
    for seed in range(EVAL_SEED, EVAL_SEED + episodes):
        obs, _ = env.reset(seed=seed)
        total = 0.0
        for _ in range(200):
            action = policy(torch.as_tensor(obs[None], dtype=torch.float32)).numpy()[0] * env.action_space.high
            obs, reward, *_ = env.step(action)
            total += reward
        returns.append(total)
    return float(np.mean(returns))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--episodes", type=int, default=100)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--eval-episodes", type=int, default=30)
    args = p.parse_args()
    torch.set_num_threads(1)
    obs, actions = demonstrations(args.episodes)
    print("| policy | log-std | updates | return per seed |")
    print("|---|---|---|---|")
    for squash, free_std, updates in [(True, False, 800), (True, False, 4000), (True, True, 4000), (False, True, 4000)]:
        returns = [evaluate(train(obs, actions, squash, free_std, updates, s), args.eval_episodes) for s in args.seeds]
        name, std = ("tanh-squashed" if squash else "Gaussian"), ("free" if free_std else "of the state")
        print(f"| {name} | {std} | {updates} | {' / '.join(f'{r:.1f}' for r in returns)} |", flush=True)


if __name__ == "__main__":
    main()
