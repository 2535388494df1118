"""Experiment files: load, validate strictly, expand grids, and hand them to Ray Tune.

The file format is the classic RLlib/Tune one::

    <experiment name>:
      run: MARWIL_IL                 # an algorithm registered with Tune (ours or RLlib's)
      env: flatland_sparse           # a registered env or a gymnasium id
      stop: {training_iteration: 20}
      checkpoint_config: {checkpoint_frequency: 5, checkpoint_at_end: true}
      config:                        # AlgorithmConfig attributes; {grid_search: [...]} anywhere
        beta: {grid_search: [0, 0.25, 1]}

Unlike RLlib's `update_from_dict`, which silently accepts any key, every key is checked against the
algorithm's config class, and every resolved trial runs through `AlgorithmConfig.validate()` before
anything starts. All mistakes raise `ConfigError` with a one-line message naming file, experiment, key.
"""

import copy
import dataclasses
import difflib
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from rllib_il.errors import ConfigError
from rllib_il.user_code import is_user_code

EXPERIMENT_KEYS = ("run", "env", "stop", "config", "checkpoint_config", "restore_from")
CHECKPOINT_KEYS = (
    "checkpoint_frequency",
    "checkpoint_at_end",
    "num_to_keep",
    "checkpoint_score_attribute",
    "checkpoint_score_order",
)
# YAML spelling -> AlgorithmConfig.update_from_dict spelling (beside RLlib's own translations).
CONFIG_KEY_ALIASES = {"model_config": "_model_config"}
# Old API stack keys that update_from_dict accepts but the new stack ignores.
OLD_STACK_KEYS = {
    "model": "model_config",
    "exploration_config": "the algorithm's own exploration settings (e.g. epsilon)",
}
# Keys the experiment layer sets itself; allowed in `config` although they are not attributes.
MANAGED_KEYS = ("env",)
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


@dataclasses.dataclass
class Experiment:
    """One validated experiment of one file."""

    name: str
    file: str
    run: str
    env: str
    stop: Dict[str, Any]
    config: Dict[str, Any]
    checkpoint_config: Dict[str, Any]
    restore_from: Any = None  # Phase 2: where to start from (see rllib_il/handoff.py)
    trials: List[Dict[str, Any]] = dataclasses.field(default_factory=list)

    def where(self, key: Optional[str] = None) -> str:
        at = f"{self.file}: experiment '{self.name}'"
        return f"{at}, key '{key}'" if key else at


def _nearest(word: str, candidates) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def load_file(path: str) -> List[Experiment]:
    """Parses and validates one experiment file into its experiments, in file order."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{path}: no such experiment file")
    try:
        data = yaml.safe_load(file.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: malformed YAML{line}: {getattr(e, 'problem', e)}")
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{path}: expected a mapping of experiment names to experiments")
    return [_parse_experiment(path, name, spec) for name, spec in data.items()]


def _parse_experiment(path: str, name, spec) -> Experiment:
    where = f"{path}: experiment '{name}'"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping with keys {', '.join(EXPERIMENT_KEYS)}")
    for key in spec:
        if key not in EXPERIMENT_KEYS:
            raise ConfigError(f"{where}: unknown key '{key}'{_nearest(str(key), EXPERIMENT_KEYS)}")
    config = spec.get("config") or {}
    for key in ("config", "stop", "checkpoint_config"):
        if not isinstance(spec.get(key) or {}, dict):
            raise ConfigError(f"{where}, key '{key}': expected a mapping, got {spec[key]!r}")
    if "run" not in spec:
        raise ConfigError(f"{where}: missing key 'run' (the algorithm to train)")
    env = spec.get("env", config.get("env"))
    if env is None:
        raise ConfigError(f"{where}: missing key 'env'")
    exp = Experiment(
        name=str(name),
        file=path,
        run=str(spec["run"]),
        env=str(env),
        stop=dict(spec.get("stop") or {}),
        config={k: v for k, v in config.items() if k != "env"},
        checkpoint_config=dict(spec.get("checkpoint_config") or {}),
        restore_from=spec.get("restore_from"),
    )
    _check_run_and_env(exp)
    _check_stop(exp)
    _check_checkpoint_config(exp)
    _check_config_keys(exp, exp.config, default_config(exp.run))
    if exp.restore_from is not None:
        from rllib_il.handoff import check_spec

        check_spec(exp.restore_from, exp.where("restore_from"))
    return exp


def default_config(run: str):
    from rllib_il.algorithms.registry import get_algorithm_class

    return get_algorithm_class(run).get_default_config()


def _check_run_and_env(exp: Experiment) -> None:
    from rllib_il.algorithms.registry import get_algorithm_class, known_algorithms
    from rllib_il.envs import known_env, register_user_env

    if get_algorithm_class(exp.run) is None:
        names = known_algorithms()
        raise ConfigError(
            f"{exp.where('run')}: unknown algorithm '{exp.run}'{_nearest(exp.run, names)}; "
            f"known: {', '.join(names)}"
        )
    if is_user_code(exp.env):
        try:
            register_user_env(exp.env)
        except ConfigError as e:
            raise ConfigError(f"{exp.where('env')}: {e}") from None
    if not known_env(exp.env):
        from rllib_il.envs import ENVS

        raise ConfigError(
            f"{exp.where('env')}: unknown env '{exp.env}'{_nearest(exp.env, ENVS)}; use one of "
            f"{', '.join(ENVS)}, a registered gymnasium id such as CartPole-v1, or your own as 'module:make_env'"
        )


def _check_stop(exp: Experiment) -> None:
    for key, value in exp.stop.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{exp.where('stop.' + str(key))}: expected a number, got {value!r}")


def _check_checkpoint_config(exp: Experiment) -> None:
    for key, value in exp.checkpoint_config.items():
        if key not in CHECKPOINT_KEYS:
            raise ConfigError(
                f"{exp.where('checkpoint_config.' + str(key))}: unknown key"
                f"{_nearest(str(key), CHECKPOINT_KEYS)}; known: {', '.join(CHECKPOINT_KEYS)}"
            )


def _is_grid(value) -> bool:
    return isinstance(value, dict) and "grid_search" in value


def _check_config_keys(exp: Experiment, config: dict, default, prefix: str = "") -> None:
    """Every key must be an attribute of the algorithm's config (RLlib would accept typos)."""
    from ray.rllib.algorithms.algorithm_config import AlgorithmConfig

    for key, value in config.items():
        path = prefix + str(key)
        _check_grids(exp, value, path)
        if key in OLD_STACK_KEYS:
            raise ConfigError(
                f"{exp.where(path)}: '{key}' is an old API stack setting that the new stack ignores; "
                f"use {OLD_STACK_KEYS[key]}"
            )
        if key in MANAGED_KEYS:
            continue
        attr = CONFIG_KEY_ALIASES.get(key, AlgorithmConfig._translate_special_keys(key, warn_deprecated=False))
        if not hasattr(default, attr):
            attrs = [a for a in dir(default) if not a.startswith("_")] + list(CONFIG_KEY_ALIASES)
            raise ConfigError(
                f"{exp.where(path)}: '{key}' is not a setting of {type(default).__name__}{_nearest(key, attrs)}"
            )
        if key == "model_config" and isinstance(value, dict):
            _check_model_config(exp, value, path)
        if key == "evaluation_config" and isinstance(value, dict):
            _check_config_keys(exp, value, default, prefix=path + ".")


def _check_grids(exp: Experiment, node, path: str) -> None:
    """Every {grid_search: [...]} at any depth must be exactly that key with a non-empty list."""
    if _is_grid(node):
        if set(node) != {"grid_search"} or not isinstance(node["grid_search"], list) or not node["grid_search"]:
            raise ConfigError(f"{exp.where(path)}: grid_search needs a non-empty list, got {node!r}")
        return
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        _check_grids(exp, child, f"{path}.{key}")


def _check_model_config(exp: Experiment, model_config: dict, path: str) -> None:
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    fields = [f.name for f in dataclasses.fields(DefaultModelConfig)]
    for key in model_config:
        if key not in fields:
            raise ConfigError(
                f"{exp.where(path + '.' + str(key))}: not a model_config field{_nearest(str(key), fields)}"
            )


def param_space(exp: Experiment) -> Dict[str, Any]:
    """The dict Tune receives: the YAML config (grid_search left for Tune) plus env wiring."""
    from rllib_il import SHARED_MODULE_ID
    from rllib_il.envs import ENVS, map_to_shared

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
    if "callbacks_on_train_result" not in space:
        from rllib_il.health import report_env_runner_health

        space["callbacks_on_train_result"] = report_env_runner_health
    return space


def uses_rllib_offline_data(run: str, space: dict) -> bool:
    """True for RLlib's own algorithms given an `input` dataset (RLlib's `AlgorithmConfig.is_offline`):
    they read it with RLlib's `OfflineData` (Ray Data); ours bring their own data classes."""
    from rllib_il.algorithms.registry import ALGORITHMS

    inputs = space.get("input")
    return run not in ALGORITHMS and bool(inputs) and inputs != "sampler"


def _rllib_offline_defaults(space: dict) -> None:
    """Settings RLlib's `OfflineData` needs for this project's datasets on a small machine."""
    if "input_read_episodes" not in space and _episode_format(space["input"]):
        space["input_read_episodes"] = True  # rows are msgpack'd episodes, not `obs`/`actions` columns
    user = space.get("map_batches_kwargs")
    if not _is_grid(user):
        space["map_batches_kwargs"] = {**RLLIB_OFFLINE_MAP_BATCHES_KWARGS, **(user or {})}


def _episode_format(inputs) -> bool:
    """Whether every dataset of `inputs` (a path, list, or grid over them) is in this project's episode
    format: its metadata.json says so. Other data (RLlib's column format) is left to RLlib."""
    from rllib_il.offline import dataset

    options = inputs["grid_search"] if _is_grid(inputs) else [inputs]
    try:
        return all(dataset.datasets_metadata(option) for option in options)
    except ConfigError:  # no metadata.json, or not ours: not an rllib_il dataset
        return False


def _absolute(paths):
    """A path, glob, list of them or grid over them, relative to the current directory -> absolute."""
    if isinstance(paths, str):
        return str(Path(paths).expanduser().absolute())
    if _is_grid(paths):
        return {"grid_search": [_absolute(p) for p in paths["grid_search"]]}
    if isinstance(paths, list):
        return [_absolute(p) for p in paths]
    return paths


def lookup(config: dict, path: str):
    """The value at a grid parameter path like "env_config/preset" (None when absent)."""
    value = config
    for part in path.split("/"):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def resolve_trials(exp: Experiment) -> List[Dict[str, Any]]:
    """All grid variants: [{"params": {path: value}, "config": resolved dict}, ...]."""
    from ray.tune.search.variant_generator import generate_variants

    trials = []
    for resolved, spec in generate_variants(param_space(exp)):
        params = {"/".join(map(str, path)): value for path, value in resolved.items()}
        trials.append({"params": params, "config": spec})
    return trials


def validate_trials(exp: Experiment) -> List[Dict[str, Any]]:
    """Builds every resolved trial's AlgorithmConfig and runs its `validate()` (no Ray needed)."""
    trials = resolve_trials(exp)
    for trial in trials:
        try:
            config = default_config(exp.run).update_from_dict(trial["config"])
            config.validate()
        except ConfigError as e:
            raise ConfigError(f"{exp.where()}: {e}")
        except Exception as e:  # RLlib's own validation messages, made one line
            params = f" (trial {trial['params']})" if trial["params"] else ""
            message = " ".join(str(e).split())
            raise ConfigError(f"{exp.where()}{params}: invalid config: {type(e).__name__}: {message}")
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


def load_all(files: List[str], output_dir: str = "results", check_restore_sources: bool = True,
             **overrides) -> List[Experiment]:
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
        f"({', '.join(earlier) or 'none'}) nor a directory in {output_dir}{_nearest(source, earlier + on_disk)}"
    )
