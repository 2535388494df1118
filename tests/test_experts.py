"""Experts registry, scripted gymnasium experts, the random expert and checkpoint experts."""

import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from rllib_il.core.errors import ConfigError
from rllib_il.envs import make_env
from rllib_il.experts import EXPERTS, expert_class, make_expert
from rllib_il.experts.base import Expert


def _returns(env, expert, seeds):
    out = []
    for seed in seeds:
        obs, _ = env.reset(seed=seed)
        expert.reset(env, obs)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(expert.act(obs)[0])
            total, done = total + reward, terminated or truncated
        out.append(total)
    return np.array(out)


def test_registry_resolves_every_name():
    for name in EXPERTS:
        assert issubclass(expert_class(name), Expert), name
    with pytest.raises(ConfigError, match="expert 'nope' is unknown"):
        make_expert("nope", None)


def test_cartpole_expert_balances_to_the_time_limit():
    env = gym.make("CartPole-v1")
    expert = make_expert("cartpole", env)
    assert expert.act(np.zeros(4, np.float32))[1] == 0.0
    assert (_returns(env, expert, range(3)) == 500).all()


def test_lunarlander_heuristic_lands():
    env = gym.make("LunarLander-v3")
    assert _returns(env, make_expert("lunarlander_heuristic", env), range(5)).mean() > 200


def test_lunarlander_without_box2d_is_one_config_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "Box2D", None)  # makes `import Box2D` raise ImportError
    for name in [m for m in sys.modules if m.startswith("gymnasium.envs.box2d")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ConfigError, match="LunarLander-v3: a dependency is missing"):
        make_env("LunarLander-v3")
    from rllib_il.cli.record import main

    argv = [
        "--env",
        "LunarLander-v3",
        "--expert",
        "lunarlander_heuristic",
        "--episodes",
        "1",
        "--out",
        str(tmp_path / "ll"),
    ]
    assert main(argv) == 2
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "ll").exists()


def test_random_expert_logp_and_seeding():
    env = gym.make("CartPole-v1")
    expert = make_expert("random", env)
    expert.seed(3)
    first = [expert.act(None) for _ in range(20)]
    expert.seed(3)
    assert [expert.act(None) for _ in range(20)] == first
    assert {a for a, _ in first} == {0, 1} and all(lp == pytest.approx(np.log(0.5)) for _, lp in first)


def test_random_expert_on_flatland_acts_per_agent():
    env = make_env("flatland_sparse", {"preset": "small_v0"})
    obs, _ = env.reset(seed=0)
    actions, logps = make_expert("random", env).act(obs)
    assert set(actions) == set(logps) == set(obs)
    assert all(0 <= a < 5 for a in actions.values()) and all(lp == pytest.approx(-np.log(5)) for lp in logps.values())


def _save_checkpoint(path, module_ids=("default_policy",), obs_space=None):
    """A checkpoint with the layout of an Algorithm checkpoint, holding fresh PPO modules."""
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    env = gym.make("CartPole-v1")
    for module_id in module_ids:
        module = RLModuleSpec(
            module_class=DefaultPPOTorchRLModule,
            observation_space=obs_space or env.observation_space,
            action_space=env.action_space,
            model_config={"fcnet_hiddens": [8]},
        ).build()
        module.save_to_path(path / "learner_group" / "learner" / "rl_module" / module_id)
    return module


def test_checkpoint_expert_greedy_and_sampling(tmp_path):
    from ray.rllib.core.columns import Columns

    module = _save_checkpoint(tmp_path)
    env = gym.make("CartPole-v1")
    obs = np.array([0.1, -0.2, 0.05, 0.3], np.float32)
    with torch.no_grad():
        logits = module.forward_inference({Columns.OBS: torch.as_tensor(obs[None])})[Columns.ACTION_DIST_INPUTS][0]
    logp = torch.log_softmax(logits, -1).numpy()

    greedy = make_expert("checkpoint", env, checkpoint=str(tmp_path))
    assert greedy.act(obs) == (int(np.argmax(logp)), 0.0)

    sampler = make_expert("checkpoint", env, checkpoint=str(tmp_path), explore=True)
    sampler.seed(0)
    draws = [sampler.act(obs) for _ in range(200)]
    for action, lp in draws:
        assert lp == pytest.approx(logp[action], abs=1e-5)
    assert abs(np.mean([a for a, _ in draws]) - np.exp(logp[1])) < 0.15


def test_checkpoint_expert_errors(tmp_path):
    env = gym.make("CartPole-v1")
    with pytest.raises(ConfigError, match="needs --checkpoint"):
        make_expert("checkpoint", env)
    with pytest.raises(ConfigError, match="not an RLlib Algorithm checkpoint"):
        make_expert("checkpoint", env, checkpoint=str(tmp_path))
    _save_checkpoint(tmp_path / "two", module_ids=("a", "b"))
    with pytest.raises(ConfigError, match="choose one with module_id"):
        make_expert("checkpoint", env, checkpoint=str(tmp_path / "two"))
    with pytest.raises(ConfigError, match="no module 'c'"):
        make_expert("checkpoint", env, checkpoint=str(tmp_path / "two"), module_id="c")
    _save_checkpoint(tmp_path / "other", obs_space=gym.make("LunarLander-v3").observation_space)
    with pytest.raises(ConfigError, match="observation space .* does not match") as error:
        make_expert("checkpoint", env, checkpoint=str(tmp_path / "other"))
    assert "\n" not in str(error.value)  # long Box bounds stay on one line
