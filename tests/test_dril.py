"""DRIL: the ensemble variance and clipped cost by hand, the ensemble's fit on the demonstrations, the
learner built locally (no Ray): its reward, its BC term through `compute_loss_for_module`, its saved
ensemble; bad settings refused with one line."""

import math

import numpy as np
import pytest
import torch
from local_learner import local_learner
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from test_adversarial import lunar_episodes, ppo_batch

from rllib_il.algorithms.dril.dril import DRILConfig
from rllib_il.algorithms.dril.ensemble import BCEnsemble
from rllib_il.algorithms.dril.torch.dril_torch_learner import BC_LOSS_KEY
from rllib_il.algorithms.learned_reward import REWARD_MEAN_KEY
from rllib_il.algorithms.ppo_il.torch.ppo_il_torch_learner import PPOILTorchLearner
from rllib_il.core.errors import ConfigError
from rllib_il.losses.dril import clipped_uncertainty_cost, ensemble_variance

LUNAR = "saved_experiences/lunarlander"


def t(x):
    return torch.as_tensor(x, dtype=torch.float32)


def test_variance_and_clipped_cost_by_hand():
    # members' probabilities 0.2 / 0.4 / 0.6 of one row (variance 0.08 / 3), all equal on the other
    variance = ensemble_variance(t([[0.2, 0.5], [0.4, 0.5], [0.6, 0.5]]))
    np.testing.assert_allclose(variance.numpy(), [0.08 / 3, 0.0], atol=1e-7)
    np.testing.assert_array_equal(clipped_uncertainty_cost(variance, 0.01).numpy(), [1.0, -1.0])
    np.testing.assert_array_equal(clipped_uncertainty_cost(variance, 0.03).numpy(), [-1.0, -1.0])


def test_ensemble_fits_the_demonstrations_and_sets_the_quantile():
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(200, 3)).astype(np.float32)
    actions = (obs[:, 0] > 0).astype(np.int64)  # a rule the members can learn
    ensemble = BCEnsemble(3, 2, size=3, hiddens=[16])
    ensemble.fit(obs, actions, updates=300, lr=1e-2, quantile=0.9, generator=torch.Generator().manual_seed(0))
    probs = ensemble.action_probs(t(obs), torch.as_tensor(actions))
    assert probs.shape == (3, 200) and probs.mean() > 0.9
    variance = ensemble_variance(probs).detach()
    assert float(ensemble.threshold) == pytest.approx(float(torch.quantile(variance, 0.9)), rel=1e-6)
    assert (variance <= ensemble.threshold).float().mean() == pytest.approx(0.9, abs=0.01)


def dril_config(**training):
    options = {"expert_data": LUNAR, "max_expert_episodes": 2, "ensemble_size": 3, "ensemble_hiddens": [8]}
    return (
        DRILConfig()
        .environment("LunarLander-v3")
        .training(ensemble_updates=20, gamma=0.9, **{**options, **training})
        .rl_module(model_config={"fcnet_hiddens": [16]})
        .debugging(seed=0)
    )


def test_dril_learner_reward_and_bc_term():
    """Reward -C_clip in {-1, +1}; `compute_loss_for_module` = PPO_IL's loss + bc_coeff * the policy's
    NLL of demonstration actions, which for a uniform policy over 4 actions is log 4."""
    config = dril_config(bc_coeff=0.5)
    learner = local_learner(config, "LunarLander-v3")
    module = learner.module[DEFAULT_MODULE_ID].unwrapped()
    with torch.no_grad():  # a uniform policy: zero logits everywhere
        for name, p in module.named_parameters():
            if name.startswith("pi."):
                p.zero_()
    batch, fwd_out = ppo_batch(learner)
    rewards = learner.reward(batch[Columns.OBS], batch[Columns.ACTIONS])
    assert set(rewards.tolist()) <= {-1.0, 1.0}
    module_config = learner.config.get_config_for_module(DEFAULT_MODULE_ID)
    args = dict(module_id=DEFAULT_MODULE_ID, config=module_config, batch=batch, fwd_out=fwd_out)
    reference = PPOILTorchLearner.compute_loss_for_module(learner, **args).item()
    assert learner.compute_loss_for_module(**args).item() == pytest.approx(reference + 0.5 * math.log(4.0), rel=1e-5)
    assert float(learner.metrics.peek((DEFAULT_MODULE_ID, BC_LOSS_KEY))) == pytest.approx(math.log(4.0), rel=1e-5)


def test_dril_learner_update_and_state():
    config = dril_config().training(train_batch_size_per_learner=40, minibatch_size=20, num_epochs=1)
    learner = local_learner(config, "LunarLander-v3")
    results = learner.update(episodes=lunar_episodes(), timesteps={})
    metrics = results[DEFAULT_MODULE_ID] if isinstance(results, dict) else results
    assert {REWARD_MEAN_KEY, BC_LOSS_KEY} <= set(metrics)
    state = learner.get_state()
    assert "ensemble" in state
    fresh = local_learner(config.training(ensemble_updates=1), "LunarLander-v3")
    fresh.set_state(state)
    for k, v in learner.ensemble.state_dict().items():
        torch.testing.assert_close(fresh.ensemble.state_dict()[k], v)


@pytest.mark.parametrize(
    "training, message",
    [
        ({"ensemble_size": 1}, "ensemble_size: 1 must be an integer >= 2"),
        ({"uncertainty_quantile": 1.5}, r"uncertainty_quantile: 1.5 must be a number in \[0.0, 1.0\]"),
        ({"bc_coeff": -1}, "bc_coeff: -1 must be a number >= 0.0"),
        ({"ensemble_hiddens": []}, "ensemble_hiddens"),
        ({"expert_data": None}, "expert_data: missing"),
    ],
)
def test_bad_dril_settings_are_one_line_errors(training, message):
    with pytest.raises(ConfigError, match=message) as e:
        dril_config(**training).validate()
    assert "\n" not in str(e.value)


def test_box_actions_are_refused():
    config = DRILConfig().environment("Pendulum-v1").training(expert_data="saved_experiences/pendulum")
    with pytest.raises(ConfigError, match="DRIL needs Discrete actions"):
        config.prepare()
