"""Phase 1 -> Phase 2 handoff: pick a Phase 1 checkpoint and start Phase 2 from its module weights.

An experiment names where it starts::

    restore_from: path/to/checkpoint_000009                  # a checkpoint directory, or
    restore_from:
      experiment: flatland-marwil       # an experiment name (under --output-dir) or its directory
      metric: evaluation/env_runners/percentage_complete     # best checkpoint by this metric
      mode: max
      trial: {beta: 0}                  # from a grid, the trial with these parameters

Only module weights are loaded (optimizer state starts fresh). RLlib's own restore crashes for
offline algorithms and silently loads nothing across module classes (docs/notes/rllib.md), so the
load here checks names and shapes, checks that the learner and every env runner now hold exactly
the checkpoint's weights, and fails loudly otherwise. Two renamings are made:
- a module whose value function shares the policy's encoder (MARWIL's) loads into one with separate
  actor and critic encoders (PPO's default) as that encoder in both, which computes the same functions;
- into RLlib's SAC module only the policy is loaded, as SAC's actor (`pi_encoder.*`, `pi.*`); its
  Q-functions start fresh. The imitation should then use SAC's distribution (`squash_actions: true`).
  A state-independent log-std (`free_log_std`) becomes the bias of the head's log-std outputs, whose
  weights are zero: the same policy.
"""

import functools
import pickle
from pathlib import Path
from typing import Dict, NamedTuple, Optional, Union

import numpy as np
from ray.rllib.algorithms.sac.torch.default_sac_torch_rl_module import DefaultSACTorchRLModule
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModule
from ray.rllib.utils.checkpoints import Checkpointable
from ray.tune import ExperimentAnalysis

from rllib_il.algorithms.registry import prepared_config
from rllib_il.algorithms.squashed_actions import SquashedPPOTorchRLModule
from rllib_il.core.checkpoints import checkpoint_modules, saved_module_state
from rllib_il.core.errors import ConfigError, did_you_mean
from rllib_il.core.nested import lookup
from rllib_il.envs import make_env

SPEC_KEYS = ("experiment", "metric", "mode", "trial")
SHARED_ENCODER = "encoder.encoder."
SEPARATE_ENCODERS = ("encoder.actor_encoder.", "encoder.critic_encoder.")
SAC_ACTOR_ENCODER, POLICY_HEAD, FREE_LOG_STD = "pi_encoder.", "pi.", "pi.log_std"


def check_spec(spec, where: str) -> None:
    """Static checks of a `restore_from` value (before anything runs)."""
    if isinstance(spec, str):
        if not Path(spec).exists():
            raise ConfigError(f"{where}: '{spec}' does not exist")
        if not checkpoint_modules(Path(spec)):
            raise ConfigError(f"{where}: '{spec}' is not an RLlib checkpoint with module weights")
        return
    if not isinstance(spec, dict) or "experiment" not in spec:
        raise ConfigError(f"{where}: expected a checkpoint path or a mapping with 'experiment'")
    for key in spec:
        if key not in SPEC_KEYS:
            raise ConfigError(f"{where}.{key}: unknown key; known: {', '.join(SPEC_KEYS)}")
    if spec.get("mode", "max") not in ("max", "min"):
        raise ConfigError(f"{where}.mode: expected 'max' or 'min', got {spec['mode']!r}")
    if not isinstance(spec.get("trial", {}), dict):
        raise ConfigError(f"{where}.trial: expected a mapping of grid parameters, got {spec['trial']!r}")


class StartCheckpoint(NamedTuple):
    """Where a Phase 2 starts: the checkpoint, and the score that chose it (None: no metric, or never reported)."""

    path: Path
    metric: Optional[str] = None
    score: Optional[float] = None
    mode: str = "max"


def resolve_checkpoint(spec: Union[str, dict], output_dir: Path, where: str) -> StartCheckpoint:
    """The checkpoint a Phase 2 experiment starts from; prints which one and why."""
    if isinstance(spec, str):
        return StartCheckpoint(Path(spec).resolve())
    exp_dir = Path(output_dir) / spec["experiment"]
    if not exp_dir.is_dir():
        exp_dir = Path(spec["experiment"])
    if not exp_dir.is_dir():
        raise ConfigError(f"{where}: no experiment '{spec['experiment']}' in {output_dir} and no such directory")
    try:
        analysis = ExperimentAnalysis(str(exp_dir.resolve()))
    except Exception as e:
        raise ConfigError(f"{where}: {exp_dir} holds no Tune experiment ({' '.join(str(e).split())})") from None
    wanted = spec.get("trial", {})
    trials = [t for t in analysis.trials if all(lookup(t.config, k) == v for k, v in wanted.items())]
    if not trials:
        seen = [{k: lookup(t.config, k) for k in wanted} for t in analysis.trials]
        raise ConfigError(f"{where}.trial: no trial of {exp_dir} has {wanted}; trials have {seen}")
    metric, mode = spec.get("metric"), spec.get("mode", "max")
    candidates, unscored = [], []
    for trial in trials:
        if metric is None:
            checkpoint = trial.checkpoint
            score = None
        elif not _reported(analysis, trial, metric, where):
            checkpoint, score = trial.checkpoint, None
            unscored.append(trial)
        else:
            checkpoint = analysis.get_best_checkpoint(trial, metric=metric, mode=mode)
            score = _lookup_score(trial, checkpoint, metric)
        if checkpoint is not None:
            candidates.append((score, trial, Path(checkpoint.path)))
    if not candidates:
        raise ConfigError(f"{where}: no trial of {exp_dir} matching {wanted or 'any'} saved a checkpoint")
    if unscored:
        if len(candidates) > 1:
            raise ConfigError(
                f"{where}.metric: '{metric}' was never reported by {unscored[0]} (no evaluation ran) "
                f"and {len(candidates)} trials match; narrow 'trial' or evaluate more often"
            )
        print(
            f"warning: {unscored[0]} never reported '{metric}' (no evaluation ran): starting from its last checkpoint"
        )
    if metric is None and len(candidates) > 1:
        raise ConfigError(f"{where}: {len(candidates)} trials match; give 'metric' or narrow 'trial'")
    pick = max if mode == "max" else min
    score, trial, path = pick(candidates, key=lambda c: -np.inf if c[0] is None else c[0])
    shown = f" ({metric}={score:.4g})" if score is not None else ""
    print(f"Starting from {trial} checkpoint {path}{shown}")
    return StartCheckpoint(path, metric, score, mode)


def _reported(analysis, trial, metric: str, where: str) -> bool:
    """True if `trial` reported `metric`. False if it is an evaluation metric and the trial ran no
    evaluation at all (e.g. a short run that stopped before its first evaluation): the caller falls
    back to the last checkpoint. Any other missing metric is a ConfigError (a misspelt name)."""
    results = analysis.trial_dataframes.get(trial.trial_id)
    columns = [] if results is None else list(results.columns)
    if metric in columns:
        return True
    section = metric.split("/")[0] + "/"
    if section == "evaluation/" and not any(c.startswith(section) for c in columns):
        return False
    raise ConfigError(f"{where}.metric: '{metric}' is not in the results of {trial}{did_you_mean(metric, columns)}")


def _lookup_score(trial, checkpoint, metric: str) -> Optional[float]:
    for result in trial.run_metadata.checkpoint_manager.best_checkpoint_results:
        if result.checkpoint.path == checkpoint.path:
            return lookup(result.metrics, metric)
    return None


def _state(learner_group, module_id: str) -> dict:
    state = learner_group.get_state(components=f"learner/rl_module/{module_id}")
    return state["learner"]["rl_module"][module_id]


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)


def _mismatches(target: dict, source: dict) -> list:
    """Parameter names missing on either side, and shape differences, between two module states.

    Target networks (`_target_*`) of the source are ignored when the target module has none yet
    (a freshly built module; the learner adds them).
    """
    has_targets = any(k.startswith("_target_") for k in target)
    source = {k: v for k, v in source.items() if has_targets or not k.startswith("_target_")}
    shapes = [
        f"{k} {np.shape(source[k])} vs {np.shape(target[k])}"
        for k in sorted(set(target) & set(source))
        if np.shape(target[k]) != np.shape(source[k])
    ]
    return sorted(set(target) ^ set(source)) + shapes


def _split_shared_encoder(target: dict, source: dict) -> dict:
    """The source with its one encoder (`encoder.encoder.*`: the value function shares the policy's,
    as MARWIL builds it) copied into both encoders of a target that has separate ones
    (`encoder.actor_encoder.*`, `encoder.critic_encoder.*`: PPO's default). Both compute the same functions."""
    shared = {k[len(SHARED_ENCODER) :]: v for k, v in source.items() if k.startswith(SHARED_ENCODER)}
    if not shared or not any(k.startswith(SEPARATE_ENCODERS[0]) for k in target):
        return source
    split = {prefix + k: v for prefix in SEPARATE_ENCODERS for k, v in shared.items()}
    return {**{k: v for k, v in source.items() if not k.startswith(SHARED_ENCODER)}, **split}


def _actor_into_sac(target: dict, source: dict) -> dict:
    """For a SAC target (it has `pi_encoder.*`): the source's policy encoder and head as SAC's actor,
    the target's own (fresh) Q-functions for the rest. Other targets get the source unchanged."""
    if not any(k.startswith(SAC_ACTOR_ENCODER) for k in target):
        return source
    encoder = next((p for p in (SHARED_ENCODER, SEPARATE_ENCODERS[0]) if any(k.startswith(p) for k in source)), None)
    if encoder is None:
        return source
    actor = {SAC_ACTOR_ENCODER + k[len(encoder) :]: v for k, v in source.items() if k.startswith(encoder)}
    actor.update({k: v for k, v in source.items() if k.startswith(POLICY_HEAD)})
    if FREE_LOG_STD in actor:
        _log_std_into_head(actor, np.asarray(actor.pop(FREE_LOG_STD)))
    return {**target, **actor}


def _log_std_into_head(actor: dict, log_std: np.ndarray) -> None:
    """The policy head's last layer [d, h] -> [2 d, h]: rows for the means as they were, rows for the
    log-stds zero with `log_std` as their bias (SAC's head outputs both)."""
    last = max((k for k in actor if k.startswith(POLICY_HEAD) and k.endswith(".weight")), key=_layer_index)
    weight, bias = np.asarray(actor[last]), np.asarray(actor[last[: -len("weight")] + "bias"])
    actor[last] = np.concatenate([weight, np.zeros_like(weight)])
    actor[last[: -len("weight")] + "bias"] = np.concatenate([bias, log_std.astype(bias.dtype)])


def _layer_index(key: str) -> int:
    """The layer number of a parameter name such as `pi.net.mlp.2.weight`."""
    return int(key.split(".")[-2])


def _module_mapping(sources: Dict[str, Path], targets: list, checkpoint) -> Dict[str, str]:
    """target module id -> source module id (same ids, or the one module of each side)."""
    if set(sources) >= set(targets):
        return {t: t for t in targets}
    if len(sources) == 1 and len(targets) == 1:
        return {targets[0]: next(iter(sources))}
    raise ConfigError(f"restore_from {checkpoint}: modules {sorted(sources)} do not match {sorted(targets)}")


def load_checked(checkpoint, target_states: Dict[str, dict], algorithm_name: str) -> Dict[str, dict]:
    """target id -> the checkpoint's weights for it, after checking that names and shapes fit."""
    sources = checkpoint_modules(Path(checkpoint))
    loaded = {}
    for target, source in _module_mapping(sources, list(target_states), checkpoint).items():
        new = _split_shared_encoder(target_states[target], saved_module_state(sources[source]))
        new = _actor_into_sac(target_states[target], new)
        problems = _mismatches(target_states[target], new)
        if problems:
            raise ConfigError(
                f"restore_from {checkpoint}: module '{source}' does not fit module '{target}' "
                f"of {algorithm_name}: {', '.join(problems[:6])}"
            )
        loaded[target] = {k: new[k] for k in target_states[target]}
    return loaded


def check_compatible(run: str, trial_config: dict, checkpoint: Path) -> None:
    """Driver-side check, before Tune starts: build the new algorithm's modules and compare their
    weights' names and shapes, and their action distributions, with the checkpoint's."""
    config = prepared_config(run, trial_config)
    env = make_env(config.env, config.env_config)
    modules = config.get_multi_rl_module_spec(env=env).build()
    sources = checkpoint_modules(Path(checkpoint))
    for target, source in _module_mapping(sources, list(modules.keys()), checkpoint).items():
        check_same_squashing(type(modules[target]), _saved_class(sources[source]), run, checkpoint)
    load_checked(checkpoint, {mid: modules[mid].get_state() for mid in modules.keys()}, run)


def _saved_class(module_dir: Path) -> type:
    """The RLModule class a module checkpoint was saved from (RLlib's `class_and_ctor_args.pkl`)."""
    path = module_dir / Checkpointable.CLASS_AND_CTOR_ARGS_FILE_NAME
    try:
        with open(path, "rb") as f:
            return pickle.load(f)["class"]
    except (OSError, EOFError, KeyError, TypeError, AttributeError, ImportError, pickle.UnpicklingError) as e:
        raise ConfigError(f"restore_from: cannot read the module class in {path} ({type(e).__name__}: {e})") from None


def check_same_squashing(target: type, source: type, run: str, checkpoint) -> None:
    """ConfigError when one side's policy is a tanh-squashed Gaussian (SAC's, `squash_actions`) and the
    other's is not: the same weights would give other actions."""
    squashed = (SquashedPPOTorchRLModule, DefaultSACTorchRLModule)
    if issubclass(target, squashed) != issubclass(source, squashed):
        mine, theirs = ("", "not ") if issubclass(target, squashed) else ("not ", "")
        raise ConfigError(
            f"restore_from {checkpoint}: {run}'s policy is {mine}a tanh-squashed Gaussian and the checkpoint's "
            f"({source.__name__}) is {theirs}one; train the imitation with squash_actions: "
            f"{str(not issubclass(source, squashed)).lower()}"
        )


def load_module_weights(algorithm, checkpoint: str, **kwargs) -> None:
    """`on_algorithm_init` callback: copy the checkpoint's module weights into the new algorithm."""
    learner_group = algorithm.learner_group
    targets = learner_group.get_state(components="learner/rl_module")["learner"]["rl_module"]
    loaded = load_checked(checkpoint, targets, type(algorithm).__name__)
    for target, new in loaded.items():
        learner_group.set_state({"learner": {"rl_module": {target: new}}})
        if not _same(_state(learner_group, target), new):
            raise ConfigError(f"restore_from {checkpoint}: weights of '{target}' did not load")
    for group in (algorithm.env_runner_group, getattr(algorithm, "eval_env_runner_group", None)):
        if group is None:
            continue
        # Wait for the remote runners (the default timeout 0 is fire-and-forget).
        group.sync_weights(from_worker_or_learner_group=learner_group, inference_only=True, timeout_seconds=300)
        for ok in group.foreach_env_runner(functools.partial(_runner_holds, expected=loaded)):
            if not ok:
                raise ConfigError(f"restore_from {checkpoint}: an env runner did not receive the loaded weights")
    print(f"Loaded weights of modules {sorted(loaded)} from {checkpoint}")


def _runner_holds(runner, expected: dict) -> bool:
    """True if the runner's (inference-only) modules equal the expected weights on every key they have."""
    for module_id, weights in expected.items():
        module = runner.module[module_id] if isinstance(runner.module, MultiRLModule) else runner.module
        state = module.get_state()
        if not state or any(not np.array_equal(np.asarray(v), np.asarray(weights[k])) for k, v in state.items()):
            return False
    return True


def on_init_callback(checkpoint: Path):
    return functools.partial(load_module_weights, checkpoint=str(checkpoint))
