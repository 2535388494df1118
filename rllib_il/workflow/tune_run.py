"""Run one experiment as a Tune run on Ray: start Ray, hand a Phase 2 its Phase 1 checkpoint, refuse
resource layouts that would hang, and start or resume the Tuner."""

from pathlib import Path

import ray
from ray import tune

from rllib_il.algorithms.registry import get_algorithm_class, tune_trainable
from rllib_il.core.errors import ConfigError
from rllib_il.core.logs import RUNTIME_ENV
from rllib_il.workflow.handoff import check_compatible, on_init_callback, resolve_checkpoint
from rllib_il.workflow.trials import param_space, uses_rllib_offline_data


def init_ray(address):
    if ray.is_initialized():
        return
    # Without --address a new local Ray starts, never a cluster some other job left running here.
    ray.init(address=address or "local", include_dashboard=False, runtime_env=RUNTIME_ENV)


def run_experiment(exp, output_dir: Path, max_concurrent_trials=None, resume=False):
    """One Tune run (or the continuation of an interrupted one); returns its ResultGrid and, for a
    Phase 2, the `StartCheckpoint` it started from (else None)."""
    space = param_space(exp)
    start = None
    if exp.restore_from is not None:
        start = resolve_checkpoint(exp.restore_from, output_dir, exp.where("restore_from"))
        for trial in exp.trials:
            check_compatible(exp.run, trial["config"], start.path)
        space["callbacks_on_algorithm_init"] = on_init_callback(start.path)
    if max_concurrent_trials is None:
        max_concurrent_trials = max(1, int(ray.cluster_resources().get("CPU", 1)) // 4)
    check_ray_data_cpus(exp, space, max_concurrent_trials)
    exp_dir = output_dir.resolve() / exp.name
    if resume and tune.Tuner.can_restore(str(exp_dir)):
        print(f"Resuming {exp.name} from {exp_dir}")
        tuner = tune.Tuner.restore(
            str(exp_dir),
            trainable=tune_trainable(exp.run),
            param_space=space,
            resume_unfinished=True,
            resume_errored=True,
        )
        return tuner.fit(), start
    tuner = tune.Tuner(
        tune_trainable(exp.run),
        param_space=space,
        tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent_trials),
        run_config=tune.RunConfig(
            name=exp.name,
            storage_path=str(output_dir.resolve()),
            stop=exp.stop,
            checkpoint_config=tune.CheckpointConfig(**exp.checkpoint_config),
        ),
    )
    return tuner.fit(), start


def check_ray_data_cpus(exp, space: dict, max_concurrent_trials: int) -> None:
    """RLlib's own offline trials (BC, MARWIL, ... with `input`) must leave Ray Data a CPU.

    Ray Data schedules its read tasks outside the trial's placement group (its "SPREAD" strategy), and
    each needs 1 CPU: when the running trials (placement groups and pre-learner actors) hold every CPU,
    `train()` waits forever on a read that never starts. Refused here, in one line, instead.
    """
    if not uses_rllib_offline_data(exp.run, space):
        return
    algorithm = get_algorithm_class(exp.run)
    per_trial = max(trial_cpus(algorithm, trial["config"]) for trial in exp.trials)
    running = min(max_concurrent_trials, len(exp.trials))
    total = ray.cluster_resources().get("CPU", 0)
    if running * per_trial + 1 > total:
        raise ConfigError(
            f"{exp.where()}: {running} {exp.run} trial(s) at a time hold {running * per_trial:g} of Ray's "
            f"{total:g} CPUs and RLlib's Ray Data reads need 1 more; lower --max-concurrent-trials, the trial's "
            "env runners / CPUs or map_batches_kwargs.num_cpus, or use run: MARWIL_IL (beta 0 = BC)"
        )


def trial_cpus(algorithm, config: dict) -> float:
    """CPUs one trial holds while it trains: its placement group as Tune reserves it
    (`Algorithm.default_resource_request`) plus its Ray Data pre-learner actors (ray/rllib/offline/
    offline_data.py: `concurrency` max(2, num_learners) by default, 1 CPU each unless `num_cpus` says)."""
    placement_group = algorithm.default_resource_request(config).required_resources.get("CPU", 0)
    kwargs = config.get("map_batches_kwargs") or {}
    actors = kwargs.get("concurrency", max(2, config.get("num_learners") or 0))
    actors = max(actors) if isinstance(actors, (tuple, list)) else actors
    return placement_group + actors * kwargs.get("num_cpus", 1)
