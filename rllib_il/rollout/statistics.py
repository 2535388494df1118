"""What a recording or evaluation reports: episodes, steps, return statistics, % of trains arrived and
how the others ended (deadlocked, running late, never departed)."""

from typing import Sequence

import numpy as np
from rich.table import Table

from rllib_il.rollout.rollout import EpisodeStats


def summarize(stats: Sequence[EpisodeStats]) -> dict:
    """Episodes, steps, return mean/std/min/max, mean % arrived and mean fraction of trains per outcome
    (`train_outcomes`, multi-agent Flatland)."""
    returns = np.array([s.episode_return for s in stats])
    summary = {
        "episodes": len(stats),
        "steps": int(sum(s.length for s in stats)),
        "return_mean": float(returns.mean()),
        "return_std": float(returns.std()),
        "return_min": float(returns.min()),
        "return_max": float(returns.max()),
    }
    arrived = [s.percentage_complete for s in stats if s.percentage_complete is not None]
    if arrived:
        summary["percentage_complete"] = float(np.mean(arrived))
    outcomes = [s.outcomes for s in stats if s.outcomes is not None]
    if outcomes:
        summary["train_outcomes"] = {key: float(np.mean([o[key] for o in outcomes])) for key in outcomes[0]}
    return summary


def stats_table(summary: dict, title: str) -> Table:
    """The recording statistics as a rich table (percentage_complete shown as % arrived)."""
    table = Table(title=title)
    cells = []
    outcomes = {f"% {key}": 100 * value for key, value in summary.get("train_outcomes", {}).items() if key != "arrived"}
    for key, value in {**summary, **outcomes}.items():
        if key == "train_outcomes":
            continue
        if key == "percentage_complete":
            key, value = "% arrived", 100 * value
        table.add_column(key.replace("_", " "), justify="right")
        cells.append(f"{value:.2f}" if isinstance(value, float) else str(value))
    table.add_row(*cells)
    return table
