"""Learning curves of Tune runs on one PNG (matplotlib's `Figure`: no GUI backend, no global state)."""

import itertools
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import pandas as pd
from matplotlib.figure import Figure


def first_present(frame: pd.DataFrame, keys: Sequence[str]) -> Optional[str]:
    return next((key for key in keys if key in frame.columns and frame[key].notna().any()), None)


def curve(frame: pd.DataFrame, x: str, key: str) -> pd.DataFrame:
    """The (x, key) points a run reported: iterations without the metric (e.g. between
    evaluations every K iterations) are left out, so the reported points join into one line."""
    return frame[[x, key]].dropna()


def plot_learning_curves(
    runs: Dict[str, pd.DataFrame],
    metrics: List[Sequence[str]],
    out: Path,
    x: str = "training_iteration",
    references: Sequence[Tuple[str, float, str]] = (),
) -> Optional[Path]:
    """One subplot per metric (the first of its candidate keys found), one line per run, and a dashed
    horizontal line per `references` entry (metric key, value, label) on that metric's subplot
    (e.g. the Phase 1 score a Phase 2 started from).

    Returns the PNG path, or None when no run has any of the metrics.
    """

    panels = []
    for candidates in metrics:
        key = next((first_present(f, candidates) for f in runs.values() if first_present(f, candidates)), None)
        if key:
            panels.append(key)
    if not panels:
        return None
    fig = Figure(figsize=(6 * len(panels), 4))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, key in zip(axes[0], panels):
        for label, frame in runs.items():
            if key in frame.columns:
                points = curve(frame, x, key)
                ax.plot(points[x], points[key], marker=".", label=label)
        for style, (_, value, label) in zip(itertools.cycle(("--", ":", "-.")), [r for r in references if r[0] == key]):
            ax.axhline(value, color="black", linestyle=style, linewidth=1, label=f"{label}: {value:.4g}")
        ax.set_xlabel(x)
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    return out
