"""The guidance chapter's figures (diffusion2d.plotting.guidance), audited for the book's style:
the precision-coverage trade-off of a sweep of guidance scales and the grid of samples."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figaudit import audit  # noqa: E402

from diffusion2d.plotting import guidance as G  # noqa: E402
from diffusion2d.plotting.style import COLORS  # noqa: E402

SCALES = (0, 1, 2, 4, 8)
SHAPES = ("dino", "away", "star", "dots")


def _rows(nn, cov, seeds=(0, 1, 2, 3, 4)):
    rng = np.random.default_rng(int(1000 * nn))
    jitter = 1 + 0.02 * rng.standard_normal((2, len(seeds)))
    df = pd.DataFrame({"nn_mean": nn * jitter[0], "heldout_coverage": cov * jitter[1],
                       "train_coverage": 0.5 * cov * jitter[1]},
                      index=pd.Index(seeds, name="seed"))
    df.attrs["confidence"] = 0.95
    return df


def _results():
    return {(shape, float(s)): _rows(0.05 * (1 + k) * (1 + abs(s - 2)), 0.03 * (1 + k) * (1 + s))
            for k, shape in enumerate(SHAPES) for s in SCALES}


def _ok(fig):
    report = audit(fig)
    assert report["min_font"] >= 9 and report["width"] <= report["max_width"] + 1e-6
    assert not report["foreign_colors"]


def test_tradeoff_figure_labels_every_scale_and_highlights_shapes():
    results = _results()
    fig = G.tradeoff_figure(results, SCALES, shapes=("dino", "away"))
    _ok(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [t.get_text() for t in ax.texts]
    assert [f"s = {s}" for s in SCALES] == [t for t in labels if t.startswith("s = ")]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["dino", "away", "mean of the 4 shapes"]
    # the mean line passes through the mean over the shapes at each scale
    mean_line = next(line for line in ax.lines if line.get_color() == COLORS["samples"]
                     and line.get_linestyle() == "-")
    want = [np.mean([results[sh, float(s)]["nn_mean"].mean() for sh in SHAPES]) for s in SCALES]
    assert np.allclose(mean_line.get_xdata(), want)
    # a highlighted shape is dashed, with a marker, never the mean's blue
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 2 and all(line.get_color() != COLORS["samples"] for line in dashed)
    assert all(line.get_marker() not in (None, "None", "") for line in dashed)
    assert "precision-like" in ax.get_xlabel() and "coverage-like" in ax.get_ylabel()
    # every line's s = 0 end is an open marker (white inside), at the line's first point
    opened = [line for line in ax.lines if line.get_markerfacecolor() in ("white", "w")]
    assert len(opened) == 3  # two shapes and the mean
    for line in opened:
        twin = next(other for other in ax.lines if other is not line
                    and other.get_color() == line.get_color())
        assert (line.get_xdata()[0], line.get_ydata()[0]) == (twin.get_xdata()[0],
                                                              twin.get_ydata()[0])
    # the labels sit on white boxes: a line under a label does not cross its text
    boxed = [t for t in ax.texts if t.get_text().startswith("s = ")]
    assert all(t.get_bbox_patch() is not None for t in boxed)
    assert all(t.get_bbox_patch().get_facecolor()[:3] == (1, 1, 1) for t in boxed)
    plt.close(fig)


def test_tradeoff_labels_keep_clear_of_the_lines():
    """A label goes on the side where its whole box lies farthest from the lines."""
    fig = G.tradeoff_figure(_results(), SCALES, shapes=("dino", "away", "star"))
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    f = np.linspace(0, 1, 50)[:, None]
    lines = [line for line in ax.lines if line.get_linestyle() not in ("None", "", " ")]
    crossed = 0
    for text in (t for t in ax.texts if t.get_text().startswith("s = ")):
        box = text.get_window_extent(renderer)
        for line in lines:
            xy = ax.transData.transform(np.asarray(line.get_xydata(), dtype=float))
            pts = np.concatenate([(1 - f) * a + f * b for a, b in zip(xy[:-1], xy[1:],
                                                                       strict=True)])
            crossed += int(any(box.contains(x, y) for x, y in pts))
    assert crossed <= 1  # at most one line passes under a label (on its white box)
    plt.close(fig)


def test_tradeoff_figure_names_bad_arguments():
    with pytest.raises(ValueError, match="precision and coverage must be metrics"):
        G.tradeoff_figure(_results(), SCALES, precision="sharpness")
    with pytest.raises(ValueError, match="at most 5 shapes"):
        G.tradeoff_figure(_results(), SCALES, shapes=SHAPES + ("a", "b"))


def test_sample_grid_has_a_row_per_shape_and_a_column_per_scale():
    g = torch.Generator().manual_seed(0)
    clouds = {(sh, float(s)): torch.randn(300, 2, generator=g) for sh in SHAPES for s in SCALES}
    data = {sh: torch.randn(142, 2, generator=g) for sh in SHAPES}
    fig = G.sample_grid(clouds, data, SHAPES[:3], SCALES)
    _ok(fig)
    axes = np.array(fig.axes).reshape(3, len(SCALES))
    assert [ax.get_title() for ax in axes[0]] == [f"s = {s}" for s in SCALES]
    assert [ax.get_ylabel() for ax in axes[:, 0]] == list(SHAPES[:3])
    assert all(ax.get_title() == "" for ax in axes[1:].flat)
    assert getattr(fig, "full_width", False)  # five columns: the full-width cell
    # samples are blue on top of the shape's grey points
    points = axes[1, 2].collections
    assert [tuple(c.get_facecolor()[0][:3]) for c in points] == [
        matplotlib.colors.to_rgb(COLORS["data"]), matplotlib.colors.to_rgb(COLORS["samples"])]
    plt.close(fig)


def test_sample_grid_of_one_shape_fits_a_phone():
    """The exercise's figure: the star at two scales, 3.8 inches wide (9 pt at 11 CSS px on a
    390 px phone)."""
    g = torch.Generator().manual_seed(1)
    clouds = {("star", s): torch.randn(200, 2, generator=g) for s in (1.0, 4.0)}
    fig = G.sample_grid(clouds, {"star": torch.randn(142, 2, generator=g)}, ["star"], [1, 4],
                        width=3.8)
    _ok(fig)
    assert fig.get_size_inches()[0] <= 3.8 + 1e-6 and len(fig.axes) == 2
    assert [ax.get_title() for ax in fig.axes] == ["s = 1", "s = 4"]
    plt.close(fig)


def test_sample_grid_names_bad_arguments():
    clouds = {("dino", 1.0): torch.zeros(5, 2)}
    with pytest.raises(ValueError, match="clouds needs a cloud per"):
        G.sample_grid(clouds, {"dino": torch.zeros(5, 2)}, ("dino",), (1, 2))
    with pytest.raises(ValueError, match="data needs the points"):
        G.sample_grid(clouds, {}, ("dino",), (1,))
    with pytest.raises(ValueError, match=r"clouds\['dino', 1\] must have shape"):
        G.sample_grid({("dino", 1.0): torch.zeros(5, 3)}, {"dino": torch.zeros(5, 2)},
                      ("dino",), (1,))


def test_outside_counts_the_points_beyond_the_panels():
    pts = torch.tensor([[0.0, 0.0], [2.9, -2.9], [3.1, 0.0], [0.0, -4.0], [5.0, 5.0]])
    assert G.outside(pts) == 3
    assert G.outside(pts, (-6, 6)) == 0
