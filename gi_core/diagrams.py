"""Box-and-arrow diagrams of the chapters' models, drawn with matplotlib.

A diagram is a list of :class:`Node` (a variable, a network, a loss or an operation, placed in inches on the
figure) and a list of :class:`Edge` between their names. :func:`draw_diagram` draws them on a figure whose size
is the diagram's, so the labels keep their point size: at the default 12 pt a 5-inch diagram stays readable when
a phone shows it 360 px wide.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from gi_core.validation import check_choice, check_real, check_reals, check_str

KINDS = ("observed", "latent", "network", "loss", "operation")
STYLES = ("solid", "dashed")
# Face colours: observed variables shaded as in graphical models, losses in a warm colour.
FACE = {"observed": "#c9d6e8", "latent": "white", "network": "#eef3e2", "loss": "#f8dcc8", "operation": "white"}
RADIUS = {"observed": 0.32, "latent": 0.32, "operation": 0.16}


@dataclass(frozen=True)
class Node:
    """A variable (``observed``/``latent``, a circle), a ``network`` or ``loss`` (a box) or an ``operation``.

    ``xy`` is the centre in inches from the figure's lower-left corner; ``label`` may hold mathtext.
    """

    name: str
    xy: tuple[float, float]
    label: str
    kind: str = "network"

    def __post_init__(self) -> None:
        if not check_str(self.name, "name"):
            raise ValueError("a node's name must not be empty")
        check_str(self.label, "label")
        check_choice(self.kind, KINDS, "kind")
        check_reals(self.xy, f"node {self.name!r} position xy (inches)", length=2, minimum=0.0)


@dataclass(frozen=True)
class Edge:
    """An arrow from node ``source`` to node ``target``, optionally labelled.

    ``bend`` curves it (matplotlib's ``arc3`` radius): 0 is straight, a positive value bows it to the right of its
    direction of travel, a negative one to the left.
    """

    source: str
    target: str
    label: str = ""
    style: str = "solid"
    bend: float = 0.0

    def __post_init__(self) -> None:
        check_str(self.source, "source")
        check_str(self.target, "target")
        check_str(self.label, "label")
        check_choice(self.style, STYLES, "style")
        check_real(self.bend, "bend", minimum=-1.0, maximum=1.0)


def _half_size(node: Node, fontsize: float) -> tuple[float, float]:
    """Half the width and height of the node's shape in inches (a box fits its label at ~0.55 em a character)."""
    if node.kind in RADIUS:
        return RADIUS[node.kind], RADIUS[node.kind]
    characters = len(node.label.replace("$", "").replace("\\", ""))
    return max(0.35, 0.275 * fontsize / 72 * characters + 0.15), 0.225


def _patch(node: Node, half: tuple[float, float]):
    if node.kind in RADIUS:
        return Circle(node.xy, half[0], facecolor=FACE[node.kind], edgecolor="black", lw=1.2, zorder=2)
    (x, y), (w, h) = node.xy, half
    return FancyBboxPatch((x - w, y - h), 2 * w, 2 * h, boxstyle="round,pad=0.04,rounding_size=0.08",
                          facecolor=FACE[node.kind], edgecolor="black", lw=1.2, zorder=2)


def _boundary(node: Node, half: tuple[float, float], toward: tuple[float, float]) -> tuple[float, float]:
    """Where the straight line from the node's centre to ``toward`` leaves its shape."""
    (x, y), (tx, ty) = node.xy, toward
    dx, dy = tx - x, ty - y
    if dx == dy == 0:
        return x, y
    if node.kind in RADIUS:
        t = half[0] / (dx * dx + dy * dy) ** 0.5
    else:
        t = min(half[0] / abs(dx) if dx else float("inf"), half[1] / abs(dy) if dy else float("inf"))
    return x + t * dx, y + t * dy


def draw_diagram(nodes: Sequence[Node], edges: Sequence[Edge], size: tuple[float, float] = (5.0, 2.5),
                 fontsize: float = 12.0) -> Figure:
    """Draw ``nodes`` and ``edges`` on a new figure of ``size`` inches; return the figure.

    Every edge must join two named nodes and every node must lie inside the figure; names are unique.
    """
    width, height = check_reals(size, "size (width, height) in inches", length=2, minimum=0.5, maximum=20.0)
    fontsize = check_real(fontsize, "fontsize", minimum=6.0, maximum=40.0)
    nodes, edges = list(nodes), list(edges)
    if not nodes:
        raise ValueError("a diagram needs at least one node")
    by_name: dict[str, Node] = {}
    for node in nodes:
        if not isinstance(node, Node):
            raise TypeError(f"nodes must be Node instances, got {type(node).__name__}")
        if node.name in by_name:
            raise ValueError(f"two nodes are named {node.name!r}")
        if node.xy[0] > width or node.xy[1] > height:
            raise ValueError(f"node {node.name!r} at {node.xy} lies outside the {width}x{height} in figure")
        by_name[node.name] = node
    for edge in edges:
        if not isinstance(edge, Edge):
            raise TypeError(f"edges must be Edge instances, got {type(edge).__name__}")
        for end in (edge.source, edge.target):
            if end not in by_name:
                raise ValueError(f"edge {edge.source!r} -> {edge.target!r} names no node {end!r}; "
                                 f"nodes are {sorted(by_name)}")

    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set(xlim=(0, width), ylim=(0, height), aspect="equal")
    ax.axis("off")
    halves = {node.name: _half_size(node, fontsize) for node in nodes}
    patches = {}
    for node in nodes:
        patches[node.name] = ax.add_patch(_patch(node, halves[node.name]))
        ax.text(*node.xy, node.label, ha="center", va="center", fontsize=fontsize, zorder=3)
    for edge in edges:
        source, target = by_name[edge.source], by_name[edge.target]
        arrow = FancyArrowPatch(source.xy, target.xy, patchA=patches[edge.source], patchB=patches[edge.target],
                                arrowstyle="-|>", mutation_scale=14, lw=1.2, color="black", zorder=1,
                                linestyle="--" if edge.style == "dashed" else "-",
                                connectionstyle=f"arc3,rad={edge.bend}")
        ax.add_patch(arrow)
        if edge.label:
            x0, y0 = _boundary(source, halves[source.name], target.xy)
            x1, y1 = _boundary(target, halves[target.name], source.xy)
            # The label sits above the middle of the visible arrow, pushed to the side the arc bends to.
            # matplotlib's arc3 puts the control point at mid + bend * (dy, -dx); the curve's middle is half-way.
            mx, my = (x0 + x1) / 2 + edge.bend * (y1 - y0) / 2, (y0 + y1) / 2 - edge.bend * (x1 - x0) / 2
            ax.text(mx, my + 0.06, edge.label, ha="center", va="bottom", fontsize=fontsize * 0.9, zorder=3,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0})
    return fig
