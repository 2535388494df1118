"""Scripted experts for continuous actions: Pendulum swing-up, InvertedDoublePendulum LQR, continuous LunarLander."""

import sys

import gymnasium as gym
import numpy as np
import pytest

from rllib_il.core.errors import ConfigError
from rllib_il.experts import make_expert

CONTINUOUS_TASKS = [
    ("Pendulum-v1", {}, "pendulum_swingup"),
    ("InvertedDoublePendulum-v5", {}, "inverted_double_pendulum_lqr"),
    ("LunarLander-v3", {"continuous": True}, "lunarlander_heuristic"),
]


def _run(env, expert, obs):
    """Return and observations of the rest of an episode from `obs`, the env's observation after a reset."""
    expert.reset(env, obs)
    total, observations, done = 0.0, [obs], False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(expert.act(obs)[0])
        total, done = total + reward, terminated or truncated
        observations.append(obs)
    return total, np.array(observations)


def _episode(env, expert, seed):
    return _run(env, expert, env.reset(seed=seed)[0])


def _pendulum_angles(observations):
    return np.abs(np.arctan2(observations[:, 1], observations[:, 0]))


@pytest.mark.parametrize("env_id, env_kwargs, name", CONTINUOUS_TASKS)
def test_actions_are_float32_inside_the_box_with_logp_zero(env_id, env_kwargs, name):
    env = gym.make(env_id, **env_kwargs)
    expert = make_expert(name, env)
    obs, _ = env.reset(seed=0)
    expert.reset(env, obs)
    for _ in range(100):
        action, logp = expert.act(obs)
        assert action.dtype == np.float32 and action.shape == env.action_space.shape
        assert env.action_space.contains(action) and logp == 0.0
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break


def test_pendulum_swings_up_and_holds_the_top():
    env = gym.make("Pendulum-v1")
    expert = make_expert("pendulum_swingup", env)
    episodes = [_episode(env, expert, seed) for seed in range(3)]
    assert np.mean([total for total, _ in episodes]) > -300
    for _, observations in episodes:
        assert _pendulum_angles(observations[-50:]).max() < 0.05


def test_pendulum_hanging_at_rest_is_pushed_off_and_swung_up():
    env = gym.make("Pendulum-v1")
    expert = make_expert("pendulum_swingup", env)
    hanging_at_rest = np.array([-1.0, 0.0, 0.0], np.float32)
    assert expert.act(hanging_at_rest)[0] == pytest.approx([env.unwrapped.max_torque])
    env.reset(seed=0)
    env.unwrapped.state = np.array([np.pi, 0.0])
    total, observations = _run(env, expert, hanging_at_rest)
    assert total > -400 and _pendulum_angles(observations[-50:]).max() < 0.05


def test_inverted_double_pendulum_lqr_balances_for_the_whole_episode():
    env = gym.make("InvertedDoublePendulum-v5")
    expert = make_expert("inverted_double_pendulum_lqr", env)
    assert all(_episode(env, expert, seed)[0] > 9300 for seed in range(2))


def test_inverted_double_pendulum_lqr_without_mujoco_is_one_config_error(monkeypatch):
    env = gym.make("InvertedDoublePendulum-v5")
    monkeypatch.setitem(sys.modules, "mujoco", None)  # makes `import mujoco` raise ImportError
    with pytest.raises(ConfigError, match=r"expert inverted_double_pendulum_lqr needs mujoco: pip install 'mujoco'"):
        make_expert("inverted_double_pendulum_lqr", env)


def test_continuous_lunarlander_heuristic_lands():
    env = gym.make("LunarLander-v3", continuous=True)
    expert = make_expert("lunarlander_heuristic", env)
    assert np.mean([_episode(env, expert, seed)[0] for seed in range(3)]) > 200
