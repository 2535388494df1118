"""Draw where the decision-point env asks trains for actions, as docs/img/flatland_decision_cells.png,
and print how many rail cells are decision cells.

    python scripts/flatland_decision_cells.py [--preset small_v0] [--seed 0] [--count 100]

Left: flatland's own drawing of the episode of `--seed` (rails, depots, targets). Right: the same
grid with switches, cells next to a switch, and plain track (where a train goes on by itself) in
three colours. The printed fraction is over the layouts of seeds 0 .. count - 1.
"""

import argparse
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from rllib_il.envs.flatland.decisions import decision_cells, switches
from rllib_il.envs.flatland.env import FlatlandEnv
from rllib_il.envs.flatland.render import drawer

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("no rail", "plain track", "next to a switch", "switch")
COLORS = ("#ffffff", "#c8c8c8", "#f5a623", "#d0021b")


def cell_kinds(rail) -> np.ndarray:
    """0 no rail, 1 plain track, 2 next to a switch, 3 switch, per cell."""
    kinds = np.zeros((rail.height, rail.width), dtype=int)
    for row in range(rail.height):
        for col in range(rail.width):
            kinds[row, col] = 1 if rail.get_full_transitions(row, col) else 0
    for row, col in decision_cells(rail):
        kinds[row, col] = 2
    for row, col in switches(rail):
        kinds[row, col] = 3
    return kinds


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="small_v0")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--count", type=int, default=100)
    p.add_argument("-o", "--out", type=Path, default=ROOT / "docs" / "img" / "flatland_decision_cells.png")
    args = p.parse_args()
    env = FlatlandEnv({"preset": args.preset, "decision_points": True})
    fractions = []
    for seed in range(args.count):
        env.reset(seed=seed)
        kinds = cell_kinds(env.rail_env.rail)
        fractions.append((kinds >= 2).sum() / (kinds >= 1).sum())
    env.reset(seed=args.seed)
    kinds = cell_kinds(env.rail_env.rail)
    figure = Figure(figsize=(11, 5.4))
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    left.imshow(drawer(env)())
    left.set_title(f"{args.preset}, seed {args.seed} (flatland's drawing)")
    right.imshow(kinds, cmap=ListedColormap(COLORS), vmin=0, vmax=len(KINDS) - 1)
    right.set_title("where trains are asked: switches and the cells next to them")
    right.legend(
        handles=[Patch(facecolor=c, edgecolor="black", label=k) for k, c in zip(KINDS[1:], COLORS[1:])],
        loc="lower right",
        fontsize=8,
    )
    for axis in (left, right):
        axis.set_xticks([])
        axis.set_yticks([])
    figure.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.out, dpi=100)
    print(
        f"wrote {args.out}; decision cells / rail cells over seeds 0..{args.count - 1}: "
        f"mean {np.mean(fractions):.1%}, min {np.min(fractions):.1%}, max {np.max(fractions):.1%}"
    )


if __name__ == "__main__":
    main()
