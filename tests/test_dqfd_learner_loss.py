"""DQfD torch learner: `compute_loss_for_module` against a NumPy recomputation of its loss.

The learner is built locally from the algorithm config (no Ray, no env runners, no dataset). The
NumPy side takes the module's own Q-values (online and target networks, the target one moved away
from the online one so double Q matters) and recomputes

    J = mean(w * (J_DQ + lambda_nstep * J_n)) + lambda_margin * mean(J_E) + lambda_l2 * J_L2

with J_DQ / J_n the 1-step / n-step double-Q TD losses, J_E the large-margin loss on the margin rows
only, J_L2 the sum of squared online weights and w the importance weights.
"""

import numpy as np
import pytest
import torch
from local_learner import local_learner
from masked_env import ACTIONS, ENV_ID, masked_observations
from ray.rllib.algorithms.dqn.dqn_learner import QF_LOSS_KEY, QF_PREDS
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.utils.metrics import TD_ERROR_KEY

from rllib_il.algorithms.action_masking import MASKED, with_action_masking
from rllib_il.algorithms.dqfd import dqfd_learner as keys
from rllib_il.algorithms.dqfd.dqfd import DQfDConfig
from rllib_il.replay.columns import IS_EXPERT, MARGIN_MASK, OBS_1STEP, REWARD_1STEP, TERMINATED_1STEP

RTOL = 1e-5
CARTPOLE = "CartPole-v1"
N = 32
GAMMA = 0.9
MARGIN = 0.8
LAMBDA_NSTEP, LAMBDA_MARGIN, LAMBDA_L2 = 0.5, 0.7, 1e-3


def build_learner(loss_fn, double_q, transformed, env=CARTPOLE):
    """A DQfD torch learner for CartPole (or the masked toy env) with small nets and a target net
    that differs from the online one."""
    config = (
        DQfDConfig()
        .environment(env)
        .training(
            gamma=GAMMA,
            n_step=3,
            margin=MARGIN,
            lambda_nstep=LAMBDA_NSTEP,
            lambda_margin=LAMBDA_MARGIN,
            lambda_l2=LAMBDA_L2,
            td_error_loss_fn=loss_fn,
            double_q=double_q,
            transformed_bellman=transformed,
            transform_eps=0.05,
        )
        .rl_module(model_config={"fcnet_hiddens": [16, 16]})
        .debugging(seed=0)
    )
    config = with_action_masking(config)
    return learner_with_moved_target(config, env), config


def learner_with_moved_target(config, env):
    """The config's learner for `env`, its target network moved away from the online one."""
    learner = local_learner(config, env)
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("_target"):
                p.add_(0.3 * torch.randn_like(p))
    return learner


def make_batch(seed, env=CARTPOLE):
    """Half expert rows (a third of them without the margin mask), varied n, some terminal rows,
    rewards large enough for Huber's linear part, non-uniform importance weights. On the masked env,
    observations end with random action masks that allow the row's action."""
    rng = np.random.default_rng(seed)
    if env == CARTPOLE:
        actions = rng.integers(2, size=N)

        def observations():
            return rng.normal(size=(N, 4))

    else:
        actions = rng.integers(ACTIONS, size=N)

        def observations():
            return masked_observations(rng, N, always=actions)

    f32 = lambda x: torch.as_tensor(x, dtype=torch.float32)  # noqa: E731
    is_expert = np.arange(N) % 2 == 0
    margin_mask = is_expert & (np.arange(N) % 3 != 0)
    n_step = rng.integers(1, 4, size=N)
    terminated_1 = rng.random(N) < 0.2
    return {
        Columns.OBS: f32(observations()),
        Columns.ACTIONS: torch.as_tensor(actions),
        Columns.REWARDS: f32(rng.normal(scale=3.0, size=N)),
        Columns.NEXT_OBS: f32(observations()),
        Columns.TERMINATEDS: torch.as_tensor(terminated_1 | (rng.random(N) < 0.2)),
        "n_step": torch.as_tensor(n_step),
        "weights": f32(rng.uniform(0.2, 1.0, size=N)),
        OBS_1STEP: f32(observations()),
        REWARD_1STEP: f32(rng.normal(scale=2.0, size=N)),
        TERMINATED_1STEP: torch.as_tensor(terminated_1),
        IS_EXPERT: f32(is_expert),
        MARGIN_MASK: f32(margin_mask),
    }


def q_values(module, obs, target=False):
    """The module's Q-values; on the masked env its masked entries (checked to be MASKED) become -inf,
    so every NumPy maximum below runs over the allowed actions only."""
    with torch.no_grad():
        out = module.forward_target({Columns.OBS: obs}) if target else module.compute_q_values({Columns.OBS: obs})
    q = out[QF_PREDS].numpy().astype(np.float64)
    if module.observation_space.shape[0] == 4:  # CartPole
        return q
    allowed = obs.numpy()[:, -ACTIONS:] > 0.5
    assert (~allowed).any() and (q[~allowed] == MASKED).all()
    return np.where(allowed, q, -np.inf)


def h(x, eps):
    return np.sign(x) * (np.sqrt(np.abs(x) + 1.0) - 1.0) + eps * x


def h_inv(x, eps):
    return np.sign(x) * (((np.sqrt(1.0 + 4.0 * eps * (np.abs(x) + 1.0 + eps)) - 1.0) / (2.0 * eps)) ** 2 - 1.0)


def numpy_target(rewards, q_next_online, q_next_target, done, discount, eps):
    """r + discount (1 - done) Q_target(s', argmax Q_online(s')), optionally through h and h^-1."""
    q_next = q_next_target[np.arange(N), np.argmax(q_next_online, axis=1)]
    if eps is not None:
        q_next = h_inv(q_next, eps)
    y = rewards + discount * (1.0 - done) * q_next
    return h(y, eps) if eps is not None else y


def numpy_td(delta, loss_fn):
    if loss_fn == "huber":
        return np.where(np.abs(delta) <= 1.0, 0.5 * delta**2, np.abs(delta) - 0.5)
    return delta**2


def numpy_dqfd(learner, config, batch):
    """Every term of the DQfD loss from the module's Q-values, in float64 NumPy."""
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    np_batch = {k: v.numpy() for k, v in batch.items()}
    actions = np_batch[Columns.ACTIONS]
    eps = config.transform_eps if config.transformed_bellman else None
    q = q_values(module, batch[Columns.OBS])
    q_sel = q[np.arange(N), actions]
    next_target = q_values(module, batch[Columns.NEXT_OBS], target=True)
    next_online = q_values(module, batch[Columns.NEXT_OBS]) if config.double_q else next_target
    target_n = numpy_target(
        np_batch[Columns.REWARDS],
        next_online,
        next_target,
        np_batch[Columns.TERMINATEDS].astype(np.float64),
        GAMMA ** np_batch["n_step"],
        eps,
    )
    next1_target = q_values(module, batch[OBS_1STEP], target=True)
    next1_online = q_values(module, batch[OBS_1STEP]) if config.double_q else next1_target
    target_1 = numpy_target(
        np_batch[REWARD_1STEP], next1_online, next1_target, np_batch[TERMINATED_1STEP].astype(np.float64), GAMMA, eps
    )
    j_dq = numpy_td(q_sel - target_1, config.td_error_loss_fn)
    j_n = numpy_td(q_sel - target_n, config.td_error_loss_fn)
    margins = np.where(np.arange(q.shape[1])[None, :] == actions[:, None], 0.0, MARGIN)
    mask = np_batch[MARGIN_MASK] > 0.5
    j_e = np.where(mask, np.max(q + margins, axis=1) - q_sel, 0.0)
    j_l2 = sum(
        np.sum(p.detach().numpy().astype(np.float64) ** 2)
        for name, p in module.named_parameters()
        if not name.startswith("_target")
    )
    total = np.mean(np_batch["weights"] * (j_dq + LAMBDA_NSTEP * j_n)) + LAMBDA_MARGIN * np.mean(j_e) + LAMBDA_L2 * j_l2
    td_error = np.abs(q_sel - target_1)
    expert = np_batch[IS_EXPERT] > 0.5
    return {
        QF_LOSS_KEY: total,
        keys.TD_LOSS_1STEP_KEY: np.mean(j_dq),
        keys.TD_LOSS_NSTEP_KEY: np.mean(j_n),
        keys.MARGIN_LOSS_KEY: np.mean(j_e[mask]),
        keys.L2_LOSS_KEY: j_l2,
        keys.EXPERT_FRACTION_KEY: np.mean(expert),
        keys.EXPERT_ACCURACY_KEY: np.mean(np.argmax(q, axis=1)[expert] == actions[expert]),
        keys.TD_ERROR_EXPERT_KEY: np.mean(td_error[expert]),
        keys.TD_ERROR_SIM_KEY: np.mean(td_error[~expert]),
        TD_ERROR_KEY: td_error,
        "terms": (j_dq, j_n, j_e),
    }


@pytest.mark.parametrize(
    "loss_fn, double_q, transformed, env",
    [("huber", True, False, CARTPOLE), ("mse", False, True, CARTPOLE), ("huber", True, True, ENV_ID)],
    ids=["huber-double_q", "mse-single_q-transformed", "action-masks"],
)
def test_dqfd_learner_loss_matches_numpy(loss_fn, double_q, transformed, env):
    """Total loss, the logged 1-step / n-step / margin / L2 terms, expert statistics and per-row TD
    errors of the torch learner equal the NumPy formulas, on a batch mixing expert and simulation rows
    (with action masks: maxima, argmax and the margin over the allowed actions only)."""
    learner, config = build_learner(loss_fn, double_q, transformed, env)
    batch = make_batch(seed=7, env=env)
    expected = numpy_dqfd(learner, config, batch)

    # Every term matters: huber is used in both its regions, J_E and J_L2 are not negligible.
    j_dq, j_n, j_e = expected["terms"]
    assert np.mean(j_e) > 0.05 and LAMBDA_L2 * expected[keys.L2_LOSS_KEY] > 1e-3
    assert not np.allclose(j_dq, j_n)
    if loss_fn == "huber":
        delta = expected[TD_ERROR_KEY]
        assert (delta > 1).any() and (delta < 1).any()

    fwd_out = learner.module[DEFAULT_MODULE_ID].forward_train(batch)
    loss = learner.compute_loss_for_module(
        module_id=DEFAULT_MODULE_ID,
        config=learner.config.get_config_for_module(DEFAULT_MODULE_ID),
        batch=batch,
        fwd_out=fwd_out,
    )
    np.testing.assert_allclose(float(loss.detach()), expected[QF_LOSS_KEY], rtol=RTOL)
    for key in (
        QF_LOSS_KEY,
        keys.TD_LOSS_1STEP_KEY,
        keys.TD_LOSS_NSTEP_KEY,
        keys.MARGIN_LOSS_KEY,
        keys.L2_LOSS_KEY,
        keys.EXPERT_FRACTION_KEY,
        keys.EXPERT_ACCURACY_KEY,
        keys.TD_ERROR_EXPERT_KEY,
        keys.TD_ERROR_SIM_KEY,
    ):
        logged = float(torch.as_tensor(learner.metrics.peek((DEFAULT_MODULE_ID, key))).detach().squeeze())
        np.testing.assert_allclose(logged, expected[key], rtol=RTOL, err_msg=key)
    td_errors = np.concatenate([np.ravel(x) for x in learner.metrics.peek((DEFAULT_MODULE_ID, TD_ERROR_KEY))])
    np.testing.assert_allclose(td_errors, expected[TD_ERROR_KEY], rtol=RTOL, atol=1e-6)
