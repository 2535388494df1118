"""Greedy (or sampling) evaluation of a checkpoint on seeded episodes, with the shared rollout."""

import json
import pickle
from pathlib import Path

from rllib_il.core.errors import ConfigError
from rllib_il.rollout.statistics import summarize
from rllib_il.rollout.workers import record


def trial_env(checkpoint: Path):
    """(env, env_config) of the Tune trial that wrote `checkpoint`: from its params.json (plain data, so
    it reads whatever the code of the run's time was), else its params.pkl."""
    trial = checkpoint.resolve().parent
    try:
        if (trial / "params.json").is_file():
            config = json.loads((trial / "params.json").read_text())
        elif (trial / "params.pkl").is_file():
            with open(trial / "params.pkl", "rb") as f:
                config = pickle.load(f)
        else:
            raise ConfigError(f"{checkpoint}: no Tune params.json beside it to take the env from; pass --env")
        return config["env"], config.get("env_config") or {}
    except (OSError, ValueError, KeyError, AttributeError, ImportError, pickle.UnpicklingError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(
            f"{trial}: cannot read the trial's env ({type(e).__name__}: {e}); pass --env and --env-config"
        ) from None


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
    seeds = list(range(seed, seed + episodes))
    _, stats = record(
        env,
        env_config,
        "checkpoint",
        expert_config,
        seeds,
        num_workers,
        progress=progress,
        desc=f"evaluating {Path(checkpoint).name} on {env}",
    )
    summary = summarize(stats)
    summary["episode_length_mean"] = summary["steps"] / summary["episodes"]
    out.write_text(
        json.dumps(
            {
                "checkpoint": str(Path(checkpoint).resolve()),
                "env": env,
                "env_config": env_config,
                "seeds": [seeds[0], seeds[-1]],
                "explore": explore,
                **summary,
            },
            indent=2,
        )
    )
    return summary
