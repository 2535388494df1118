"""RLlib's periodic evaluation, on the same episode seeds every time.

RLlib's own evaluation runs whatever episodes its eval env runners reach next (their envs are seeded
once), so two evaluations of the same policy differ by which start states they drew; with LunarLander's
spread (std ~70-90 per episode) a 10- or 20-episode mean is too noisy to pick a checkpoint. This
evaluation, RLlib's `custom_evaluation_function`, runs the current policy greedily on episodes
`env.reset(seed=s)` for a fixed list of seeds with the project's `rollout()` (the loop of
`rllib_il.cli.evaluate`), split over the eval env runners, and reports under RLlib's usual keys:
`evaluation/env_runners/episode_return_mean` (also `_std`), `episode_len_mean`, `num_episodes`, and
`percentage_complete` on Flatland. Checkpoint scores and `restore_from` metrics then rest on it.
"""

import functools
import json
from typing import Sequence

import numpy as np
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModule
from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, EVALUATION_RESULTS
from ray.rllib.utils.metrics.metrics_logger import MetricsLogger

from rllib_il.core.constants import DEFAULT_EVAL_SEED, SHARED_MODULE_ID
from rllib_il.envs import make_env
from rllib_il.experts.checkpoint import ModulePolicy
from rllib_il.rollout.rollout import rollout
from rllib_il.rollout.statistics import summarize

# One env per (env, env_config) and process: an eval env runner reuses it at every evaluation.
_ENVS: dict = {}


def evaluation_function(episodes: int, first_seed: int = DEFAULT_EVAL_SEED):
    """The `custom_evaluation_function` that evaluates on seeds first_seed .. first_seed + episodes - 1."""
    return functools.partial(evaluate_on_seeds, seeds=list(range(first_seed, first_seed + episodes)))


def evaluate_on_seeds(algorithm, eval_env_runner_group, seeds: Sequence[int]):
    """Greedy episodes on `seeds` with the eval env runners' (freshly synced) modules; logs the
    statistics into the algorithm's evaluation results and returns RLlib's (results, env steps,
    agent steps)."""
    group = eval_env_runner_group or algorithm.env_runner_group
    runners = group.healthy_worker_ids() if group.num_healthy_remote_workers() else []
    if runners:
        chunks = dict(zip(runners, (c.tolist() for c in np.array_split(np.asarray(seeds), len(runners)))))
        per_runner = group.foreach_env_runner(
            functools.partial(_run_chunk, chunks=chunks),
            local_env_runner=False,
            remote_worker_ids=runners,
            timeout_seconds=algorithm.config.evaluation_sample_timeout_s,
        )
    else:
        per_runner = [_run_chunk(group.local_env_runner, chunks={0: list(seeds)})]
    stats = [s for chunk in per_runner for s in chunk]
    if not stats:  # every eval runner failed: RLlib restores them; this evaluation reports nothing
        return {}, 0, 0
    # A runner lost during the call leaves its seeds out: num_episodes says how many were played.
    summary = summarize(stats)
    values = {
        "episode_return_mean": summary["return_mean"],
        "episode_return_std": summary["return_std"],
        "episode_len_mean": summary["steps"] / summary["episodes"],
        "num_episodes": summary["episodes"],
    }
    if "percentage_complete" in summary:
        values["percentage_complete"] = summary["percentage_complete"]
    # Reported like an eval env runner's results: RLlib reads evaluation results as merged ones.
    runner_metrics = MetricsLogger()
    runner_metrics.log_dict(values, window=1)
    algorithm.metrics.aggregate([runner_metrics.reduce()], key=(EVALUATION_RESULTS, ENV_RUNNER_RESULTS))
    return {}, int(summary["steps"]), int(summary["steps"])  # agent steps counted as env steps


def _run_chunk(runner, chunks):
    """The runner plays the seeds `chunks` holds under its worker index (0: the local runner)."""
    seeds = chunks[runner.worker_index]
    config = runner.config
    key = (str(config.env), json.dumps(config.env_config, sort_keys=True, default=str))
    if key not in _ENVS:
        _ENVS[key] = make_env(config.env, dict(config.env_config))
    env = _ENVS[key]
    module = runner.module
    if isinstance(module, MultiRLModule):
        ids = list(module.keys())
        module = module[ids[0] if len(ids) == 1 else SHARED_MODULE_ID]
    policy = ModulePolicy(env, module, explore=False, normalized_actions=config.normalize_actions)
    return [rollout(env, policy, seed)[1] for seed in seeds]
