"""From validated experiments to what Tune runs: the param space (env wiring, absolute dataset paths,
defaults for RLlib's own offline algorithms), grid variants, every trial's `AlgorithmConfig.validate()`,
command-line overrides, and the order of a Phase 1 -> Phase 2 chain."""

import copy
from pathlib import Path
from typing import Any, Dict, List

from ray.tune.search.variant_generator import generate_variants

from rllib_il.algorithms.registry import ALGORITHMS, prepared_config
from rllib_il.core.constants import DEFAULT_EVAL_SEED, SHARED_MODULE_ID
from rllib_il.core.errors import ConfigError, did_you_mean
from rllib_il.data.readers import datasets_metadata
from rllib_il.envs import ENVS, map_to_shared
from rllib_il.rollout.fixed_seeds import evaluation_function
from rllib_il.workflow.experiments import CONFIG_KEY_ALIASES, Experiment, is_grid, load_file

# Dataset locations: made absolute, since Tune runs every trial in its own working directory.
PATH_KEYS = ("input", "expert_data")


# RLlib's own offline algorithms (BC, MARWIL, ...) read `input` through Ray Data; defaults the experiment
# layer gives them (a value in the file wins, per key of map_batches_kwargs too).
# Ray Data's pre-learner actors reserve no CPU: Ray Data schedules its tasks outside the trial's
# placement group, so on 2 CPUs the trial's CPU plus RLlib's 1-CPU actors left none for the parquet read.
RLLIB_OFFLINE_MAP_BATCHES_KWARGS = {"num_cpus": 0}


STOP_ALIASES = {
    # new-stack result keys for the --stop-timesteps override
    "env_steps": "num_env_steps_sampled_lifetime",
}


def param_space(exp: Experiment) -> Dict[str, Any]:
    """The dict Tune receives: the YAML config (grid_search left for Tune) plus env wiring."""
    space = {CONFIG_KEY_ALIASES.get(k, k): copy.deepcopy(v) for k, v in exp.config.items()}
    for key in PATH_KEYS:
        if key in space:
            space[key] = _absolute(space[key])
    space["env"] = exp.env
    spec = ENVS.get(exp.env)
    if spec is not None and spec.multi_agent and "policies" not in space and "multiagent" not in space:
        space["policies"] = {SHARED_MODULE_ID}
        space["policy_mapping_fn"] = map_to_shared
    if spec is not None and spec.callbacks and "callbacks" not in space:
        space["callbacks"] = spec.callbacks
    if uses_rllib_offline_data(exp.run, space):
        _rllib_offline_defaults(space)
    if exp.fixed_seed_evaluation is not None:
        spec = exp.fixed_seed_evaluation
        space["custom_evaluation_function"] = evaluation_function(spec["episodes"], spec.get("seed", DEFAULT_EVAL_SEED))
    return space


def uses_rllib_offline_data(run: str, space: dict) -> bool:
    """True for RLlib's own algorithms given an `input` dataset (RLlib's `AlgorithmConfig.is_offline`):
    they read it with RLlib's `OfflineData` (Ray Data); ours bring their own data classes."""
    inputs = space.get("input")
    return run not in ALGORITHMS and bool(inputs) and inputs != "sampler"


def _rllib_offline_defaults(space: dict) -> None:
    """Settings RLlib's `OfflineData` needs for this project's datasets on a small machine."""
    if "input_read_episodes" not in space and _episode_format(space["input"]):
        space["input_read_episodes"] = True  # rows are msgpack'd episodes, not `obs`/`actions` columns
    user = space.get("map_batches_kwargs")
    if not is_grid(user):
        space["map_batches_kwargs"] = {**RLLIB_OFFLINE_MAP_BATCHES_KWARGS, **(user or {})}


def _episode_format(inputs) -> bool:
    """Whether every dataset of `inputs` (a path, list, or grid over them) is in this project's episode
    format: its metadata.json says so. Other data (RLlib's column format) is left to RLlib."""
    options = inputs["grid_search"] if is_grid(inputs) else [inputs]
    try:
        return all(datasets_metadata(option) for option in options)
    except ConfigError:  # no metadata.json, or not ours: not an rllib_il dataset
        return False


def _absolute(paths):
    """A path, glob, list of them or grid over them, relative to the current directory -> absolute."""
    if isinstance(paths, str):
        return str(Path(paths).expanduser().absolute())
    if is_grid(paths):
        return {"grid_search": [_absolute(p) for p in paths["grid_search"]]}
    if isinstance(paths, list):
        return [_absolute(p) for p in paths]
    return paths


def resolve_trials(exp: Experiment) -> List[Dict[str, Any]]:
    """All grid variants: [{"params": {path: value}, "config": resolved dict}, ...]."""
    trials = []
    for resolved, spec in generate_variants(param_space(exp)):
        params = {"/".join(map(str, path)): value for path, value in resolved.items()}
        trials.append({"params": params, "config": spec})
    return trials


def validate_trials(exp: Experiment) -> List[Dict[str, Any]]:
    """Builds every resolved trial's AlgorithmConfig, prepares it and runs its `validate()` (no Ray needed)."""
    trials = resolve_trials(exp)
    for trial in trials:
        try:
            prepared_config(exp.run, trial["config"]).validate()
        except ConfigError as e:
            raise ConfigError(f"{exp.where()}: {e}") from None
        except Exception as e:  # RLlib's own validation messages, made one line
            params = f" (trial {trial['params']})" if trial["params"] else ""
            message = " ".join(str(e).split())
            raise ConfigError(f"{exp.where()}{params}: invalid config: {type(e).__name__}: {message}") from None
    return trials


def apply_overrides(exp: Experiment, num_env_runners=None, stop_iters=None, stop_timesteps=None, seeds=None) -> None:
    """Command-line overrides for quick runs, repeated seeds and scale-out."""
    if seeds:
        exp.config["seed"] = {"grid_search": list(seeds)}
    if num_env_runners is not None:
        exp.config["num_env_runners"] = num_env_runners
    if stop_iters is not None:
        exp.stop["training_iteration"] = stop_iters
    if stop_timesteps is not None:
        exp.stop[STOP_ALIASES["env_steps"]] = stop_timesteps


def load_all(
    files: List[str], output_dir: str = "results", check_restore_sources: bool = True, **overrides
) -> List[Experiment]:
    """Loads and fully validates every file before anything runs.

    A Phase 2 whose `restore_from` experiment neither runs earlier nor exists on disk is an error, in
    a dry run too (dry-run a Phase 2 file together with its Phase 1 file: `-f phase1.yaml -f phase2.yaml`).
    `check_restore_sources=False` skips that check, for callers that only read the configs.
    """
    experiments = [exp for file in files for exp in load_file(file)]
    names = [exp.name for exp in experiments]
    for i, exp in enumerate(experiments):
        if names.count(exp.name) > 1:
            raise ConfigError(f"{exp.file}: experiment name '{exp.name}' is used more than once")
        if check_restore_sources:
            _check_restore_source(exp, names[:i], Path(output_dir))
        apply_overrides(exp, **overrides)
        exp.trials = validate_trials(exp)
    return experiments


def _check_restore_source(exp: Experiment, earlier: List[str], output_dir: Path) -> None:
    """A Phase 2 must start from an experiment that runs before it or already exists on disk."""
    if not isinstance(exp.restore_from, dict):
        return
    source = str(exp.restore_from["experiment"])
    if source in earlier or (output_dir / source).is_dir() or Path(source).is_dir():
        return
    on_disk = [p.name for p in output_dir.iterdir() if p.is_dir()] if output_dir.is_dir() else []
    raise ConfigError(
        f"{exp.where('restore_from.experiment')}: '{source}' is neither an earlier experiment of this run "
        f"({', '.join(earlier) or 'none'}) nor a directory in {output_dir}{did_you_mean(source, earlier + on_disk)}"
    )
