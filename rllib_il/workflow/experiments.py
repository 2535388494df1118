"""Experiment files: load, validate strictly, expand grids, and hand them to Ray Tune.

The file format is the classic RLlib/Tune one::

    <experiment name>:
      run: MARWIL_IL                 # an algorithm registered with Tune (ours or RLlib's)
      env: flatland_sparse           # a registered env or a gymnasium id
      stop: {training_iteration: 20}
      checkpoint_config: {checkpoint_frequency: 5, checkpoint_at_end: true}
      config:                        # AlgorithmConfig attributes; {grid_search: [...]} anywhere
        beta: {grid_search: [0, 0.25, 1]}
        evaluation_interval: 5
      fixed_seed_evaluation: {episodes: 100, seed: 10000}   # optional: see rllib_il/rollout/fixed_seeds.py

Unlike RLlib's `update_from_dict`, which silently accepts any key, every key is checked against the
algorithm's config class, and every resolved trial runs through `AlgorithmConfig.validate()` before
anything starts. All mistakes raise `ConfigError` with a one-line message naming file, experiment, key.
"""

import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml
from ray.rllib.algorithms.algorithm_config import AlgorithmConfig
from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

from rllib_il.algorithms.registry import default_config, get_algorithm_class, known_algorithms
from rllib_il.core.errors import ConfigError, did_you_mean
from rllib_il.envs import ensure_registered
from rllib_il.workflow.handoff import check_spec

EXPERIMENT_KEYS = ("run", "env", "stop", "config", "checkpoint_config", "restore_from", "fixed_seed_evaluation")
FIXED_SEED_KEYS = ("episodes", "seed")


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
    restore_from: Any = None  # Phase 2: where to start from (see rllib_il/workflow/handoff.py)
    fixed_seed_evaluation: Optional[Dict[str, int]] = None  # {episodes, seed}: rllib_il/rollout/fixed_seeds.py
    trials: List[Dict[str, Any]] = dataclasses.field(default_factory=list)

    def where(self, key: Optional[str] = None) -> str:
        at = f"{self.file}: experiment '{self.name}'"
        return f"{at}, key '{key}'" if key else at


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
        raise ConfigError(f"{path}: malformed YAML{line}: {getattr(e, 'problem', e)}") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{path}: expected a mapping of experiment names to experiments")
    return [_parse_experiment(path, name, spec) for name, spec in data.items()]


def _parse_experiment(path: str, name, spec) -> Experiment:
    where = f"{path}: experiment '{name}'"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping with keys {', '.join(EXPERIMENT_KEYS)}")
    for key in spec:
        if key not in EXPERIMENT_KEYS:
            raise ConfigError(f"{where}: unknown key '{key}'{did_you_mean(str(key), EXPERIMENT_KEYS)}")
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
        fixed_seed_evaluation=spec.get("fixed_seed_evaluation"),
    )
    _check_run_and_env(exp)
    _check_stop(exp)
    _check_checkpoint_config(exp)
    _check_config_keys(exp, exp.config, default_config(exp.run))
    if exp.restore_from is not None:
        check_spec(exp.restore_from, exp.where("restore_from"))
    if exp.fixed_seed_evaluation is not None:
        _check_fixed_seed_evaluation(exp)
    return exp


def _check_fixed_seed_evaluation(exp: Experiment) -> None:
    """`fixed_seed_evaluation: {episodes: N, seed: S}` (seed defaults to 10000); needs evaluation_interval."""
    spec = exp.fixed_seed_evaluation
    where = exp.where("fixed_seed_evaluation")
    if not isinstance(spec, dict) or "episodes" not in spec:
        raise ConfigError(f"{where}: expected a mapping {{episodes: N, seed: S}}, got {spec!r}")
    for key, value in spec.items():
        if key not in FIXED_SEED_KEYS:
            raise ConfigError(
                f"{exp.where(f'fixed_seed_evaluation.{key}')}: unknown key{did_you_mean(str(key), FIXED_SEED_KEYS)}"
            )
        least = 1 if key == "episodes" else 0
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ConfigError(
                f"{exp.where(f'fixed_seed_evaluation.{key}')}: expected an integer >= {least}, got {value!r}"
            )
    if not exp.config.get("evaluation_interval"):
        raise ConfigError(f"{where}: needs config.evaluation_interval (how often to evaluate, in iterations)")
    for key in ("evaluation_duration", "evaluation_duration_unit", "custom_evaluation_function"):
        if key in exp.config:
            raise ConfigError(f"{exp.where('config.' + key)}: set by fixed_seed_evaluation (its episodes and seed)")


def _check_run_and_env(exp: Experiment) -> None:
    if get_algorithm_class(exp.run) is None:
        names = known_algorithms()
        raise ConfigError(
            f"{exp.where('run')}: unknown algorithm '{exp.run}'{did_you_mean(exp.run, names)}; "
            f"known: {', '.join(names)}"
        )
    try:
        ensure_registered(exp.env)
    except ConfigError as e:
        raise ConfigError(f"{exp.where('env')}: {e}") from None


def _check_stop(exp: Experiment) -> None:
    for key, value in exp.stop.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{exp.where('stop.' + str(key))}: expected a number, got {value!r}")


def _check_checkpoint_config(exp: Experiment) -> None:
    for key in exp.checkpoint_config:
        if key not in CHECKPOINT_KEYS:
            raise ConfigError(
                f"{exp.where('checkpoint_config.' + str(key))}: unknown key"
                f"{did_you_mean(str(key), CHECKPOINT_KEYS)}; known: {', '.join(CHECKPOINT_KEYS)}"
            )


def is_grid(value) -> bool:
    return isinstance(value, dict) and "grid_search" in value


def _check_config_keys(exp: Experiment, config: dict, default, prefix: str = "") -> None:
    """Every key must be an attribute of the algorithm's config (RLlib would accept typos)."""
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
        # RLlib's spelling translation (e.g. "lambda" -> "lambda_") has no public form: ray/rllib/algorithms/
        # algorithm_config.py `AlgorithmConfig._translate_special_keys`, which update_from_dict itself uses.
        attr = CONFIG_KEY_ALIASES.get(key, AlgorithmConfig._translate_special_keys(key, warn_deprecated=False))
        if not hasattr(default, attr):
            attrs = [a for a in dir(default) if not a.startswith("_")] + list(CONFIG_KEY_ALIASES)
            raise ConfigError(
                f"{exp.where(path)}: '{key}' is not a setting of {type(default).__name__}{did_you_mean(key, attrs)}"
            )
        if key == "model_config" and isinstance(value, dict):
            _check_model_config(exp, value, path)
        if key == "evaluation_config" and isinstance(value, dict):
            _check_config_keys(exp, value, default, prefix=path + ".")


def _check_grids(exp: Experiment, node, path: str) -> None:
    """Every {grid_search: [...]} at any depth must be exactly that key with a non-empty list."""
    if is_grid(node):
        if set(node) != {"grid_search"} or not isinstance(node["grid_search"], list) or not node["grid_search"]:
            raise ConfigError(f"{exp.where(path)}: grid_search needs a non-empty list, got {node!r}")
        return
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        _check_grids(exp, child, f"{path}.{key}")


def _check_model_config(exp: Experiment, model_config: dict, path: str) -> None:
    fields = [f.name for f in dataclasses.fields(DefaultModelConfig)]
    for key in model_config:
        if key not in fields:
            raise ConfigError(
                f"{exp.where(path + '.' + str(key))}: not a model_config field{did_you_mean(str(key), fields)}"
            )
