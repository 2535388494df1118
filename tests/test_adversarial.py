"""Adversarial imitation: the discriminator loss, the GAIL / AIRL / FAIRL rewards, the absorbing state
and the gradient penalty against hand computations; the discriminator's inputs and expert rows; the
reward connector on a batch; the GAIL learner built locally (no Ray) through `compute_loss_for_module`,
a full `update` and its state; bad input refused with one line."""

import json
import math
import shutil

import gymnasium as gym
import numpy as np
import pytest
import torch
from local_learner import local_learner
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.env.single_agent_episode import SingleAgentEpisode

from rllib_il.algorithms.expert_data import expert_rows
from rllib_il.algorithms.gail.discriminator import Discriminator, check_discriminator_input
from rllib_il.algorithms.gail.gail import GAILConfig
from rllib_il.algorithms.gail.torch import gail_torch_learner as keys
from rllib_il.algorithms.learned_reward import ABSORBING_REWARD_KEY, REWARD_MEAN_KEY, LearnedReward
from rllib_il.algorithms.ppo_il.torch.ppo_il_torch_learner import PPOILTorchLearner
from rllib_il.algorithms.registry import prepared_config
from rllib_il.core.errors import ConfigError
from rllib_il.data import read_episodes
from rllib_il.losses.adversarial import discriminator_loss, gradient_penalty, imitation_reward, with_absorbing_value

LUNAR = "saved_experiences/lunarlander"
SOFTPLUS_0, SOFTPLUS_1, SOFTPLUS_2 = math.log(2.0), math.log(1.0 + math.e), math.log(1.0 + math.e**2)


def t(x):
    return torch.as_tensor(x, dtype=torch.float32)


def test_discriminator_loss_by_hand():
    # expert logits 0 and 2, policy logit -1: (softplus(0) + softplus(-2)) / 2 + softplus(-1)
    got = discriminator_loss(t([0.0, 2.0]), t([-1.0])).item()
    hand = (math.log(2.0) + math.log(1.0 + math.exp(-2.0))) / 2 + math.log(1.0 + math.exp(-1.0))
    assert got == pytest.approx(hand, rel=1e-6)
    assert hand == pytest.approx(0.72330, abs=1e-5)


@pytest.mark.parametrize(
    "kind, expected",
    [
        ("gail", [SOFTPLUS_0, SOFTPLUS_1, math.log(1.0 + math.exp(-2.0))]),
        ("airl", [0.0, 1.0, -2.0]),
        ("fairl", [0.0, -math.e, 2.0 * math.exp(-2.0)]),
    ],
)
def test_imitation_rewards_by_hand(kind, expected):
    np.testing.assert_allclose(imitation_reward(t([0.0, 1.0, -2.0]), kind).numpy(), expected, rtol=1e-6)


def test_observations_other_than_a_box_are_refused_for_the_discriminator():
    with pytest.raises(ConfigError, match="the discriminator reads Box observations") as e:
        check_discriminator_input(gail_config(), gym.spaces.Dict({"a": gym.spaces.Discrete(2)}))
    assert "\n" not in str(e.value)


def test_unknown_reward_function_is_refused():
    with pytest.raises(ValueError, match="reward_function: 'wgan'"):
        imitation_reward(t([0.0]), "wgan")


def test_absorbing_value_on_a_tiny_episode():
    """Three steps, the last terminal, r(s_a) = 0.5, gamma 0.9: the last reward gains 0.9 * 0.5 / 0.1 = 4.5."""
    got = with_absorbing_value(t([1.0, 1.0, 1.0]), t([0.0, 0.0, 1.0]), t(0.5), 0.9).numpy()
    np.testing.assert_allclose(got, [1.0, 1.0, 5.5], rtol=1e-6)


def test_gradient_penalty_by_hand():
    """h(x) = 3 x0 + 4 x1 has gradient norm 5 everywhere: penalty (5 - 1)^2 = 16 at any mix."""
    w = t([3.0, 4.0])
    got = gradient_penalty(lambda x: x @ w, t([[1.0, 0.0], [0.0, 2.0]]), t([[0.0, 0.0], [1.0, 1.0]]), t([0.3, 0.8]))
    assert got.item() == pytest.approx(16.0)


def test_discriminator_inputs():
    obs_space, actions = gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(3)
    obs, acts = t([[0.5, -0.5], [1.0, 0.0]]), torch.as_tensor([2, 0])
    d = Discriminator(obs_space, actions, hiddens=[4])
    np.testing.assert_array_equal(d.inputs(obs, acts).numpy(), [[0.5, -0.5, 0, 0, 1], [1.0, 0.0, 1, 0, 0]])
    assert d(d.inputs(obs, acts)).shape == (2,)
    state_only = Discriminator(obs_space, actions, hiddens=[4], state_only=True)
    np.testing.assert_array_equal(state_only.inputs(obs, acts).numpy(), obs.numpy())
    absorbing = Discriminator(obs_space, actions, hiddens=[4], absorbing=True)
    got = absorbing.inputs(obs, acts, torch.as_tensor([False, True])).numpy()
    np.testing.assert_array_equal(got, [[0.5, -0.5, 0, 0, 1, 0], [0, 0, 0, 0, 0, 1]])
    np.testing.assert_array_equal(absorbing.absorbing_inputs(2).numpy(), [[0, 0, 0, 0, 0, 1]] * 2)
    box = Discriminator(obs_space, gym.spaces.Box(-1, 1, (2,)), hiddens=[4], spectral_norm=True)
    assert box.inputs(obs, t([[0.1, 0.2], [0.3, 0.4]])).shape == (2, 4)


def test_discriminator_standardises_observations_by_the_demonstrations():
    d = Discriminator(gym.spaces.Box(-9, 9, (2,)), gym.spaces.Discrete(2), hiddens=[4], absorbing=True)
    d.set_observation_scale(np.array([[1.0, 5.0], [3.0, 5.0]], dtype=np.float32))  # mean (2, 5), std (1, 0 -> 1)
    got = d.inputs(t([[4.0, 7.0], [0.0, 0.0]]), torch.as_tensor([1, 0]), torch.as_tensor([False, True])).numpy()
    np.testing.assert_allclose(got, [[2.0, 2.0, 0, 1, 0], [0, 0, 0, 0, 1]])
    assert {"obs_mean", "obs_std"} <= set(d.state_dict())


def gail_config(**training):
    options = {"expert_data": LUNAR, "max_expert_episodes": 2, "discriminator_hiddens": [8], "gamma": 0.9, **training}
    return (
        GAILConfig()
        .environment("LunarLander-v3")
        .training(**options)
        .rl_module(model_config={"fcnet_hiddens": [16]})
        .debugging(seed=0)
    )


def test_expert_rows_are_the_first_episodes_with_one_absorbing_row_each():
    episodes = read_episodes(LUNAR)[:2]
    steps = sum(len(e) for e in episodes)
    obs, actions, absorbing = expert_rows(gail_config(), gym.spaces.Discrete(4), with_absorbing=True)
    terminal = sum(e.is_terminated for e in episodes)
    assert len(obs) == len(actions) == len(absorbing) == steps + terminal and absorbing.sum() == terminal
    np.testing.assert_array_equal(obs[:steps][: len(episodes[0])], np.asarray(episodes[0].get_observations())[:-1])
    np.testing.assert_array_equal(actions[: len(episodes[0])], episodes[0].get_actions())
    assert (obs[absorbing] == 0).all()
    assert len(expert_rows(gail_config(), gym.spaces.Discrete(4))[0]) == steps


def constant_discriminator(logit: float, absorbing_logit=None):
    """A discriminator whose logit is `logit` everywhere (zero weights), and `absorbing_logit` on the
    absorbing state (the flag's weight)."""
    d = Discriminator(
        gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(2), hiddens=[3], absorbing=absorbing_logit is not None
    )
    with torch.no_grad():
        for p in d.parameters():
            p.zero_()
        d.net[-1].bias.fill_(logit)
        if absorbing_logit is not None:  # hidden unit 0 reads the flag, the output adds it
            d.net[0].weight[0, -1] = 1.0
            d.net[-1].weight[0, 0] = absorbing_logit - logit
    return d


def test_reward_connector_replaces_env_rewards():
    """Env rewards 100 are gone: GAIL's softplus(1) on real rows, 0 on the bootstrap row; with the
    absorbing state (logit 2), the terminal row also gains gamma * softplus(2) / (1 - gamma)."""
    batch = {
        Columns.OBS: t(np.zeros((4, 2))),
        Columns.ACTIONS: torch.as_tensor([0, 1, 1, 0]),
        Columns.REWARDS: t([100.0] * 4),
        Columns.LOSS_MASK: torch.as_tensor([True, True, True, False]),
        Columns.TERMINATEDS: torch.as_tensor([False, False, True, False]),
    }
    stats = {}
    plain = LearnedReward(gail_reward(constant_discriminator(1.0)), 0.9, stats)
    out = plain(rl_module=None, batch={"p": dict(batch)}, episodes=[])
    np.testing.assert_allclose(out["p"][Columns.REWARDS].numpy(), [SOFTPLUS_1] * 3 + [0.0], rtol=1e-6)
    assert stats["p"][REWARD_MEAN_KEY] == pytest.approx(SOFTPLUS_1, rel=1e-6)
    d = constant_discriminator(1.0, absorbing_logit=2.0)
    absorbing = LearnedReward(gail_reward(d), 0.9, stats, lambda: imitation_reward(d(d.absorbing_inputs()), "gail")[0])
    out = absorbing(rl_module=None, batch={"p": dict(batch)}, episodes=[])
    expected = [SOFTPLUS_1, SOFTPLUS_1, SOFTPLUS_1 + 0.9 * SOFTPLUS_2 / 0.1, 0.0]
    np.testing.assert_allclose(out["p"][Columns.REWARDS].numpy(), expected, rtol=1e-5)
    assert stats["p"][ABSORBING_REWARD_KEY] == pytest.approx(SOFTPLUS_2, rel=1e-5)


def gail_reward(discriminator):
    return lambda obs, actions: imitation_reward(discriminator(discriminator.inputs(obs, actions)), "gail")


def ppo_batch(learner, n=12, seed=0):
    """A PPO train batch of the module: random LunarLander observations and actions, with the columns
    PPO's loss reads (advantages, value targets, old log-probs from the module itself)."""
    rng = np.random.default_rng(seed)
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    batch = {Columns.OBS: t(rng.normal(size=(n, 8))), Columns.ACTIONS: torch.as_tensor(rng.integers(4, size=n))}
    with torch.no_grad():
        out = module.forward_train(batch)
        dist = module.get_train_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
        batch[Columns.ACTION_LOGP] = dist.logp(batch[Columns.ACTIONS])
    batch[Columns.ACTION_DIST_INPUTS] = out[Columns.ACTION_DIST_INPUTS]
    batch["advantages"] = t(rng.normal(size=n))
    batch["value_targets"] = t(rng.normal(size=n))
    batch[Columns.VF_PREDS] = t(rng.normal(size=n))
    batch[Columns.LOSS_MASK] = torch.as_tensor(np.arange(n) < n - 2)
    batch[Columns.TERMINATEDS] = torch.as_tensor(np.arange(n) == 3)
    return batch, out


def test_gail_learner_adds_the_discriminator_loss_to_ppo_il():
    """Through `compute_loss_for_module`: PPO_IL's loss + L_D, with L_D = softplus(-0) + softplus(0) =
    2 log 2 for a discriminator at logit 0 (zero weights); after the configured number of minibatches
    of an iteration, PPO_IL's loss alone. With the absorbing state, L_D also sees it."""
    config = gail_config(discriminator_updates_per_iteration=1, absorbing_state=True)
    learner = local_learner(config, "LunarLander-v3")
    with torch.no_grad():
        for p in learner.discriminator.parameters():
            p.zero_()
    batch, fwd_out = ppo_batch(learner)
    module_config = learner.config.get_config_for_module(DEFAULT_MODULE_ID)
    reference = PPOILTorchLearner.compute_loss_for_module(
        learner, module_id=DEFAULT_MODULE_ID, config=module_config, batch=batch, fwd_out=fwd_out
    ).item()
    learner.before_gradient_based_update(timesteps={})
    args = dict(module_id=DEFAULT_MODULE_ID, config=module_config, batch=batch, fwd_out=fwd_out)
    assert learner.compute_loss_for_module(**args).item() == pytest.approx(reference + 2 * math.log(2.0), rel=1e-5)
    assert learner.compute_loss_for_module(**args).item() == pytest.approx(reference, rel=1e-6)
    loss, stats = learner.discriminator_loss(module_config, batch)
    assert loss.item() == pytest.approx(2 * math.log(2.0), rel=1e-6)
    assert stats[keys.EXPERT_ACCURACY_KEY] == 0 and stats[keys.POLICY_ACCURACY_KEY] == 0


def random_episodes(env_id="LunarLander-v3", count=2, length=30):
    """Short episodes of uniformly random actions, with the model outputs env runners record: zero
    distribution inputs (uniform Categorical, or a unit Gaussian in RLlib's normalised units for a Box)
    and their log-probabilities; Box actions are recorded in those units."""
    env = gym.make(env_id)
    space = env.action_space
    episodes = []
    for seed in range(count):
        obs, _ = env.reset(seed=seed)
        space.seed(seed)
        episode = SingleAgentEpisode(observations=[obs], observation_space=env.observation_space, action_space=space)
        for _ in range(length):
            if isinstance(space, gym.spaces.Discrete):
                action = space.sample()
                inputs, logp = np.zeros(space.n, np.float32), np.float32(-np.log(space.n))
                env_action = action
            else:
                action = np.random.default_rng(seed).uniform(-1, 1, space.shape).astype(np.float32)
                inputs = np.zeros(2 * space.shape[0], np.float32)
                logp = np.float32(-0.5 * np.sum(action**2) - 0.5 * space.shape[0] * np.log(2 * np.pi))
                env_action = space.low + (action + 1.0) * 0.5 * (space.high - space.low)
            obs, reward, terminated, truncated, _ = env.step(env_action)
            episode.add_env_step(
                obs,
                action,
                reward,
                terminated=terminated,
                truncated=truncated or len(episode) + 1 == length,
                extra_model_outputs={Columns.ACTION_DIST_INPUTS: inputs, Columns.ACTION_LOGP: logp},
            )
            if episode.is_done:
                break
        episodes.append(episode.to_numpy())
    env.close()
    return episodes


def lunar_episodes(count=2, length=30):
    return random_episodes("LunarLander-v3", count, length)


def test_gail_learner_update_trains_the_discriminator_and_saves_it():
    config = gail_config(
        discriminator_updates_per_iteration=2, gradient_penalty_coeff=10.0, absorbing_state=True
    ).training(train_batch_size_per_learner=40, minibatch_size=20, num_epochs=2)
    learner = local_learner(config, "LunarLander-v3")
    before = {k: v.clone() for k, v in learner.discriminator.state_dict().items()}
    results = learner.update(episodes=lunar_episodes(), timesteps={})
    metrics = results[DEFAULT_MODULE_ID] if isinstance(results, dict) else results
    assert any(not torch.equal(before[k], v) for k, v in learner.discriminator.state_dict().items())
    assert {keys.DISCRIMINATOR_LOSS_KEY, keys.GRADIENT_PENALTY_KEY, REWARD_MEAN_KEY, ABSORBING_REWARD_KEY} <= set(
        metrics
    )
    state = learner.get_state()
    fresh = local_learner(config, "LunarLander-v3")
    fresh.set_state(state)
    for k, v in learner.discriminator.state_dict().items():
        torch.testing.assert_close(fresh.discriminator.state_dict()[k], v)
    assert keys.DISCRIMINATOR in state and keys.DISCRIMINATOR not in learner.get_state(components="rl_module")


def test_gail_learner_with_box_actions():
    """Pendulum: Box actions reach the discriminator in RLlib's normalised units on both sides."""
    config = (
        GAILConfig()
        .environment("Pendulum-v1")
        .training(
            expert_data="saved_experiences/pendulum",
            max_expert_episodes=1,
            discriminator_hiddens=[8],
            train_batch_size_per_learner=40,
            minibatch_size=20,
            num_epochs=1,
        )
        .rl_module(model_config={"fcnet_hiddens": [16]})
        .debugging(seed=0)
    )
    learner = local_learner(config, "Pendulum-v1")
    assert learner.expert_actions.abs().max() <= 1.0 and learner.expert_actions.shape[1:] == (1,)
    before = {k: v.clone() for k, v in learner.discriminator.state_dict().items()}
    results = learner.update(episodes=random_episodes("Pendulum-v1", length=20), timesteps={})
    metrics = results[DEFAULT_MODULE_ID] if isinstance(results, dict) else results
    assert keys.DISCRIMINATOR_LOSS_KEY in metrics
    assert any(not torch.equal(before[k], v) for k, v in learner.discriminator.state_dict().items())


@pytest.mark.parametrize(
    "training, message",
    [
        ({"reward_function": "wgan"}, "reward_function: 'wgan' is not one of gail, airl, fairl"),
        ({"discriminator_hiddens": [0]}, "discriminator_hiddens"),
        ({"max_expert_episodes": 0}, "max_expert_episodes: 0"),
        ({"gradient_penalty_coeff": -1.0}, "gradient_penalty_coeff: -1.0"),
        ({"absorbing_state": "yes"}, "absorbing_state: 'yes' must be true or false"),
        ({"expert_data": None}, "expert_data: missing"),
    ],
)
def test_bad_gail_settings_are_one_line_errors(training, message):
    with pytest.raises(ConfigError, match=message) as e:
        gail_config(**training).validate()
    assert "\n" not in str(e.value)


def test_a_dataset_without_actions_is_refused(tmp_path):
    data = tmp_path / "states_only"
    shutil.copytree(LUNAR, data)
    meta = json.loads((data / "metadata.json").read_text())
    meta.pop("action_space")
    (data / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="metadata.json: missing action_space") as e:
        prepared_config("GAIL", {"env": "LunarLander-v3", "expert_data": str(data)})
    assert "\n" not in str(e.value)
