"""Measured results as the project records them: `docs/results/<name>.json`, written by the script or
command that measured the number (never by hand), with the machine it ran on.

Fields: command, metric, seeds, per_seed, mean, std, episodes, eval_seeds, machine, plus whatever
else the measuring script adds (e.g. the start of a Phase 2, a failure breakdown)."""

import json
import os
import platform
from pathlib import Path

import psutil

RESULTS_DIR = Path("docs") / "results"


def machine() -> str:
    memory = psutil.virtual_memory().total / 2**30
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {memory:.0f} GiB, Python {platform.python_version()}"


def write_measured(name: str, result: dict, results_dir: Path = RESULTS_DIR) -> Path:
    """Writes `result` (with `machine` added) to `<results_dir>/<name>.json`; returns the path."""
    out = Path(results_dir) / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**result, "machine": machine()}, indent=2) + "\n")
    return out
