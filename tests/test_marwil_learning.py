"""Learning results of MARWIL_IL from the shipped demonstrations (minutes each: -m learning).

The configs are the experiment files' own trials (beta grid resolved), with the seed set, so the
numbers in docs/marwil.md are those of the files. Print lines are the measurements.
"""

import os
from pathlib import Path

import pytest

from rllib_il.algorithms.registry import default_config
from rllib_il.workflow.experiments import load_file
from rllib_il.workflow.trials import resolve_trials

REPO = Path(__file__).resolve().parents[1]
FLATLAND = "experiments/flatland_sparse/small_v0/tree_obs_fc_net/ImitationLearning/MARWIL.yaml"


def trial_config(file, beta, seed, **overrides):
    (exp,) = load_file(str(REPO / file))
    (trial,) = [t for t in resolve_trials(exp) if t["config"].get("beta") == beta]
    config = default_config(exp.run).update_from_dict(trial["config"])
    config.input_ = os.environ.get("MARWIL_INPUT_OVERRIDE", str(REPO / config.input_))
    return config.debugging(seed=seed).update_from_dict(overrides), exp.stop["training_iteration"]


def train_and_evaluate(config, iterations, eval_episodes, eval_env_config=None):
    """Train `iterations`; the last one ends with one evaluation of `eval_episodes` episodes."""
    env_override = {"env_config": eval_env_config} if eval_env_config else {}
    eval_overrides = {**(config.evaluation_config or {}), **env_override}
    config.evaluation(
        evaluation_duration=eval_episodes,
        evaluation_duration_unit="episodes",
        evaluation_interval=iterations,
        evaluation_config=eval_overrides,
    )
    algo = config.build_algo()
    try:
        for _ in range(iterations):
            result = algo.train()
        return result, result["evaluation"]["env_runners"]
    finally:
        algo.stop()


@pytest.mark.learning
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cartpole_bc_from_shipped_demos(ray_session, seed):
    """BC (beta 0) on CartPole-v1 from the shipped demonstrations: greedy eval return over 50 episodes
    >= 450 (measured 500.0 on seeds 0 / 1 / 2, docs/marwil.md)."""
    config, iterations = trial_config("experiments/cartpole/MARWIL.yaml", beta=0, seed=seed)
    result, evaluation = train_and_evaluate(config, iterations, eval_episodes=50)
    print(
        f"cartpole BC seed {seed}: eval return {evaluation['episode_return_mean']:.1f} over "
        f"{evaluation['num_episodes']} episodes; val accuracy {result['validation']['action_accuracy']:.3f}"
    )
    assert evaluation["episode_return_mean"] >= 450


LUNAR_3 = "experiments/lunarlander/MARWIL_bc_3_episodes.yaml"
LUNAR_ALL = "experiments/lunarlander/MARWIL.yaml"
# Lowest eval return each file must reach: the published 3-episode BC baseline (101) for the
# 3-episode file, a bit below the measured 205.5 / 213.6 / 231.2 (seeds 0 / 1 / 2) for all episodes.
LUNAR_MIN_RETURN = {LUNAR_3: 101, LUNAR_ALL: 190}


@pytest.mark.learning
@pytest.mark.parametrize(
    "file",
    [
        pytest.param(
            LUNAR_3,
            marks=pytest.mark.xfail(
                reason="measured 53.9 / 101.9 / 67.3 for seeds 0 / 1 / 2 (docs/marwil.md); goal: the published "
                "3-episode BC baseline 101",
                strict=False,
            ),
        ),
        LUNAR_ALL,
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lunarlander_bc(ray_session, file, seed):
    """BC (beta 0) on LunarLander-v3: greedy eval return over 50 episodes reaches LUNAR_MIN_RETURN[file]."""
    config, iterations = trial_config(file, beta=0, seed=seed)
    result, evaluation = train_and_evaluate(config, iterations, eval_episodes=50)
    print(
        f"lunarlander BC {config.input_} seed {seed}: eval return {evaluation['episode_return_mean']:.1f} "
        f"over {evaluation['num_episodes']} episodes"
    )
    assert evaluation["episode_return_mean"] >= LUNAR_MIN_RETURN[file]


@pytest.mark.learning
@pytest.mark.parametrize(
    "beta",
    [
        pytest.param(
            0,
            marks=pytest.mark.xfail(
                reason="measured 53.2 / 61.4 / 62.2 % arrived for seeds 0 / 1 / 2 at observation radius 2 and "
                "59.6 / 58.8 / 63.4 % at radius 10 (docs/marwil.md); goal >= 80 %",
                strict=False,
            ),
        ),
        0.25,
        1,
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_flatland_small_v0_percentage_arrived(ray_session, beta, seed):
    """Share of trains arrived over 100 seeded Flatland small_v0 episodes: the 80 % goal for BC (beta 0),
    the 2020 baselines' 50 % for beta 0.25 and 1 (measured 56.8-64.0 %, docs/marwil.md)."""
    config, iterations = trial_config(FLATLAND, beta=beta, seed=seed)
    result, evaluation = train_and_evaluate(
        config, iterations, eval_episodes=100, eval_env_config={"preset": "small_v0", "seed": 1000}
    )
    arrived = evaluation["percentage_complete"]
    print(
        f"flatland small_v0 beta {beta} seed {seed}: {100 * arrived:.1f} % arrived over {evaluation['num_episodes']} "
        f"episodes; val accuracy {result['validation']['action_accuracy']:.3f}"
    )
    assert arrived >= (0.8 if beta == 0 else 0.5)  # goal for BC; the 2020 baselines' "> 50 %" otherwise
