"""Trains the imitation library's GAIL or SQIL on demonstrations from an npz file; evaluates the final policies.

    bench/.venv-imitation/bin/python bench/imitation_library/run_imitation.py --algo gail \
        --demos demos.npz --env-steps 300000 --seeds 0 1 2 --out gail.json

Runs in bench/.venv-imitation (made by bench/imitation_library/setup.sh), never in rllib_il's venv:
imitation 1.0.1 needs gymnasium 0.29 and stable-baselines3 2.2. bench/bench_imitation_library.py writes
the npz (`obs` with each episode's final observation, `acts`, `lengths`, `terminated`, the reset `seeds`
and the `env` id) and reads the JSON this script writes.

The npz episodes are replayed from their seeds first: every observation must come back, so the env here
is the one the demonstrations were recorded in. The env's reward never reaches training: GAIL's
generator (SB3 PPO) sees the discriminator's reward (imitation's RewardVecEnvWrapper), SQIL's replay
(imitation's SQILReplayBuffer, SB3 DQN) stores 1 on demonstration steps and 0 on the agent's.
Each seed's final policy is evaluated greedily (deterministic=True) on the raw env, one episode per
reset seed `--eval-seed`, `--eval-seed` + 1, ...

Knobs set (imitation's and SB3's defaults otherwise):
- both: the policy's hidden layers (`--policy-hiddens`), `--n-envs` envs, the seed;
- GAIL: BasicRewardNet with `--disc-hiddens` and RunningNorm inputs (imitation's GAIL example);
  demo_batch_size 1024 (imitation's training-script default; capped at the demonstrations' steps);
  allow_variable_horizon (LunarLander's episodes end on landing or crashing); PPO's n_steps
  2048 / n_envs, so each round collects SB3's default 2048 steps whatever the number of envs;
- SQIL: learning_starts 100 (SB3 2.2's 50,000 is its Atari setting; SB3 2.3 made 100 the default);
  gradient_steps = n_envs, so DQN keeps its default one update per 4 env steps with several envs.
"""

import argparse
import json
import math
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import Box2D
import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.envs.box2d.lunar_lander import LunarLander
from imitation.algorithms.adversarial.gail import GAIL
from imitation.algorithms.sqil import SQIL
from imitation.data.types import Trajectory
from imitation.rewards.reward_nets import BasicRewardNet
from imitation.util import logger
from imitation.util.networks import RunningNorm
from imitation.util.util import make_vec_env
from stable_baselines3 import PPO
from stable_baselines3.common.utils import set_random_seed

# Steps of one PPO update in SB3's defaults (n_steps 2048, one env); GAIL's demo batch in imitation's scripts.
PPO_ROLLOUT_STEPS = 2048
DEMO_BATCH_SIZE = 1024
# Largest observation difference tolerated when the demonstrations are replayed.
REPLAY_TOLERANCE = 1e-5


class LunarLanderV3(LunarLander):
    """gymnasium 0.29's LunarLander-v2 with the changes gymnasium 1.0 made in v3 that act without wind:
    a new Box2D world on every reset (gymnasium's fix for a non-determinism of v2) and the wider
    observation bounds. The third v3 change resets the wind on reset; with enable_wind it would differ."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        high = np.array([2.5, 2.5, 10.0, 10.0, 2 * math.pi, 10.0, 1.0, 1.0], dtype=np.float32)
        low = np.array([-2.5, -2.5, -10.0, -10.0, -2 * math.pi, -10.0, 0.0, 0.0], dtype=np.float32)
        self.observation_space = spaces.Box(low, high)

    def reset(self, *, seed=None, options=None):
        self._destroy()
        self.world = Box2D.b2World(gravity=(0, self.gravity))
        return super().reset(seed=seed, options=options)


if "LunarLander-v3" not in gym.registry:
    gym.register("LunarLander-v3", entry_point=LunarLanderV3, max_episode_steps=1000, reward_threshold=200)


def load_demos(path: Path) -> dict:
    """The npz as {env, trajectories (imitation Trajectory, one per episode), seeds}."""
    data = np.load(path)
    ends = np.cumsum(data["lengths"])
    trajectories = [
        Trajectory(obs=data["obs"][start + i : end + i + 1], acts=data["acts"][start:end], infos=None, terminal=bool(t))
        for i, (start, end, t) in enumerate(zip(ends - data["lengths"], ends, data["terminated"]))
    ]
    return {"env": str(data["env"]), "trajectories": trajectories, "seeds": [int(s) for s in data["seeds"]]}


def check_replay(env_id: str, trajectories: list, seeds: list) -> None:
    """Exits with an error unless each demonstration's actions, replayed from its reset seed, give back
    its observations (and its end): the env of this venv must be the one the demonstrations came from."""
    env = gym.make(env_id)
    for index, (trajectory, seed) in enumerate(zip(trajectories, seeds)):
        observations = [env.reset(seed=seed)[0]]
        for action in trajectory.acts:
            obs, _, terminated, _, _ = env.step(action)
            observations.append(obs)
        gap = float(np.max(np.abs(np.array(observations) - trajectory.obs)))
        if gap > REPLAY_TOLERANCE or terminated != trajectory.terminal:
            sys.exit(f"error: demonstration {index} (seed {seed}) does not replay in {env_id} here (gap {gap:.3g})")


def train_gail(args, venv, trajectories: list, seed: int):
    """imitation's GAIL with an SB3 PPO generator; returns (policy, env steps)."""
    learner = PPO(
        "MlpPolicy",
        venv,
        n_steps=max(2, PPO_ROLLOUT_STEPS // args.n_envs),
        policy_kwargs={"net_arch": args.policy_hiddens},
        seed=seed,
    )
    reward_net = BasicRewardNet(
        venv.observation_space,
        venv.action_space,
        hid_sizes=args.disc_hiddens,
        normalize_input_layer=RunningNorm,
    )
    with tempfile.TemporaryDirectory() as log_dir:
        trainer = GAIL(
            demonstrations=trajectories,
            demo_batch_size=min(DEMO_BATCH_SIZE, sum(len(t) for t in trajectories)),
            venv=venv,
            gen_algo=learner,
            reward_net=reward_net,
            allow_variable_horizon=True,
            custom_logger=logger.configure(log_dir, format_strs=[]),
        )
        if args.env_steps < trainer.gen_train_timesteps:
            sys.exit(f"error: GAIL's rounds take {trainer.gen_train_timesteps} env steps, --env-steps is less")
        trainer.train(args.env_steps)
    return trainer.policy, learner.num_timesteps


def train_sqil(args, venv, trajectories: list, seed: int):
    """imitation's SQIL on SB3 DQN; returns (policy, env steps)."""
    trainer = SQIL(
        venv=venv,
        demonstrations=trajectories,
        policy="MlpPolicy",
        rl_kwargs={
            "policy_kwargs": {"net_arch": args.policy_hiddens},
            "learning_starts": 100,
            "gradient_steps": args.n_envs,
            "seed": seed,
        },
    )
    trainer.train(total_timesteps=args.env_steps)
    return trainer.policy, trainer.rl_algo.num_timesteps


TRAIN = {"gail": train_gail, "sqil": train_sqil}


def evaluate(policy, env_id: str, first_seed: int, episodes: int) -> list:
    """Greedy returns of `policy` on the raw env, one episode per reset seed first_seed, first_seed + 1, ..."""
    env = gym.make(env_id)
    returns = []
    for seed in range(first_seed, first_seed + episodes):
        obs, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            action, _ = policy.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algo", choices=sorted(TRAIN), required=True)
    p.add_argument("--demos", type=Path, required=True, help="npz written by bench/bench_imitation_library.py")
    p.add_argument("--env", default="LunarLander-v3")
    p.add_argument("--env-steps", type=int, required=True, help="env steps of training per seed")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--eval-seed", type=int, default=20_000)
    p.add_argument("--eval-episodes", type=int, default=50)
    p.add_argument("--policy-hiddens", type=int, nargs="+", default=[256, 256])
    p.add_argument("--disc-hiddens", type=int, nargs="+", default=[64, 64])
    p.add_argument("--n-envs", type=int, default=8)
    p.add_argument("--out", type=Path, required=True, help="JSON with every seed's returns")
    args = p.parse_args()
    if not args.demos.is_file():
        sys.exit(f"error: --demos {args.demos}: no such file")
    demos = load_demos(args.demos)
    if demos["env"] != args.env:
        sys.exit(f"error: the demonstrations were recorded in {demos['env']}, not --env {args.env}")
    if demos["seeds"]:
        check_replay(args.env, demos["trajectories"], demos["seeds"])

    # One thread: for these small MLPs torch's intra-op threads cost more than they give (on 2 cores busy
    # with other work, a DQN update took ~100x longer with 2 threads than with 1).
    torch.set_num_threads(1)
    runs = []
    for seed in args.seeds:
        start = time.perf_counter()
        set_random_seed(seed)
        venv = make_vec_env(args.env, rng=np.random.default_rng(seed), n_envs=args.n_envs)
        policy, env_steps = TRAIN[args.algo](args, venv, demos["trajectories"], seed)
        wall_time = time.perf_counter() - start
        venv.close()
        returns = evaluate(policy, args.env, args.eval_seed, args.eval_episodes)
        runs.append(
            {
                "seed": seed,
                "returns": [round(r, 4) for r in returns],
                "mean_return": round(float(np.mean(returns)), 4),
                "env_steps": int(env_steps),
                "wall_time_s": round(wall_time, 1),
            }
        )
        print(f"{args.algo} seed {seed}: {runs[-1]['mean_return']:.1f} after {env_steps} env steps, {wall_time:.0f} s")
    result = {
        "algo": args.algo,
        "env": args.env,
        "demos": len(demos["trajectories"]),
        "demo_steps": sum(len(t) for t in demos["trajectories"]),
        "eval_seeds": f"{args.eval_seed}-{args.eval_seed + args.eval_episodes - 1}, greedy",
        "policy_hiddens": args.policy_hiddens,
        "disc_hiddens": args.disc_hiddens if args.algo == "gail" else None,
        "n_envs": args.n_envs,
        "versions": {name: version(name) for name in ("imitation", "stable-baselines3", "gymnasium", "torch")},
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
