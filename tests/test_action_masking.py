"""Action masks read from the end of the observation: the masked PPO / DQN modules, the choice of
module from the env, and behaviour cloning's and DQfD's losses through `compute_loss_for_module`
against NumPy computations that take maxima and softmax over the allowed actions only."""

import numpy as np
import pytest
import torch
from local_learner import local_learner
from masked_env import ACTIONS, ENV_ID, FEATURES, masked_observations
from ray.rllib.algorithms.dqn.default_dqn_rl_module import QF_PREDS
from ray.rllib.algorithms.dqn.torch.default_dqn_torch_rl_module import DefaultDQNTorchRLModule
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import POLICY_LOSS_KEY

from rllib_il.algorithms.action_masking import (
    MASKED,
    MaskedDQNTorchRLModule,
    MaskedPPOTorchRLModule,
    mask_outputs,
    with_action_masking,
)
from rllib_il.algorithms.dqfd.dqfd import DQfDConfig
from rllib_il.algorithms.marwil.marwil import MARWILILConfig
from rllib_il.core.errors import ConfigError


def test_mask_outputs_replaces_masked_entries_only():
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    obs = torch.tensor([[0.3, 1.0, 0.0, 1.0], [0.3, 0.0, 1.0, 0.0]])
    assert mask_outputs(values, obs).tolist() == [[1.0, MASKED, 3.0], [MASKED, 5.0, MASKED]]


def masked_learner(config):
    config = with_action_masking(config.environment(ENV_ID).rl_module(model_config={"fcnet_hiddens": [16]}))
    return local_learner(config, ENV_ID), config


def test_module_class_follows_the_env():
    assert with_action_masking(MARWILILConfig().environment(ENV_ID)).rl_module_spec.module_class is (
        MaskedPPOTorchRLModule
    )
    assert with_action_masking(DQfDConfig().environment(ENV_ID)).rl_module_spec.module_class is MaskedDQNTorchRLModule
    assert with_action_masking(DQfDConfig().environment("CartPole-v1")).rl_module_spec.module_class is (
        DefaultDQNTorchRLModule
    )
    with pytest.raises(ConfigError, match="num_atoms"):
        with_action_masking(DQfDConfig().environment(ENV_ID).training(num_atoms=5))


def test_bc_loss_is_the_log_likelihood_under_the_masked_softmax():
    learner, _ = masked_learner(MARWILILConfig().training(beta=0.0))
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    rng = np.random.default_rng(0)
    actions = rng.integers(ACTIONS, size=32)
    obs = torch.as_tensor(masked_observations(rng, 32, always=actions))
    batch = {Columns.OBS: obs, Columns.ACTIONS: torch.as_tensor(actions), Columns.VALUE_TARGETS: torch.zeros(32)}
    with torch.no_grad():
        raw = DefaultPPOTorchRLModule._forward_train(module, {Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    raw, allowed = raw.numpy().astype(np.float64), obs.numpy()[:, FEATURES:] > 0.5
    assert (~allowed).any()
    logp = raw - np.log(np.sum(np.where(allowed, np.exp(raw), 0.0), axis=1, keepdims=True))
    expected = -np.mean(logp[np.arange(32), actions])

    fwd_out = learner.module[DEFAULT_MODULE_ID].forward_train(batch)
    assert (fwd_out[Columns.ACTION_DIST_INPUTS][torch.as_tensor(~allowed)] == MASKED).all()
    loss = learner.compute_loss_for_module(
        module_id=DEFAULT_MODULE_ID,
        config=learner.config.get_config_for_module(DEFAULT_MODULE_ID),
        batch=batch,
        fwd_out=fwd_out,
    )
    np.testing.assert_allclose(float(loss.detach()), expected, rtol=1e-5)
    logged = learner.metrics.peek((DEFAULT_MODULE_ID, POLICY_LOSS_KEY))
    np.testing.assert_allclose(float(logged), expected, rtol=1e-5)


def test_greedy_and_sampled_actions_are_allowed():
    learner, _ = masked_learner(MARWILILConfig().training(beta=0.0))
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    obs = torch.as_tensor(masked_observations(np.random.default_rng(1), 256))
    allowed = obs[:, FEATURES:] > 0.5
    with torch.no_grad():
        logits = module.forward_exploration({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    sampled = torch.distributions.Categorical(logits=logits).sample()
    assert allowed.gather(1, sampled[:, None]).all() and allowed.gather(1, logits.argmax(1)[:, None]).all()


def test_dqn_module_masks_q_values_and_epsilon_draws_uniformly_among_allowed_actions():
    learner, _ = masked_learner(DQfDConfig().training(epsilon=[(0, 1.0)]))
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    n = 4000
    obs = torch.as_tensor(np.repeat(masked_observations(np.random.default_rng(2), 1), n, axis=0))
    obs[:, FEATURES:] = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0])
    with torch.no_grad():
        heads = {"af": module.af, "vf": module.vf} if module.uses_dueling else module.af
        raw = DefaultDQNTorchRLModule._qf_forward_helper(module, {Columns.OBS: obs[:1]}, module.encoder, heads)[
            QF_PREDS
        ]
        online = module.compute_q_values({Columns.OBS: obs[:1]})[QF_PREDS]
        target = module.forward_target({Columns.OBS: obs[:1]})[QF_PREDS]
        actions = module.forward_exploration({Columns.OBS: obs}, t=0)[Columns.ACTIONS]
    assert online[0, [1, 3]].eq(MASKED).all() and target[0, [1, 3]].eq(MASKED).all()
    assert torch.equal(online[0, [0, 2, 4]], raw[0, [0, 2, 4]])
    counts = np.bincount(actions.numpy(), minlength=ACTIONS) / n
    assert counts[[1, 3]].sum() == 0
    np.testing.assert_allclose(counts[[0, 2, 4]], 1 / 3, atol=0.03)
