"""Phase 2 settings that keep what Phase 1 bought: exploration starts from the pre-trained policy,
demonstrations keep their priority bonus and margin loss, policy-gradient fine-tuning burns its critic
in. Checked on the config classes' defaults and on every shipped Phase 2 experiment file (no Ray)."""

from pathlib import Path

import numpy as np
import pytest

from rllib_il.algorithms.dqfd.apex_env_runner import apex_epsilon
from rllib_il.algorithms.dqfd.dqfd import APEXDQfDConfig, DQfDConfig
from rllib_il.algorithms.ppo_il.ppo_il import PPOILConfig
from rllib_il.algorithms.registry import default_config
from rllib_il.replay.mixing import fraction_values
from rllib_il.workflow.experiments import load_file
from rllib_il.workflow.trials import resolve_trials

ROOT = Path(__file__).resolve().parents[1]
PHASE2 = [
    exp
    for file in sorted((ROOT / "experiments").rglob("*.yaml"))
    for exp in load_file(str(file))
    if exp.restore_from is not None
]


def first_epsilon(config) -> float:
    return config.epsilon[0][1] if isinstance(config.epsilon, list) else config.epsilon


def test_dqfd_defaults_are_the_papers_phase2():
    config = DQfDConfig()
    assert first_epsilon(config) == 0.01 and len(config.epsilon) == 1  # constant, DQfD's
    assert config.expert_priority_bonus == 1.0 and config.priority_eps == 1e-3
    assert config.lambda_margin == 1.0 and config.margin == 0.8
    assert config.n_step == 10
    apex = APEXDQfDConfig()
    assert apex.per_runner_epsilon and apex.apex_epsilon_base == 0.1
    for runners in (2, 4, 16):
        mean = np.mean(
            [apex_epsilon(i, runners, apex.apex_epsilon_base, apex.apex_epsilon_alpha) for i in range(runners)]
        )
        assert mean < 0.051  # 0.1 and 0.1^8 on 2 runners


def test_ppo_il_defaults_are_plain_ppo():
    config = PPOILConfig()
    assert config.critic_burn_in_iterations == 0 and config.policy_kl_coeff == 0.0


@pytest.mark.parametrize("exp", [e for e in PHASE2 if e.run in ("DQfD", "APEX_DQfD")], ids=lambda e: e.file)
def test_dqfd_phase2_files_explore_from_the_pretrained_policy(exp):
    config = default_config(exp.run).update_from_dict(resolve_trials(exp)[0]["config"])
    if config.per_runner_epsilon:
        assert config.apex_epsilon_base <= 0.1
    else:
        assert first_epsilon(config) <= 0.02, exp.name
    assert config.expert_priority_bonus > 0 and config.expert_data
    assert 0 < min(fraction_values(config.expert_fraction)) < 1  # demonstrations stay in the mix


@pytest.mark.parametrize("exp", [e for e in PHASE2 if e.run == "PPO_IL"], ids=lambda e: e.file)
def test_ppo_phase2_files_burn_the_critic_in(exp):
    assert exp.config["critic_burn_in_iterations"] >= 1
