"""Point-cloud figures: one cloud, small multiples, drift fields, and their shared pieces.

Scope: matplotlib only. Point clouds share the limits :data:`LIMITS` and an equal aspect, the dino
always grey dots beneath (:func:`draw_data`); figures check shapes (``ValueError`` naming the
argument) and are at most :data:`style.COLUMN_WIDTH` wide unless asked (then :func:`style.fit`).
"""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from ..utils import grid as grid_points
from .style import COLORS, COLUMN_WIDTH, CUES, FULL_WIDTH, QUIVER, fit, style

LIMITS = (-3.0, 3.0)  # axis limits for z-normalised point clouds
PANEL = 2.2  # inches: the default (largest) side of one point-cloud panel
MIN_PANEL = 1.6  # inches: the smallest side of a panel when the number of columns is chosen
SIZES = {"data": 9.0, "samples": 5.0}  # scatter s= (pt^2) in a 3.4-inch panel
Range = tuple[float, float, float]  # (start, stop, step) of a grid axis, as for np.arange


def as_array(x: object) -> np.ndarray:
    return np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=float)


def as_points(name: str, x: object) -> np.ndarray:
    arr = as_array(x)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {arr.shape}")
    return arr


def as_1d(name: str, x: object, n: int | None = None) -> np.ndarray:
    """A non-empty 1-D float array (of length ``n`` if given), or ``ValueError`` naming it."""
    arr = as_array(x)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has length {arr.size}, expected {n} (one per epoch)")
    return arr


def point_size(kind: str, side: float = 3.4) -> float:
    """Marker area (pt²) of a ``kind`` of point: :data:`SIZES`, scaled with the panel's area."""
    return max(2.0, SIZES[kind] * (side / 3.4) ** 2)


def draw_data(ax: plt.Axes, data: object, side: float = 3.4, name: str = "data") -> None:
    """The dino (or any data set, none for ``None``) as grey dots beneath the rest."""
    if data is None:
        return
    d = as_points(name, data)
    ax.scatter(d[:, 0], d[:, 1], s=point_size("data", side), color=COLORS["data"], zorder=1,
               label="data", linewidths=0)  # fmt: skip


def legend_dot(label: str, color: str, marker: str = "o", ms: float = 4, **kw) -> Line2D:
    return Line2D([], [], ls="", marker=marker, ms=ms, color=color, label=label, **kw)


def arrows(ax: plt.Axes, points: np.ndarray, vectors: np.ndarray, kind: str) -> None:
    """Arrows (N, 2) at ``points`` in the colour and line style of ``kind``; none of length 0. A
    solid kind (the added noise) is a filled arrow, a dashed one (the predicted noise) a dashed
    shaft with an open, solid head (a dashed outline of a short arrow reads as a squiggle)."""
    keep = np.linalg.norm(vectors, axis=-1) > 0
    if not keep.any():
        return
    if CUES.get(kind, {}).get("linestyle", "-") == "-":
        ax.quiver(*points[keep].T, *vectors[keep].T, color=COLORS[kind], width=0.005,
                  headwidth=3.5, headlength=4, zorder=4, **QUIVER)  # fmt: skip
        return
    start, vec = points[keep], vectors[keep]  # (K, 2)
    tip = start + vec
    length = np.linalg.norm(vec, axis=-1, keepdims=True)  # (K, 1)
    unit = vec / length
    normal = np.stack([-unit[:, 1], unit[:, 0]], axis=-1)
    head = np.clip(0.35 * length, 0.05, 0.15)  # data units: visible, never longer than the arrow
    base = tip - head * unit
    chevrons = np.stack([base + 0.6 * head * normal, tip, base - 0.6 * head * normal], axis=1)
    look = {"colors": COLORS[kind], "linewidths": 1.1, "zorder": 4, "capstyle": "round"}
    ax.add_collection(LineCollection(np.stack([start, tip], axis=1), linestyles=(0, (2.5, 1.5)),
                                     **look))  # fmt: skip
    ax.add_collection(LineCollection(chevrons, linestyles="solid", joinstyle="miter", **look))


def point_axes(ax: plt.Axes, lim: tuple = LIMITS, ylim: tuple | None = None) -> None:
    """Limits, equal aspect, labelled coordinates, ticks at whole (on a wide range, even) numbers
    strictly inside the limits: neighbouring panels' end labels never touch."""
    ax.set(xlim=lim, ylim=ylim or lim)
    for set_ticks, (lo, hi) in ((ax.set_xticks, lim), (ax.set_yticks, ylim or lim)):
        step = 1 if hi - lo <= 4.5 else 2
        set_ticks([v for v in range(int(lo) - 1, int(hi) + 1) if lo < v < hi and v % step == 0])
    ax.set(aspect="equal", xlabel="$x_1$")
    ax.set_ylabel("$x_2$", labelpad=1)


def outer_labels(axes: np.ndarray, n: int | None = None) -> None:
    """``label_outer`` for a grid (rows, cols) of panels, those from the ``n``-th on hidden: tick
    labels only on the left column and on the lowest visible panel of each column."""
    if n is not None:
        for i, ax in enumerate(axes.flat):
            ax.set_visible(i < n)
    nrows = axes.shape[0]
    for (r, c), ax in np.ndenumerate(axes):
        if c:
            ax.tick_params(labelleft=False)
            ax.set_ylabel("")
        if r + 1 < nrows and axes[r + 1, c].get_visible():
            ax.tick_params(labelbottom=False)
            ax.set_xlabel("")


def panel_grid(n: int, ncols: int | None, width: float, panel: float = PANEL):
    """``(fig, axes (rows, cols), side)``: ``n`` square panels of side at most ``panel`` in
    ``ncols`` columns (default: as many as fit at :data:`MIN_PANEL`), at most ``width`` wide."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 < width <= FULL_WIDTH:
        raise ValueError(f"width must lie in (0, {FULL_WIDTH}] inches, got {width!r}")
    ncols = min(n, ncols or max(1, int((width - 0.55) // MIN_PANEL)))
    nrows, side = -(-n // ncols), min(panel, (width - 0.55) / ncols)
    size = (min(width, 0.55 + ncols * side), nrows * (side + 0.32) + 0.45)
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False, layout="constrained")
    return fig, axes, side


def scatter(points: object, title: str | None = None, kind: str = "data",
            data: object = None) -> plt.Figure:  # fmt: skip
    """One point cloud (N, 2) in the colour of ``kind``; over ``data`` (grey dots, beneath) with
    a legend if given, e.g. samples over the training data."""
    pts = as_points("points", points)
    with style():
        fig, ax = plt.subplots(figsize=(3.4, 3.4), layout="constrained")
        draw_data(ax, data)
        ax.scatter(pts[:, 0], pts[:, 1], s=point_size(kind), color=COLORS[kind], zorder=2,
                   alpha=None if data is None else 0.7, label=kind)  # fmt: skip
        point_axes(ax)
        ax.set_title(title or "")
        if data is not None:
            ax.legend(loc="upper right", markerscale=2, handletextpad=0.2)
    return fig


def scatter_grid(clouds: Sequence[object], titles: Sequence[str], ncols: int | None = None,
                 kind: str = "data", panel: float = PANEL, width: float = COLUMN_WIDTH,
                 data: object = None) -> plt.Figure:  # fmt: skip
    """Small multiples: one titled panel per (N, 2) cloud over ``data``, by :func:`panel_grid`."""
    if len(clouds) != len(titles) or not clouds:
        raise ValueError(f"need one title per cloud: {len(clouds)} clouds, {len(titles)} titles")
    pts = [as_points(f"clouds[{i}]", c) for i, c in enumerate(clouds)]
    with style():
        fig, axes, side = panel_grid(len(pts), ncols, width, panel)
        for ax, p, title in zip(axes.flat, pts, titles, strict=False):
            draw_data(ax, data, side)
            ax.scatter(p[:, 0], p[:, 1], s=point_size(kind, side), color=COLORS[kind], zorder=2,
                       alpha=None if data is None else 0.6)  # the data shows through
            ax.set_title(title)
            point_axes(ax)
        outer_labels(axes, len(pts))
    return fit(fig)


def noised_grid(xs: Sequence[object], steps: Sequence[int], alpha_bars: object,
                width: float = COLUMN_WIDTH) -> plt.Figure:  # fmt: skip
    """The noised data ``xs[k]`` (``forward_noise_dataset``) at steps k in 0..T, titled with
    alpha_bar after k steps (``alpha_bars``: the 0-based schedule)."""
    if any(not 0 <= k < len(xs) for k in steps):
        raise ValueError(f"steps {list(steps)} must lie in 0..{len(xs) - 1}")
    ab = np.r_[1.0, as_1d("alpha_bars", alpha_bars)]
    titles = [rf"t = {k}, $\bar\alpha_t$ = {ab[k]:.2f}" for k in steps]
    return scatter_grid([xs[k] for k in steps], titles, width=width)


def scaled_arrows(vectors: np.ndarray, spacing: float, typical: float = 0.7,
                  longest: float = 1.2) -> tuple[np.ndarray, float]:  # fmt: skip
    """Scale (..., 2) vectors so the median length is ``typical * spacing`` and clip lengths at
    ``longest * spacing`` (direction kept): a fixed scale would leave most arrows invisible next
    to a few long ones far from the data. Returns the vectors and the scale factor."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    ref = np.median(norms)
    factor = typical * spacing / ref if ref > 0 else 1.0
    clip = np.minimum(1.0, longest * spacing / np.maximum(norms * factor, 1e-300))
    return vectors * factor * clip, factor


def draw_quiver(ax: plt.Axes, gx: np.ndarray, gy: np.ndarray, field: np.ndarray, spacing: float,
                **kw) -> float:  # fmt: skip
    """Quiver of a (ny, nx, 2) ``field`` at ``gx, gy`` (ny, nx), scaled by :func:`scaled_arrows`."""
    vec, factor = scaled_arrows(np.asarray(field, dtype=float), spacing)
    ax.quiver(gx, gy, vec[..., 0], vec[..., 1], color=COLORS["field"], zorder=2, **QUIVER, **kw)
    return factor


def draw_field(ax: plt.Axes, grid: np.ndarray, xrange: Range, yrange: Range | None,
               data: object = None) -> float:  # fmt: skip
    """:func:`draw_quiver` of a (ny, nx, 2) field on the ranges' grid over ``data``, all in view."""
    gx, gy, pts = grid_points(xrange, yrange)  # as in exact.drift_grids
    if np.shape(grid) != gx.shape + (2,):
        raise ValueError(f"grid must have shape {gx.shape + (2,)} for the ranges: {np.shape(grid)}")
    pts = pts.numpy()
    if data is not None:
        draw_data(ax, data, side=2.5)
        pts = np.concatenate([pts, as_points("data", data)])
    factor = draw_quiver(ax, gx, gy, grid, xrange[2], width=0.006)
    lo, hi = pts.min(axis=0) - xrange[2], pts.max(axis=0) + xrange[2]
    point_axes(ax, (lo[0], hi[0]), (lo[1], hi[1]))
    return factor


def drift_quiver(grids: Sequence[np.ndarray], steps: Sequence[int], data: object = None, *,
                 xrange: Range, yrange: Range | None = None) -> plt.Figure:  # fmt: skip
    """Drift fields ``grids[k]`` (``exact.drift_grids``, same ranges) at steps k (draw_field)."""
    if any(not 0 < k < len(grids) for k in steps):
        raise ValueError(f"steps {list(steps)} outside 1..{len(grids) - 1}")
    with style():
        fig, axes, _ = panel_grid(len(steps), 3, COLUMN_WIDTH, panel=2.6)
        for ax, k in zip(axes.flat, steps, strict=False):
            factor = draw_field(ax, grids[k], xrange, yrange, data)
            ax.set_title(f"t = {k} (arrows ×{factor:.2g})")
        outer_labels(axes, len(steps))
    return fit(fig)
