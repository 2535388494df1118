"""Greedy (or sampling) evaluation of a checkpoint on seeded episodes, with the shared rollout."""

import json
from pathlib import Path

from rllib_il.core.checkpoints import trial_params
from rllib_il.core.errors import ConfigError
from rllib_il.rollout.statistics import summarize
from rllib_il.rollout.workers import record


def trial_env(checkpoint: Path):
    """(env, env_config) of the Tune trial that wrote `checkpoint` (`trial_params`)."""
    trial = checkpoint.resolve().parent
    try:
        config = trial_params(checkpoint)
    except ConfigError as e:
        raise ConfigError(f"{e}; pass --env and --env-config") from None
    if config is None:
        raise ConfigError(f"{checkpoint}: no Tune params.json beside it to take the env from; pass --env")
    if "env" not in config:
        raise ConfigError(f"{trial}: the trial's config names no env; pass --env and --env-config")
    return config["env"], config.get("env_config") or {}


def evaluate_checkpoint(
    checkpoint: Path,
    env: str,
    env_config: dict,
    episodes: int,
    seed: int,
    out: Path,
    module_id=None,
    explore=False,
    num_workers=1,
    progress=True,
) -> dict:
    """Runs `episodes` episodes (seeds seed .. seed + episodes - 1) with the checkpoint's policy and
    writes the statistics (return, length, % arrived, seeds) as JSON to `out`; returns them."""
    expert_config = {"checkpoint": str(checkpoint), "module_id": module_id, "explore": explore}
    summary = evaluate_expert(
        "checkpoint", expert_config, env, env_config, episodes, seed, num_workers, progress, Path(checkpoint).name
    )
    out.write_text(
        json.dumps(
            {
                "checkpoint": str(Path(checkpoint).resolve()),
                "env": env,
                "env_config": env_config,
                "seeds": [seed, seed + episodes - 1],
                "explore": explore,
                **summary,
            },
            indent=2,
        )
    )
    return summary


def evaluate_expert(
    expert: str,
    expert_config: dict,
    env: str,
    env_config: dict,
    episodes: int,
    seed: int,
    num_workers=1,
    progress=True,
    label=None,
) -> dict:
    """The statistics (return, length, % arrived) of `episodes` episodes of an expert (a name of
    `rllib_il.experts.EXPERTS`, e.g. a scripted controller, "random" or "checkpoint") on seeds seed ..
    seed + episodes - 1: the references a policy is measured against on the same seeds."""
    _, stats = record(
        env,
        env_config,
        expert,
        expert_config,
        list(range(seed, seed + episodes)),
        num_workers,
        progress=progress,
        desc=f"evaluating {label or expert} on {env}",
    )
    summary = summarize(stats)
    summary["episode_length_mean"] = summary["steps"] / summary["episodes"]
    return summary
