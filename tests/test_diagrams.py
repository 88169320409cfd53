"""The diagrams' nodes sit where they are placed, at the stated size, and bad diagrams are refused by name."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from gi_core.diagrams import Edge, Node, draw_diagram

NODES = [Node("x", (0.6, 1.0), "$x$", "observed"), Node("enc", (2.2, 1.0), "encoder"),
         Node("z", (3.8, 1.0), "$z$", "latent"), Node("kl", (3.8, 0.3), "KL", "loss")]
EDGES = [Edge("x", "enc"), Edge("enc", "z", r"$\mu,\sigma$"), Edge("z", "kl", style="dashed", bend=0.2)]


def test_nodes_and_edges_are_drawn_where_they_are_placed() -> None:
    fig = draw_diagram(NODES, EDGES, size=(4.5, 1.5), fontsize=12)
    try:
        assert tuple(fig.get_size_inches()) == (4.5, 1.5)
        ax = fig.axes[0]
        assert ax.get_xlim() == (0.0, 4.5) and ax.get_ylim() == (0.0, 1.5)
        circles = [p for p in ax.patches if isinstance(p, Circle)]
        assert sorted(c.center for c in circles) == [(0.6, 1.0), (3.8, 1.0)]
        assert circles[0].get_facecolor() != circles[1].get_facecolor()  # observed shaded, latent not
        boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
        centres = sorted((round(b.get_x() + b.get_width() / 2, 6), round(b.get_y() + b.get_height() / 2, 6))
                         for b in boxes)
        assert centres == [(2.2, 1.0), (3.8, 0.3)]
        arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
        assert len(arrows) == 3 and [a.get_linestyle() for a in arrows].count("--") == 1
        texts = sorted(t.get_text() for t in ax.texts)
        assert texts == sorted(["$x$", "encoder", "$z$", "KL", r"$\mu,\sigma$"])
        assert all(t.get_fontsize() >= 10.8 for t in ax.texts)
        # The edge label sits between the two shapes it joins, not on top of either.
        label = next(t for t in ax.texts if t.get_text() == r"$\mu,\sigma$")
        box = next(b for b in boxes if abs(b.get_x() + b.get_width() / 2 - 2.2) < 1e-9)
        assert box.get_x() + box.get_width() < label.get_position()[0] < 3.8 - 0.32
    finally:
        plt.close(fig)


def test_a_bent_edge_has_its_label_on_the_side_it_bends_to() -> None:
    nodes = [Node("a", (0.5, 1.0), "a", "latent"), Node("b", (3.5, 1.0), "b", "latent")]
    for bend, above in ((0.4, False), (-0.4, True)):
        fig = draw_diagram(nodes, [Edge("a", "b", "L", bend=bend)], size=(4.0, 2.0))
        try:
            arrow = next(p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch))
            fig.canvas.draw()
            middle_y = arrow.get_path().vertices[1][1]  # the arc's control point, in inches
            label = next(t for t in fig.axes[0].texts if t.get_text() == "L")
            assert (middle_y > 1.0) == above and (label.get_position()[1] > 1.0) == above
        finally:
            plt.close(fig)


def test_a_box_grows_with_its_label() -> None:
    short = draw_diagram([Node("a", (2.0, 0.5), "D")], [], size=(4.0, 1.0))
    long = draw_diagram([Node("a", (2.0, 0.5), "a much longer label")], [], size=(4.0, 1.0))
    try:
        widths = [next(p for p in f.axes[0].patches if isinstance(p, FancyBboxPatch)).get_width() for f in (short, long)]
        assert widths[1] > 2 * widths[0]
    finally:
        plt.close(short)
        plt.close(long)


@pytest.mark.parametrize(("nodes", "edges", "message"), [
    ([], [], "at least one node"),
    ([Node("a", (1.0, 1.0), "a"), Node("a", (2.0, 1.0), "b")], [], "two nodes are named 'a'"),
    ([Node("a", (9.0, 1.0), "a")], [], "outside"),
    ([Node("a", (1.0, 1.0), "a")], [Edge("a", "b")], "names no node 'b'"),
    (["a"], [], "Node instances"),
])
def test_bad_diagrams_are_refused_by_name(nodes, edges, message) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        draw_diagram(nodes, edges, size=(4.0, 2.0))


def test_bad_nodes_and_edges_are_refused() -> None:
    with pytest.raises(ValueError, match="kind"):
        Node("a", (1.0, 1.0), "a", "cloud")
    with pytest.raises(ValueError, match="must not be empty"):
        Node("", (1.0, 1.0), "a")
    with pytest.raises((TypeError, ValueError), match="position"):
        Node("a", (1.0,), "a")
    with pytest.raises(ValueError, match="style"):
        Edge("a", "b", style="dotted")
    with pytest.raises(ValueError, match="bend"):
        Edge("a", "b", bend=3.0)
