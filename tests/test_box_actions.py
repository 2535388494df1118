"""Box actions: the Gaussian and squashed-Gaussian MARWIL / BC loss of the learner against NumPy, dataset
actions in the module's units with their densities, checkpoint policies acting in env units, and bad
Box data refused in one line naming the dataset."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from local_learner import local_learner
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.algorithms.sac.torch.default_sac_torch_rl_module import DefaultSACTorchRLModule
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchDiagGaussian, TorchSquashedGaussian
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from rllib_il import data as dataset
from rllib_il.algorithms.marwil.in_memory_data import EpisodeArrays
from rllib_il.algorithms.marwil.marwil import MARWILILConfig
from rllib_il.algorithms.marwil.marwil_learner import LEARNER_RESULTS_ACTION_MAE_KEY, LEARNER_RESULTS_ACTION_MSE_KEY
from rllib_il.algorithms.squashed_actions import SquashedPPOTorchRLModule, with_squashed_actions
from rllib_il.core.errors import ConfigError
from rllib_il.experts.checkpoint import ModulePolicy
from rllib_il.workflow.handoff import check_same_squashing

RTOL = 1e-5
ENV = "LunarLanderContinuous-v3"  # 8 observations, 2 actions in [-1, 1]


def learner_for(beta, squash=False):
    config = (
        MARWILILConfig()
        .environment(ENV)
        .training(beta=beta, vf_coeff=0.5, squash_actions=squash)
        .rl_module(model_config={"fcnet_hiddens": [16]})
        .debugging(seed=0)
    )
    if squash:
        config.rl_module(rl_module_spec=RLModuleSpec(module_class=SquashedPPOTorchRLModule))
    return local_learner(config, ENV)


def gaussian_batch(seed, n=32):
    rng = np.random.default_rng(seed)
    return {
        Columns.OBS: torch.as_tensor(rng.normal(size=(n, 8)), dtype=torch.float32),
        Columns.ACTIONS: torch.as_tensor(rng.uniform(-0.95, 0.95, size=(n, 2)), dtype=torch.float32),
        Columns.VALUE_TARGETS: torch.as_tensor(rng.normal(scale=3.0, size=n), dtype=torch.float32),
    }


def loss_and_metrics(learner, batch):
    fwd_out = learner.module[DEFAULT_MODULE_ID].forward_train(batch)
    config = learner.config.get_config_for_module(DEFAULT_MODULE_ID)
    loss = learner.compute_loss_for_module(module_id=DEFAULT_MODULE_ID, config=config, batch=batch, fwd_out=fwd_out)
    inputs = fwd_out[Columns.ACTION_DIST_INPUTS].detach().double().numpy()
    peek = lambda key: float(np.asarray(learner.metrics.peek((DEFAULT_MODULE_ID, key))))  # noqa: E731
    return float(loss.detach()), inputs, peek


def test_gaussian_behaviour_cloning_loss_is_the_mean_negative_log_density():
    """beta 0 on Box actions: loss = -mean_i sum_d log N(a_id; mu_id, sigma_id), from the module's own
    means and log-stds; greedy errors are those of mu; entropy is sum_d 0.5 log(2 pi e sigma_d^2)."""
    learner = learner_for(0.0)
    batch = gaussian_batch(1)
    loss, inputs, peek = loss_and_metrics(learner, batch)
    mu, log_std = inputs[:, :2], inputs[:, 2:]
    a = batch[Columns.ACTIONS].double().numpy()
    logp = np.sum(-0.5 * ((a - mu) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi), axis=1)
    np.testing.assert_allclose(loss, -logp.mean(), rtol=RTOL)
    np.testing.assert_allclose(peek(POLICY_LOSS_KEY), -logp.mean(), rtol=RTOL)
    np.testing.assert_allclose(peek(LEARNER_RESULTS_ACTION_MAE_KEY), np.abs(mu - a).mean(), rtol=RTOL)
    np.testing.assert_allclose(peek(LEARNER_RESULTS_ACTION_MSE_KEY), ((mu - a) ** 2).mean(), rtol=RTOL)
    entropy = np.sum(0.5 * np.log(2 * np.pi * np.e) + log_std, axis=1).mean()
    np.testing.assert_allclose(peek(ENTROPY_KEY), entropy, rtol=RTOL)


def test_gaussian_marwil_loss_weights_the_log_density_by_the_advantage():
    """beta 0.8: -mean(exp(beta A / c) log pi) + vf_coeff 0.5 mean(A^2), c^2 after one update at RLlib's
    start value 100 with MARWIL_IL's rate 0.01."""
    learner = learner_for(0.8)
    batch = gaussian_batch(2)
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    with torch.no_grad():
        values = module.compute_values({Columns.OBS: batch[Columns.OBS]}).double().numpy()
    loss, inputs, _ = loss_and_metrics(learner, batch)
    mu, log_std = inputs[:, :2], inputs[:, 2:]
    a = batch[Columns.ACTIONS].double().numpy()
    logp = np.sum(-0.5 * ((a - mu) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi), axis=1)
    adv = batch[Columns.VALUE_TARGETS].double().numpy() - values
    c2 = 100.0 + 0.01 * (np.mean(adv**2) - 100.0)
    expected = -np.mean(np.exp(0.8 * adv / (1e-8 + np.sqrt(c2))) * logp) + 0.5 * 0.5 * np.mean(adv**2)
    np.testing.assert_allclose(loss, expected, rtol=1e-4)


def test_squashed_behaviour_cloning_loss_and_greedy_action():
    """squash_actions: log pi(u) = log N(atanh u; mu, sigma) - sum_d log(1 - u_d^2); greedy u = tanh(mu);
    no entropy is logged (none in closed form)."""
    learner = learner_for(0.0, squash=True)
    batch = gaussian_batch(3)
    loss, inputs, peek = loss_and_metrics(learner, batch)
    mu, log_std = inputs[:, :2], np.clip(inputs[:, 2:], -20, 2)
    u = batch[Columns.ACTIONS].double().numpy()
    x = np.arctanh(u)
    logp = np.sum(-0.5 * ((x - mu) / np.exp(log_std)) ** 2 - log_std - 0.5 * np.log(2 * np.pi) - np.log(1 - u**2), 1)
    np.testing.assert_allclose(loss, -logp.mean(), rtol=1e-4)
    np.testing.assert_allclose(peek(LEARNER_RESULTS_ACTION_MAE_KEY), np.abs(np.tanh(mu) - u).mean(), rtol=RTOL)
    with pytest.raises(KeyError):
        peek(ENTROPY_KEY)


def test_squash_actions_is_refused_for_discrete_actions_and_without_normalisation():
    config = MARWILILConfig().training(squash_actions=True)
    with pytest.raises(ConfigError, match="squash_actions=True: the action space Discrete"):
        with_squashed_actions(config, gym.spaces.Discrete(2), "MARWIL_IL")
    config.environment(normalize_actions=False)
    with pytest.raises(ConfigError, match="needs normalize_actions=True"):
        with_squashed_actions(config, gym.spaces.Box(-1, 1, (1,)), "MARWIL_IL")


def test_dataset_actions_reach_the_module_in_normalised_units_with_their_densities():
    """Pendulum's torque in [-2, 2]: u = a / 2. A uniform behaviour on [-2, 2] has log density -log 4;
    on [-1, 1] it is -log 2. A deterministic expert's zeros become NaN (no density of a Box action),
    normalised or not; an unbounded Box is not mapped."""
    space = gym.spaces.Box(-2.0, 2.0, (1,), np.float32)
    arrays = EpisodeArrays(
        obs=np.zeros((3, 3), np.float32),
        actions=np.array([[-2.0], [0.5], [2.0]], np.float32),
        rewards=np.zeros(3, np.float32),
        returns=np.zeros(3, np.float32),
        behaviour_logp=np.full(3, -np.log(4.0), np.float32),
        lengths=np.array([3]),
    )
    module_rows = arrays.in_module_units(space, normalize=True)
    np.testing.assert_allclose(module_rows.actions[:, 0], [-1.0, 0.25, 1.0])
    np.testing.assert_allclose(module_rows.behaviour_logp, -np.log(2.0), rtol=1e-6)
    env_rows = arrays.in_module_units(space, normalize=False)
    np.testing.assert_array_equal(env_rows.actions, arrays.actions)
    np.testing.assert_array_equal(env_rows.behaviour_logp, arrays.behaviour_logp)
    deterministic = EpisodeArrays(**{**arrays.__dict__, "behaviour_logp": np.zeros(3, np.float32)})
    for normalize in (True, False):
        assert np.isnan(deterministic.in_module_units(space, normalize=normalize).behaviour_logp).all()
    unbounded = gym.spaces.Box(-np.inf, np.inf, (1,), np.float32)  # left as RLlib's env runners leave it
    np.testing.assert_array_equal(arrays.in_module_units(unbounded, normalize=True).actions, arrays.actions)


def test_module_policy_acts_in_env_units():
    """A module's greedy action u in [-1, 1] reaches Pendulum as 2 u; a sampled one with log density
    log pi(u) - log 2; a squashed Gaussian's greedy action is 2 tanh(mu)."""
    env = gym.make("Pendulum-v1")

    class Fixed(torch.nn.Module):
        """A module whose policy is N(0.3, 0.1) (or its tanh-squashed form) in every state."""

        def __init__(self, dist_class=TorchDiagGaussian):
            super().__init__()
            self.dist_class = dist_class

        def forward_inference(self, batch):
            n = len(batch[Columns.OBS])
            return {Columns.ACTION_DIST_INPUTS: torch.tensor([[0.3, np.log(0.1)]]).repeat(n, 1)}

        def get_inference_action_dist_cls(self):
            return self.dist_class

    greedy = ModulePolicy(env, Fixed())
    action, logp = greedy.act(np.zeros(3, np.float32))
    assert action.dtype == np.float32 and action.shape == (1,)
    np.testing.assert_allclose(action, [0.6], rtol=1e-6)
    assert logp == 0.0
    torch.manual_seed(0)
    action, logp = ModulePolicy(env, Fixed(), explore=True).act(np.zeros(3, np.float32))
    u = action[0] / 2.0
    expected = -0.5 * ((u - 0.3) / 0.1) ** 2 - np.log(0.1) - 0.5 * np.log(2 * np.pi) - np.log(2.0)
    np.testing.assert_allclose(logp, expected, rtol=1e-4)
    # RLlib's squashed Gaussian (SAC's) gives mu as its greedy action; the policy's is tanh(mu).
    action, _ = ModulePolicy(env, Fixed(TorchSquashedGaussian)).act(np.zeros(3, np.float32))
    np.testing.assert_allclose(action, [2 * np.tanh(0.3)], rtol=1e-6)


def _write(tmp_path, name, actions, env="Pendulum-v1", action_space=None):
    """A two-episode dataset of `env`'s observation space with the given actions (and action space)."""
    spaces = gym.make(env)
    action_space = action_space or spaces.action_space
    observations = [spaces.observation_space.sample()] * (len(actions) + 1)
    episode = dataset.build_episode(
        observations,
        [np.asarray(a, action_space.dtype) for a in actions],
        np.zeros(len(actions)),
        np.zeros(len(actions)),
        True,
        spaces.observation_space,
        action_space,
    )
    meta = {"env": env, **dataset.spaces_metadata(spaces.observation_space, action_space)}
    return dataset.write_dataset([episode, episode], tmp_path / name, meta)


def prepare(env, inputs):
    return MARWILILConfig().environment(env).offline_data(input_=str(inputs)).training(beta=0.0).prepare()


def test_actions_outside_the_box_are_refused_naming_the_file(tmp_path):
    outside = _write(tmp_path, "outside", [[1.0], [2.5]])
    with pytest.raises(ConfigError, match=r"outside.*episodes-00000.parquet holds actions from \[1\.\] to \[2\.5\]"):
        prepare("Pendulum-v1", outside)
    prepare("Pendulum-v1", _write(tmp_path, "inside", [[1.0], [-2.0]]))  # on the bounds is inside


def test_discrete_data_for_a_box_env_and_the_reverse_are_refused(tmp_path):
    box = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    cartpole_box = _write(tmp_path, "cartpole_box", [[0.5]], env="CartPole-v1", action_space=box)
    with pytest.raises(ConfigError, match=r"cartpole_box.*dataset action_space Box.*does not match the env's Discrete"):
        prepare("CartPole-v1", cartpole_box)
    pendulum_discrete = _write(tmp_path, "pendulum_discrete", [1], action_space=gym.spaces.Discrete(3))
    with pytest.raises(
        ConfigError, match=r"pendulum_discrete.*action_space Discrete\(3\) does not match the env's Box"
    ):
        prepare("Pendulum-v1", pendulum_discrete)


def test_restore_from_refuses_a_policy_of_the_other_squashing():
    """A squashed BC checkpoint into PPO's plain Gaussian, or a plain one into SAC's squashed actor, would
    give other actions from the same weights: one line saying which squash_actions to train with."""
    with pytest.raises(ConfigError, match="PPO_IL's policy is not a tanh-squashed.*squash_actions: false"):
        check_same_squashing(DefaultPPOTorchRLModule, SquashedPPOTorchRLModule, "PPO_IL", "ckpt")
    with pytest.raises(ConfigError, match="SAC's policy is a tanh-squashed.*squash_actions: true"):
        check_same_squashing(DefaultSACTorchRLModule, DefaultPPOTorchRLModule, "SAC", "ckpt")
    check_same_squashing(DefaultSACTorchRLModule, SquashedPPOTorchRLModule, "SAC", "ckpt")
    check_same_squashing(DefaultPPOTorchRLModule, DefaultPPOTorchRLModule, "PPO_IL", "ckpt")


def test_float64_spaces_reach_the_learner_as_float32():
    """MuJoCo's observations are a float64 Box; the modules' weights are float32."""
    obs_space = gym.make("InvertedDoublePendulum-v5").observation_space
    assert obs_space.dtype == np.float64
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)
    episode = dataset.build_episode(
        [obs_space.sample() for _ in range(3)], [np.zeros(1)] * 2, [1.0, 1.0], [0.0, 0.0], True, obs_space, action_space
    )
    arrays = EpisodeArrays.from_episodes([episode], gamma=0.9).in_module_units(action_space, normalize=True)
    assert arrays.obs.dtype == np.float32 and arrays.actions.dtype == np.float32
