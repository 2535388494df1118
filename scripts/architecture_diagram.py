"""Draw the package's layers and the imports between them as docs/img/architecture.png.

    python scripts/architecture_diagram.py [-o docs/img/architecture.png]

The import graph is computed from the source with `ast`, by the same code that enforces the layers
(tests/test_layers.py, loaded from its path), so the picture shows the imports as they are: one box
per layer, lowest at the bottom, and one arrow per pair of layers where a module of the upper layer
imports a module of the lower one at module level.
"""

import argparse
import importlib.util
from collections import defaultdict
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "docs" / "img" / "architecture.png"

BOX_WIDTH, BOX_HEIGHT, GAP = 6.0, 0.9, 0.55
LANE_STEP = 0.32
COLORS = ["#dbe9f6", "#e3f1dc", "#fbeed7", "#f3dde8", "#e6e1f3"]


def load_layer_rules():
    """tests/test_layers.py as a module (its `graph`, `layer` and `LAYERS`)."""
    spec = importlib.util.spec_from_file_location("test_layers", ROOT / "tests" / "test_layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def layer_graph(rules):
    """({layer: {lower layers it imports}}, {layer: [its modules, without the package prefix]})."""
    edges, _ = rules.graph()
    imports, members = defaultdict(set), defaultdict(list)
    for module, targets in edges.items():
        source = rules.layer(module)
        if source < 0:
            continue
        members[rules.LAYERS[source]].append(module.split(".", 2)[-1] if module.count(".") > 1 else "")
        for target in targets:
            if 0 <= rules.layer(target) != source:
                imports[rules.LAYERS[source]].add(rules.LAYERS[rules.layer(target)])
    return imports, members


def module_summary(layer: str, modules) -> str:
    """The layer's modules (first path part below the layer) on one or two short lines."""
    names = sorted({m.split(".")[0] for m in modules if m})
    text, lines = "", []
    for name in names:
        if len(text) + len(name) > 58:
            lines.append(text.rstrip(", "))
            text = ""
        text += name + ", "
    lines.append(text.rstrip(", "))
    return "\n".join(line for line in lines if line)


def assign_lanes(spans):
    """Lane index per span (low, high) so spans in one lane do not overlap; shorter spans nearer the boxes."""
    lanes, result = [], {}
    for span in sorted(spans, key=lambda s: (s[1] - s[0], s)):
        for i, taken in enumerate(lanes):
            if all(span[1] < lo or span[0] > hi for lo, hi in taken):
                taken.append(span)
                result[span] = i
                break
        else:
            lanes.append([span])
            result[span] = len(lanes) - 1
    return result


def draw(layers, imports, members, out: Path) -> None:
    fig = Figure(figsize=(11, 12.5))
    FigureCanvasAgg(fig)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    y = {name: i * (BOX_HEIGHT + GAP) for i, name in enumerate(layers)}
    index = {name: i for i, name in enumerate(layers)}

    for i, name in enumerate(layers):
        ax.add_patch(
            FancyBboxPatch(
                (-BOX_WIDTH / 2, y[name] - BOX_HEIGHT / 2),
                BOX_WIDTH,
                BOX_HEIGHT,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=COLORS[i % len(COLORS)],
                edgecolor="#444444",
                linewidth=1.2,
                zorder=2,
            )
        )
        ax.text(
            -BOX_WIDTH / 2 + 0.15,
            y[name] + 0.17,
            name,
            fontsize=13,
            fontweight="bold",
            va="center",
            ha="left",
            zorder=3,
        )
        ax.text(
            -BOX_WIDTH / 2 + 0.15,
            y[name] - 0.17,
            module_summary(name, members[name]),
            fontsize=8,
            va="center",
            ha="left",
            color="#333333",
            zorder=3,
            family="monospace",
        )

    # Adjacent layers: a short straight arrow between the boxes. Others: around the boxes, in lanes,
    # alternating sides so that neither side gets crowded.
    arrow = dict(arrowstyle="-|>", color="#2a4d69", linewidth=1.1, shrinkA=0, shrinkB=0, mutation_scale=11)
    long_edges = []
    for upper in layers:
        for lower in sorted(imports[upper], key=index.get):
            if index[upper] - index[lower] == 1:
                ax.annotate(
                    "",
                    xy=(0.0, y[lower] + BOX_HEIGHT / 2),
                    xytext=(0.0, y[upper] - BOX_HEIGHT / 2),
                    arrowprops=arrow,
                    zorder=1,
                )
            else:
                long_edges.append((upper, lower))
    long_edges.sort(key=lambda e: (index[e[0]] - index[e[1]], index[e[1]]))
    sides = {edge: (1 if k % 2 == 0 else -1) for k, edge in enumerate(long_edges)}
    slots = defaultdict(list)  # (layer, side) -> edges attached there, for spreading their ends over the box side
    for edge in long_edges:
        for name in edge:
            slots[(name, sides[edge])].append(edge)
    edge_colors = [
        "#1f77b4",
        "#ff7f0e",
        "#2ca02c",
        "#d62728",
        "#9467bd",
        "#8c564b",
        "#e377c2",
        "#7f7f7f",
        "#bcbd22",
        "#17becf",
    ]
    most_lanes = 1
    for side in (1, -1):
        edges = [e for e in long_edges if sides[e] == side]
        lanes = assign_lanes([(index[lo], index[up]) for up, lo in edges])
        most_lanes = max([most_lanes, *(lane + 1 for lane in lanes.values())])
        for upper, lower in edges:
            x_lane = side * (BOX_WIDTH / 2 + 0.35 + LANE_STEP * lanes[(index[lower], index[upper])])
            ends = {}
            for name in (upper, lower):
                attached = slots[(name, side)]
                k = attached.index((upper, lower))
                ends[name] = y[name] + (BOX_HEIGHT * 0.8) * ((k + 1) / (len(attached) + 1) - 0.5)
            x_box = side * BOX_WIDTH / 2
            color = edge_colors[index[upper] % len(edge_colors)]  # one colour per importing layer
            ax.plot(
                [x_box, x_lane, x_lane],
                [ends[upper], ends[upper], ends[lower]],
                color=color,
                linewidth=arrow["linewidth"],
                zorder=1,
                solid_joinstyle="round",
            )
            ax.annotate(
                "",
                xy=(x_box, ends[lower]),
                xytext=(x_lane, ends[lower]),
                arrowprops={**arrow, "color": color},
                zorder=1,
            )

    ax.text(
        0,
        y[layers[-1]] + BOX_HEIGHT / 2 + 0.45,
        "rllib_il layers (lowest at the bottom): an arrow A -> B means a module of A imports one of B",
        ha="center",
        va="center",
        fontsize=11,
    )
    width = BOX_WIDTH / 2 + 0.35 + LANE_STEP * most_lanes + 0.2
    ax.set_xlim(-width, width)
    ax.set_ylim(y[layers[0]] - BOX_HEIGHT / 2 - 0.3, y[layers[-1]] + BOX_HEIGHT / 2 + 0.8)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    rules = load_layer_rules()
    imports, members = layer_graph(rules)
    draw(rules.LAYERS, imports, members, args.out)
    for name in reversed(rules.LAYERS):
        print(f"{name:>10} -> {', '.join(sorted(imports[name], key=rules.LAYERS.index)) or '-'}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
