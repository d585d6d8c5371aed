"""Figures of the chapter "guidance": the trade-off between a precision-like and a coverage-like
measure across a sweep of guidance scales, and the samples of a few shapes at every scale.

Scope: matplotlib only, drawing the results of :mod:`diffusion2d.conditional` (protocol rows
keyed ``(shape, guidance_scale)``). The mean over the shapes is the samples' blue with solid line
and round markers; a highlighted shape gets a colour and a marker of :data:`style.RUNS` (blue
left out) on a dashed line; the s = 0 end of every line is an open marker, and the labels of the
scales sit on white boxes where the lines leave them the most room.
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from ..conditional import mean_over_shapes
from ..protocol import METRICS, interval
from .curves import plain_log
from .points import LIMITS, as_points, draw_data, outer_labels, point_axes, point_size
from .style import COLORS, FULL_WIDTH, MIN_FONT, NEUTRALS, RUNS, fit, style

SHAPE_STYLES = [r for r in RUNS if r["color"] != COLORS["samples"]]  # highlighted shapes, in turn
MEAN_STYLE = {"color": COLORS["samples"], "marker": "o", "linestyle": "-"}
WIDTH = 3.8  # inches: narrow enough to keep 9 pt text at 11 CSS px on a 390 px phone
ROUND = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)  # where the x axis is labelled
AXIS_LABELS = {"nn_mean": "sample → nearest point of the shape",
               "train_coverage": "training point → nearest sample",
               "heldout_coverage": "held-out point → nearest sample"}


def _errorbar(ax: plt.Axes, rows: Sequence[pd.DataFrame], x: str, y: str, **kw) -> np.ndarray:
    """Means of ``x`` and ``y`` over the seeds with their intervals as error bars both ways;
    returns the means (K, 2)."""
    ix = np.array([interval(df, x) for df in rows])  # (K, 3): mean, low, high
    iy = np.array([interval(df, y) for df in rows])
    ax.errorbar(ix[:, 0], iy[:, 0], xerr=[ix[:, 0] - ix[:, 1], ix[:, 2] - ix[:, 0]],
                yerr=[iy[:, 0] - iy[:, 1], iy[:, 2] - iy[:, 0]], capsize=2, ms=5, **kw)
    return np.stack([ix[:, 0], iy[:, 0]], axis=1)


# where a point's label may go: offset (points) and alignment; the one farthest from the lines
SIDES = (((-7, 2), "right", "bottom"), ((7, 2), "left", "bottom"), ((7, -3), "left", "top"),
         ((-7, -3), "right", "top"), ((0, 7), "center", "bottom"), ((0, -7), "center", "top"))
LABEL_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none",
             "alpha": 0.85}  # a line that still passes under a label does not cross its text


def _centre(at: np.ndarray, side: tuple, width: float, scale: float) -> np.ndarray:
    """The centre (pixels) of a label ``width`` pixels wide at the point ``at`` on ``side``."""
    (dx, dy), ha, va = side
    return at + scale * np.array([dx, dy]) + [{"right": -0.5, "left": 0.5}.get(ha, 0.0) * width,
                                              (0.5 if va == "bottom" else -0.5) * MIN_FONT * scale]


def _room(taken: np.ndarray, at: np.ndarray, side: tuple, width: float,
          scale: float) -> tuple[bool, float]:
    """How clear a label on ``side`` of ``at`` keeps of the points ``taken`` (P, 2; pixels), to
    compare sides: first whether none lies in its box, then the least distance from them to a
    grid of 7 x 3 points over the box, or, where some lie in it, minus how many."""
    size = np.array([width, MIN_FONT * scale])
    centre = _centre(at, side, width, scale)
    inside = int((np.abs(taken - centre) <= size / 2).all(axis=1).sum())
    grid = np.stack(np.meshgrid(np.linspace(-0.5, 0.5, 7), np.linspace(-0.5, 0.5, 3)), -1)
    box = centre + grid.reshape(-1, 2) * size  # (21, 2)
    least = float(np.min(np.linalg.norm(taken[:, None] - box[None], axis=2), initial=np.inf))
    return inside == 0, least if inside == 0 else -float(inside)


def _label_points(ax: plt.Axes, xy: np.ndarray, labels: Sequence[str]) -> None:
    """Label each point (K, 2) on the side of :data:`SIDES` where the label lies farthest (on
    screen) from every line of ``ax`` (sampled along its segments) and from the other labels."""
    ax.figure.canvas.draw()  # the scales, limits and layout as drawn
    pts = [np.zeros((0, 2))]
    for line in ax.lines:
        xs = np.stack([np.asarray(v, dtype=float) for v in line.get_data()], 1)  # (n, 2)
        f = np.linspace(0, 1, 25)[:, None]
        for a, b in zip(np.log(xs[:-1]), np.log(xs[1:]), strict=True):  # straight on log axes
            pts.append(np.exp((1 - f) * a + f * b))
    taken = ax.transData.transform(np.concatenate(pts))  # (P, 2) pixels
    scale = ax.figure.dpi / 72.0  # pixels per point
    for (x, y), text in zip(xy, labels, strict=True):
        at, width = ax.transData.transform([(x, y)])[0], 0.6 * MIN_FONT * len(text) * scale
        side = max(SIDES, key=lambda sd: _room(taken, at, sd, width, scale))  # noqa: B023
        (dx, dy), ha, va = side
        ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                    fontsize=MIN_FONT, color=COLORS["samples"], zorder=4, bbox=LABEL_BOX)
        taken = np.vstack([taken, _centre(at, side, width, scale)])


def tradeoff_figure(results: Mapping[tuple[str, float], pd.DataFrame], scales: Sequence[float],
                    shapes: Sequence[str] = (), precision: str = "nn_mean",
                    coverage: str = "heldout_coverage") -> plt.Figure:
    """``coverage`` against ``precision`` (both lower is better, log axes) at each of ``scales``:
    the mean over every shape in ``results`` (:func:`conditional.mean_over_shapes`, 95% intervals
    as error bars), each point labelled with its scale s, joined in the order of ``scales``; the
    same for each of ``shapes`` alone (no error bars). Each line's point at s = 0 (if swept) is
    an open marker."""
    for name in (precision, coverage):
        if name not in METRICS:
            raise ValueError(f"precision and coverage must be metrics of {tuple(METRICS)}, got "
                             f"{name!r}")
    if len(shapes) > len(SHAPE_STYLES):
        raise ValueError(f"at most {len(SHAPE_STYLES)} shapes can be highlighted, got {shapes}")
    with style():
        fig, ax = plt.subplots(figsize=(WIDTH, 4.9), layout="constrained")
        start = [i for i, s in enumerate(scales) if float(s) == 0.0]  # s = 0: an open marker
        for shape, st in zip(shapes, SHAPE_STYLES, strict=False):
            xy = np.array([[interval(results[shape, float(s)], m)[0] for m in (precision, coverage)]
                           for s in scales])  # (K, 2)
            ax.plot(*xy.T, lw=1.2, ms=5, label=shape, **{**st, "linestyle": "--"})
            ax.plot(*xy[start].T, ls="", ms=5, mfc="white", zorder=2.5,
                    **{k: v for k, v in st.items() if k != "linestyle"})
        mean = [mean_over_shapes(results, s) for s in scales]
        n = mean[0].attrs["shapes"]
        xy = _errorbar(ax, mean, precision, coverage, label=f"mean of the {n} shapes",
                       zorder=3, **MEAN_STYLE)
        ax.plot(*xy[start].T, ls="", ms=5, mfc="white", zorder=3.5, color=MEAN_STYLE["color"],
                marker=MEAN_STYLE["marker"])
        ax.set(xscale="log", yscale="log")
        plain_log(ax)
        lo, hi = ax.get_xlim()  # plain labels on a few round values: minor labels would collide
        ax.xaxis.set_major_locator(FixedLocator([v for v in ROUND if lo <= v <= hi]))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"precision-like: {METRICS[precision][0]}\n({AXIS_LABELS[precision]})")
        ax.set_ylabel(f"coverage-like: {METRICS[coverage][0]}\n({AXIS_LABELS[coverage]})")
        ax.annotate("better", (0.02, 0.03), xycoords="axes fraction", fontsize=MIN_FONT,
                    color=NEUTRALS["axes"])
        fig.legend(loc="outside lower center", ncols=2, handlelength=2.6)
        _label_points(ax, xy, [f"s = {float(s):g}" for s in scales])  # in the final layout
    return fig


def outside(points: object, lim: tuple[float, float] = LIMITS) -> int:
    """How many of ``points`` (N, 2) lie outside the panels' square ``lim`` (not drawn)."""
    p = as_points("points", points)
    return int((np.abs(p) > max(abs(lim[0]), abs(lim[1]))).any(axis=1).sum())


def sample_grid(clouds: Mapping[tuple[str, float], object], data: Mapping[str, object],
                shapes: Sequence[str], scales: Sequence[float],
                width: float = FULL_WIDTH) -> plt.Figure:
    """Small multiples: a row per shape, a column per guidance scale; each panel the samples
    ``clouds[shape, scale]`` (N, 2; blue dots) over the shape's points ``data[shape]`` (grey
    dots, beneath), on the shared limits :data:`points.LIMITS`."""
    missing = [(sh, s) for sh in shapes for s in scales if (sh, float(s)) not in clouds]
    if missing or not shapes or not scales:
        raise ValueError(f"clouds needs a cloud per (shape, scale); missing {missing}")
    if any(sh not in data for sh in shapes):
        raise ValueError(f"data needs the points of every shape of {list(shapes)}")
    if not 0 < width <= FULL_WIDTH:
        raise ValueError(f"width must lie in (0, {FULL_WIDTH}] inches, got {width!r}")
    nrows, ncols = len(shapes), len(scales)
    side = min(2.0, (width - 0.7) / ncols)
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(0.7 + ncols * side, nrows * side + 0.5),
                                 squeeze=False, layout="constrained")
        for (r, c), ax in np.ndenumerate(axes):
            shape, s = shapes[r], float(scales[c])
            draw_data(ax, data[shape], side)
            p = as_points(f"clouds[{shape!r}, {s:g}]", clouds[shape, s])
            ax.scatter(p[:, 0], p[:, 1], s=point_size("samples", side), color=COLORS["samples"],
                       alpha=0.5, zorder=2, linewidths=0)
            point_axes(ax)
            ax.set(xlabel="", ylabel=shape if c == 0 else "")
            if r == 0:
                ax.set_title(f"s = {s:g}")
        outer_labels(axes)
    return fit(fig)

