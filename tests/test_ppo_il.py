"""PPO_IL: the KL toward the start policy against NumPy, and the learner's `compute_loss_for_module`
during and after the critic burn-in (built locally from the config: no Ray, no env runners)."""

import numpy as np
import pytest
import torch
from local_learner import local_learner
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing

from rllib_il.algorithms.critic_burn_in import CRITIC_BURN_IN_KEY
from rllib_il.algorithms.ppo_il.ppo_il import PPOILConfig
from rllib_il.algorithms.ppo_il.torch.ppo_il_torch_learner import POLICY_KL_KEY
from rllib_il.core.errors import ConfigError
from rllib_il.losses.regularizers import kl_to_reference

KL_COEFF = 0.3


def numpy_kl(reference_logits, logits):
    def log_softmax(x):
        x = x - x.max(axis=1, keepdims=True)
        return x - np.log(np.exp(x).sum(axis=1, keepdims=True))

    p0, lp0, lp = np.exp(log_softmax(reference_logits)), log_softmax(reference_logits), log_softmax(logits)
    return (p0 * (lp0 - lp)).sum(axis=1)


def test_kl_to_reference_matches_numpy_and_is_zero_on_itself():
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(size=(7, 4)), rng.normal(size=(7, 4))
    got = kl_to_reference(torch.as_tensor(ref), torch.as_tensor(cur)).numpy()
    np.testing.assert_allclose(got, numpy_kl(ref, cur), rtol=1e-10)
    assert np.all(got > 0)
    np.testing.assert_allclose(kl_to_reference(torch.as_tensor(ref), torch.as_tensor(ref)).numpy(), 0.0, atol=1e-12)
    # A hand example: pi_0 = (1/2, 1/2), pi = (1/4, 3/4): KL = 1/2 log 2 + 1/2 log(2/3).
    hand = kl_to_reference(torch.log(torch.tensor([[0.5, 0.5]])), torch.log(torch.tensor([[0.25, 0.75]])))
    assert hand.item() == pytest.approx(0.5 * np.log(2) + 0.5 * np.log(2 / 3))


def build_learner(burn_in):
    config = (
        PPOILConfig()
        .environment("CartPole-v1")
        .training(critic_burn_in_iterations=burn_in, policy_kl_coeff=KL_COEFF, vf_loss_coeff=0.5)
        .rl_module(model_config={"fcnet_hiddens": [16, 16]})
        .debugging(seed=0)
    )
    learner = local_learner(config)
    return learner, config.get_config_for_module(DEFAULT_MODULE_ID)


def make_batch(learner, n=16):
    rng = np.random.default_rng(1)
    obs = torch.as_tensor(rng.normal(size=(n, 4)), dtype=torch.float32)
    with torch.no_grad():
        logits = learner.module[DEFAULT_MODULE_ID].forward_train({Columns.OBS: obs})[Columns.ACTION_DIST_INPUTS]
    actions = torch.as_tensor(rng.integers(2, size=n))
    return {
        Columns.OBS: obs,
        Columns.ACTIONS: actions,
        Columns.ACTION_DIST_INPUTS: logits,
        Columns.ACTION_LOGP: torch.log_softmax(logits, -1)[torch.arange(n), actions],
        Postprocessing.ADVANTAGES: torch.as_tensor(rng.normal(size=n), dtype=torch.float32),
        Postprocessing.VALUE_TARGETS: torch.as_tensor(rng.normal(scale=2.0, size=n), dtype=torch.float32),
    }


def loss_and_grads(learner, config, batch):
    module = learner.module[DEFAULT_MODULE_ID]
    module.zero_grad(set_to_none=True)
    fwd_out = module.forward_train(batch)
    loss = learner.compute_loss_for_module(module_id=DEFAULT_MODULE_ID, config=config, batch=batch, fwd_out=fwd_out)
    loss.backward()
    grads = {name: p.grad for name, p in module.named_parameters()}
    return loss, grads, fwd_out


def test_burn_in_trains_only_the_value_function():
    learner, config = build_learner(burn_in=2)
    batch = make_batch(learner)
    _, grads, _ = loss_and_grads(learner, config, batch)
    policy = {n: g for n, g in grads.items() if n.startswith(("pi.", "encoder.actor_encoder."))}
    value = {n: g for n, g in grads.items() if n.startswith(("vf.", "encoder.critic_encoder."))}
    assert policy and value
    assert all(g is None or torch.count_nonzero(g) == 0 for g in policy.values())
    assert all(g is not None and torch.count_nonzero(g) > 0 for g in value.values())
    assert learner.metrics.peek((DEFAULT_MODULE_ID, CRITIC_BURN_IN_KEY)) == 1.0


def test_after_burn_in_the_loss_is_ppo_plus_the_kl_to_the_start_policy():
    learner, config = build_learner(burn_in=1)
    batch = make_batch(learner)
    loss_and_grads(learner, config, batch)  # the first update fixes pi_0 (and is a burn-in update)
    start_logits = batch[Columns.ACTION_DIST_INPUTS].numpy().astype(np.float64)
    learner.iterations_done = 1  # as after_gradient_based_update counts it
    with torch.no_grad():  # the policy moved since pi_0
        for p in learner.module[DEFAULT_MODULE_ID].pi.parameters():
            p.add_(0.3 * torch.randn_like(p))
    loss, grads, fwd_out = loss_and_grads(learner, config, batch)
    ppo = PPOTorchLearner.compute_loss_for_module(
        learner, module_id=DEFAULT_MODULE_ID, config=config, batch=batch, fwd_out=fwd_out
    )
    kl = numpy_kl(start_logits, fwd_out[Columns.ACTION_DIST_INPUTS].detach().numpy().astype(np.float64)).mean()
    assert kl > 1e-3
    assert loss.item() == pytest.approx(ppo.item() + KL_COEFF * kl, rel=1e-5)
    assert learner.metrics.peek((DEFAULT_MODULE_ID, POLICY_KL_KEY)) == pytest.approx(kl, rel=1e-5)
    assert learner.metrics.peek((DEFAULT_MODULE_ID, CRITIC_BURN_IN_KEY)) == 0.0
    assert any(torch.count_nonzero(grads[n]) > 0 for n in grads if n.startswith("pi."))


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"critic_burn_in_iterations": -1}, "critic_burn_in_iterations: -1 must be an integer >= 0"),
        ({"critic_burn_in_iterations": 2.5}, "critic_burn_in_iterations: 2.5 must be an integer >= 0"),
        ({"policy_kl_coeff": -0.1}, "policy_kl_coeff: -0.1 must be >= 0"),
        ({"policy_kl_coeff": [[0, 1.0], [100, -1.0]]}, "must be >= 0"),
    ],
)
def test_bad_settings_are_refused_in_one_line(settings, message):
    config = PPOILConfig().environment("CartPole-v1").training(**settings)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")):
        config.validate()


def test_the_kl_needs_discrete_actions():
    config = PPOILConfig().environment("Pendulum-v1").training(policy_kl_coeff=0.5)
    with pytest.raises(ConfigError, match="policy_kl_coeff: implemented for Discrete actions; Pendulum-v1's are Box"):
        config.prepare()
    PPOILConfig().environment("Pendulum-v1").training(critic_burn_in_iterations=3).prepare().validate()


def test_ppos_adaptive_kl_coefficient_waits_for_the_end_of_the_burn_in():
    """A burn-in iteration's KL is ~0 (the policy cannot move); PPO would halve its coefficient."""
    from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

    learner, config = build_learner(burn_in=2)
    batch = make_batch(learner)
    start = learner.curr_kl_coeffs_per_module[DEFAULT_MODULE_ID].item()
    for iteration in range(3):
        loss_and_grads(learner, config, batch)
        learner.after_gradient_based_update(timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: 100 * (iteration + 1)})
        assert learner.iterations_done == iteration + 1
        coeff = learner.curr_kl_coeffs_per_module[DEFAULT_MODULE_ID].item()
        assert coeff == (start if iteration < 2 else pytest.approx(start / 2))


def test_without_the_kl_no_start_policy_is_kept():
    config = PPOILConfig().environment("CartPole-v1").training(critic_burn_in_iterations=1).debugging(seed=0)
    learner = local_learner(config)
    loss_and_grads(learner, config.get_config_for_module(DEFAULT_MODULE_ID), make_batch(learner))
    assert learner.start_modules == {}
