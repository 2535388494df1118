"""Where an RLlib Algorithm checkpoint keeps its module weights, and which checkpoint a Tune trial
directory stands for."""

import json
import pickle
from pathlib import Path
from typing import Dict, Optional

from ray.rllib.utils.checkpoints import try_import_msgpack

from rllib_il.core.errors import ConfigError

MODULES_DIR = Path("learner_group", "learner", "rl_module")


def checkpoint_modules(checkpoint: Path) -> Dict[str, Path]:
    """module id -> directory of its weights inside an Algorithm checkpoint."""
    root = Path(checkpoint) / MODULES_DIR
    return {p.name: p for p in sorted(root.glob("*")) if list(p.glob("module_state.*"))}


def saved_module_state(module_dir: Path) -> dict:
    """The weights a module checkpoint holds, read as saved (a learner's DQN module includes its
    target networks, which a module rebuilt with `RLModule.from_checkpoint` would not have)."""
    if (module_dir / "module_state.msgpack").is_file():
        with open(module_dir / "module_state.msgpack", "rb") as f:
            return try_import_msgpack(error=True).load(f, strict_map_key=False)
    with open(module_dir / "module_state.pkl", "rb") as f:
        return pickle.load(f)


def trial_params(checkpoint: Path) -> Optional[dict]:
    """The config of the Tune trial that wrote `checkpoint` (its parent directory): params.json (plain
    data, readable whatever the code of the run's time was), else params.pkl; None outside a trial.
    ConfigError when the file cannot be read."""
    trial = Path(checkpoint).resolve().parent
    try:
        if (trial / "params.json").is_file():
            return json.loads((trial / "params.json").read_text())
        if (trial / "params.pkl").is_file():
            with open(trial / "params.pkl", "rb") as f:
                return pickle.load(f)
    except (OSError, ValueError, AttributeError, ImportError, pickle.UnpicklingError) as e:
        raise ConfigError(f"{trial}: cannot read the trial's config ({type(e).__name__}: {e})") from None
    return None


def resolve_checkpoint(path: Path, flag: str = "--checkpoint") -> Path:
    """`path` itself if it is an Algorithm checkpoint; for a Tune trial directory (or an experiment
    directory with one trial) its last checkpoint, saying so. (Tune's `Result.from_path` cannot read
    RLlib trials that checkpoint every few iterations: their result rows lack `checkpoint_dir_name`.)"""
    if not path.is_dir():
        raise ConfigError(f"{flag} {path}: no such directory")
    if checkpoint_modules(path):
        return path
    trials = [path] if (path / "params.pkl").is_file() else sorted(p.parent for p in path.glob("*/params.pkl"))
    if not trials:
        raise ConfigError(f"{flag} {path}: neither an RLlib checkpoint nor a Tune trial or experiment directory")
    if len(trials) > 1:
        raise ConfigError(
            f"{flag} {path}: {len(trials)} trials ({', '.join(t.name for t in trials)}); "
            "pass one trial directory or checkpoint"
        )
    checkpoints = sorted(c for c in trials[0].glob("checkpoint_*") if checkpoint_modules(c))
    if not checkpoints:
        raise ConfigError(f"{flag} {path}: trial {trials[0].name} saved no checkpoint")
    print(f"Evaluating the trial's last checkpoint: {checkpoints[-1]}")
    return checkpoints[-1]
