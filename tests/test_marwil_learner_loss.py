"""MARWIL_IL torch learner: `compute_loss_for_module` against a NumPy recomputation of its loss.

The learner is built locally from the algorithm config (no Ray, no env runners, no dataset). The
NumPy side starts from the module's own outputs (action logits and values) and recomputes the
moving-average advantage norm, the exponential advantage weights, the weighted log-likelihood and the
value loss; the returned total loss and every logged part must agree.
"""

import numpy as np
import pytest
import torch
from local_learner import local_learner
from ray.rllib.algorithms.marwil.marwil_learner import LEARNER_RESULTS_MOVING_AVG_SQD_ADV_NORM_KEY
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.core.learner.learner import ENTROPY_KEY, POLICY_LOSS_KEY, VF_LOSS_KEY
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME

from rllib_il.algorithms.marwil.marwil import MARWILILConfig
from rllib_il.algorithms.marwil.marwil_learner import (
    LEARNER_RESULTS_ACTION_ACCURACY_KEY,
    LEARNER_RESULTS_CURR_BETA_KEY,
)

RTOL = 1e-5
RATE = 0.2  # moving_average_sqd_adv_norm_update_rate
C2_START = 9.0  # moving_average_sqd_adv_norm_start
VF_COEFF = 0.7


def build_learner(beta, burn_in=0, vf_share_layers=False):
    """A MARWIL_IL torch learner for CartPole with small nets; validate() (which reads data) is not called."""
    config = (
        MARWILILConfig()
        .environment("CartPole-v1")
        .training(
            beta=beta,
            vf_coeff=VF_COEFF,
            moving_average_sqd_adv_norm_update_rate=RATE,
            moving_average_sqd_adv_norm_start=C2_START,
            critic_burn_in_iterations=burn_in,
        )
        .rl_module(model_config={"fcnet_hiddens": [16, 16], "vf_share_layers": vf_share_layers})
        .debugging(seed=0)
    )
    learner = local_learner(config)
    return learner, config.get_config_for_module(DEFAULT_MODULE_ID)


def make_batch(seed, n=24):
    rng = np.random.default_rng(seed)
    return {
        Columns.OBS: torch.as_tensor(rng.normal(size=(n, 4)), dtype=torch.float32),
        Columns.ACTIONS: torch.as_tensor(rng.integers(2, size=n)),
        # Monte-Carlo returns on a scale where advantages differ clearly from row to row.
        Columns.VALUE_TARGETS: torch.as_tensor(rng.normal(loc=1.0, scale=4.0, size=n), dtype=torch.float32),
    }


def module_outputs(learner, batch):
    """Action logits and state values from the module itself, as float64 NumPy arrays."""
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    with torch.no_grad():
        logits = module.forward_train({Columns.OBS: batch[Columns.OBS]})[Columns.ACTION_DIST_INPUTS]
        values = module.compute_values({Columns.OBS: batch[Columns.OBS]})
    return logits.numpy().astype(np.float64), values.numpy().astype(np.float64)


def numpy_marwil_on(batch, logits, values, beta, c2):
    """`numpy_marwil` on a batch's actions and returns."""
    returns = batch[Columns.VALUE_TARGETS].numpy().astype(np.float64)
    return numpy_marwil(logits, values, batch[Columns.ACTIONS].numpy(), returns, beta, c2)


def numpy_marwil(logits, values, actions, returns, beta, c2):
    """MARWIL loss in NumPy: c^2 update, weights exp(beta A / c), -mean(w log pi) + vf_coeff 0.5 mean(A^2)."""
    log_probs = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    logp = log_probs[np.arange(len(actions)), actions]
    adv = returns - values
    c2 = c2 + RATE * (np.mean(adv**2) - c2)
    weights = np.exp(beta * adv / (1e-8 + np.sqrt(c2)))
    policy = -np.mean(weights * logp)
    value = 0.5 * np.mean(adv**2)
    probs = np.exp(log_probs)
    return {
        "total": policy + VF_COEFF * value,
        POLICY_LOSS_KEY: policy,
        VF_LOSS_KEY: value,
        LEARNER_RESULTS_MOVING_AVG_SQD_ADV_NORM_KEY: c2,
        "mean_weight": np.mean(weights),
        ENTROPY_KEY: -np.mean(np.sum(probs * log_probs, axis=1)),
        LEARNER_RESULTS_ACTION_ACCURACY_KEY: np.mean(np.argmax(logits, axis=1) == actions),
    }


def learner_loss(learner, batch):
    """Total loss and logged metrics of one `compute_loss_for_module` call on `batch`."""
    module_id = DEFAULT_MODULE_ID
    fwd_out = learner.module[module_id].forward_train(batch)
    loss = learner.compute_loss_for_module(
        module_id=module_id, config=learner.config.get_config_for_module(module_id), batch=batch, fwd_out=fwd_out
    )
    logged = {
        key: float(np.asarray(learner.metrics.peek((module_id, key))).squeeze())
        for key in (
            POLICY_LOSS_KEY,
            VF_LOSS_KEY,
            LEARNER_RESULTS_MOVING_AVG_SQD_ADV_NORM_KEY,
            "mean_weight",
            ENTROPY_KEY,
            LEARNER_RESULTS_ACTION_ACCURACY_KEY,
        )
    }
    return float(loss.detach()), logged


def assert_matches(total, logged, expected):
    np.testing.assert_allclose(total, expected["total"], rtol=RTOL)
    for key, value in logged.items():
        np.testing.assert_allclose(value, expected[key], rtol=RTOL, err_msg=key)


def test_marwil_learner_loss_matches_numpy_over_two_batches():
    """Total loss, policy loss, value loss, mean weight, c^2, entropy and accuracy of the torch learner
    equal the NumPy formulas with beta = 0.6; the second batch uses the c^2 the first one left behind."""
    beta = 0.6
    learner, _ = build_learner(beta)
    c2 = C2_START
    for seed in (1, 2):
        batch = make_batch(seed)
        logits, values = module_outputs(learner, batch)
        expected = numpy_marwil_on(batch, logits, values, beta, c2)
        total, logged = learner_loss(learner, batch)
        assert_matches(total, logged, expected)
        # Non-trivial weights: the advantage weighting changes the policy term.
        assert np.std(np.exp(beta * (batch[Columns.VALUE_TARGETS].numpy() - values))) > 0.1
        c2 = expected[LEARNER_RESULTS_MOVING_AVG_SQD_ADV_NORM_KEY]
    np.testing.assert_allclose(
        float(learner.moving_avg_sqd_adv_norms_per_module[DEFAULT_MODULE_ID].squeeze()), c2, rtol=RTOL
    )


def test_marwil_learner_uses_scheduled_beta():
    """With beta = [[0, 0.2], [1000, 1.0]], after `before_gradient_based_update` at 500 samples the
    learner logs beta 0.6 and its loss equals the NumPy loss with beta 0.6."""
    learner, _ = build_learner([[0, 0.2], [1000, 1.0]])
    learner.before_gradient_based_update(timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: 500})
    beta = float(np.asarray(learner.metrics.peek((DEFAULT_MODULE_ID, LEARNER_RESULTS_CURR_BETA_KEY))))
    assert beta == pytest.approx(0.6, rel=RTOL)
    batch = make_batch(3)
    logits, values = module_outputs(learner, batch)
    expected = numpy_marwil_on(batch, logits, values, 0.6, C2_START)
    total, logged = learner_loss(learner, batch)
    assert_matches(total, logged, expected)


def test_marwil_learner_with_beta_zero_is_behaviour_cloning():
    """beta = 0: the loss is the plain negative log-likelihood, no value loss is logged and c^2 stays put."""
    learner, _ = build_learner(0.0)
    batch = make_batch(4)
    logits, _ = module_outputs(learner, batch)
    fwd_out = learner.module[DEFAULT_MODULE_ID].forward_train(batch)
    config = learner.config.get_config_for_module(DEFAULT_MODULE_ID)
    loss = learner.compute_loss_for_module(module_id=DEFAULT_MODULE_ID, config=config, batch=batch, fwd_out=fwd_out)
    actions = batch[Columns.ACTIONS].numpy()
    log_probs = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    np.testing.assert_allclose(float(loss.detach()), -np.mean(log_probs[np.arange(len(actions)), actions]), rtol=RTOL)
    with pytest.raises(KeyError):
        learner.metrics.peek((DEFAULT_MODULE_ID, VF_LOSS_KEY))
    np.testing.assert_allclose(
        float(learner.moving_avg_sqd_adv_norms_per_module[DEFAULT_MODULE_ID].squeeze()), C2_START
    )


@pytest.mark.parametrize("shared", [False, True])
def test_critic_burn_in_trains_only_the_value_function(shared):
    """During the burn-in no gradient reaches the policy (with MARWIL's shared encoder: nor the encoder);
    after it, the loss is MARWIL's again."""
    learner, _ = build_learner(beta=1.0, burn_in=1, vf_share_layers=shared)
    module = learner.module[DEFAULT_MODULE_ID]
    batch = make_batch(3)
    total, logged = learner_loss(learner, batch)
    module.zero_grad(set_to_none=True)
    fwd_out = module.forward_train(batch)
    config = learner.config.get_config_for_module(DEFAULT_MODULE_ID)
    learner.compute_loss_for_module(module_id=DEFAULT_MODULE_ID, config=config, batch=batch, fwd_out=fwd_out).backward()
    frozen = [n for n, p in module.named_parameters() if p.grad is None or torch.count_nonzero(p.grad) == 0]
    trained = [n for n, p in module.named_parameters() if n not in frozen]
    assert trained and all(n.startswith(("vf.", "encoder.critic_encoder.")) for n in trained)
    assert any(n.startswith("pi.") for n in frozen)
    assert learner.metrics.peek((DEFAULT_MODULE_ID, "critic_burn_in")) == 1.0
    logits, values = module_outputs(learner, batch)  # unchanged: no optimizer step was taken
    assert total == pytest.approx(numpy_marwil_on(batch, logits, values, 1.0, C2_START)["total"], rel=RTOL)
    learner.iterations_done = 1
    learner_loss(learner, batch)
    assert learner.metrics.peek((DEFAULT_MODULE_ID, "critic_burn_in")) == 0.0
