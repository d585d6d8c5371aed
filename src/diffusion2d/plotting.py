"""One figure style for the whole book, and the static figures chapters draw in one line.

Scope: matplotlib only, no mathematics. Colours are named once in :data:`COLORS` (data points,
samples, added noise in red, predicted noise in blue, drift-field arrows, loss curves, schedule
quantities) and every helper uses them. Point clouds share fixed limits :data:`LIMITS` around the
z-normalised data and an equal aspect, so figures are comparable across chapters.

Helpers take tensors or arrays, check shapes (``ValueError`` naming the argument), draw inside
:func:`style` and return the ``Figure``. Animations are in :mod:`diffusion2d.animation`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .schedules import signal_to_noise

# fmt: off
# Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/), one colour per
# meaning, and a second cue per meaning (CUES) so nothing is told by colour alone.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
    "grey": "#999999",
}
COLORS = {
    "data": OKABE_ITO["grey"],            # the dino's points: filled grey dots, drawn beneath
    "samples": OKABE_ITO["blue"],         # generated samples and particles: blue dots
    "noise": OKABE_ITO["vermillion"],     # noise added in a step: solid arrows
    "pred_noise": OKABE_ITO["green"],     # noise predicted by the model: dashed arrows
    "field": OKABE_ITO["purple"],         # drift-field arrows: thin, open heads
    "train": OKABE_ITO["blue"], "test": OKABE_ITO["vermillion"],  # losses: solid vs dashed
    "beta": OKABE_ITO["blue"], "alpha": OKABE_ITO["orange"], "alpha_bar": OKABE_ITO["green"],
    "snr": OKABE_ITO["purple"],
}
# The second cue of each meaning: line style for curves and arrows, marker for points.
CUES = {
    "data": {"marker": "o"}, "samples": {"marker": "o"},
    "noise": {"linestyle": "-"}, "pred_noise": {"linestyle": "--"}, "field": {"linestyle": "-"},
    "train": {"linestyle": "-"}, "test": {"linestyle": "--"},
    "beta": {"linestyle": "-"}, "alpha": {"linestyle": "--"}, "alpha_bar": {"linestyle": "-."},
    "snr": {"linestyle": ":"},
}
LIMITS = (-3.0, 3.0)  # axis limits for z-normalised point clouds
STYLE = {
    "figure.dpi": 100, "font.size": 9, "lines.linewidth": 1.6, "scatter.edgecolors": "none",
    # opaque white backgrounds keep figures readable in the theme's dark mode too
    "figure.facecolor": "white", "savefig.facecolor": "white", "axes.facecolor": "white",
    "axes.edgecolor": "#555555", "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "axes.axisbelow": True, "grid.color": "#e6e6e6", "grid.linewidth": 0.6,
    "axes.titlesize": 10, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "legend.fontsize": 8, "legend.frameon": False,
}
QUIVER = {"angles": "xy", "scale_units": "xy", "scale": 1}  # arrows in data units
# fmt: on
Lim = tuple[float, float]
Range = tuple[float, float, float]  # (start, stop, step) as for np.arange
GRID: Range = (-2, 2, 0.15)  # the default grid of exact.drift_grids


def use_style() -> None:
    """Apply :data:`STYLE` globally (call once at the top of a chapter)."""
    mpl.rcParams.update(STYLE)


@contextmanager
def style() -> Iterator[None]:
    """Context manager applying :data:`STYLE` temporarily (every helper draws inside it).

    The interactive flag survives: a notebook backend first loaded inside the context switches
    it on, and restoring it would stop the notebook from showing later figures."""
    with mpl.rc_context(STYLE):
        yield
        interactive = mpl.is_interactive()
    mpl.interactive(interactive)


def _numpy(x: object) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=float)


def as_points(name: str, x: object) -> np.ndarray:
    """Convert a tensor/array to a float NumPy array of shape (N, 2), or raise ``ValueError``."""
    arr = _numpy(x)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{name} must have shape (N, 2), got {arr.shape}")
    return arr


def _as_1d(name: str, x: object, n: int | None = None) -> np.ndarray:
    arr = _numpy(x)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {arr.shape}")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has length {arr.size}, expected {n} (one per epoch)")
    return arr


def point_axes(ax: plt.Axes, lim: Lim = LIMITS, ylim: Lim | None = None) -> None:
    """Fixed limits (``ylim`` defaults to ``lim``), equal aspect and labelled coordinates."""
    ax.set_xlim(*lim)
    ax.set_ylim(*(lim if ylim is None else ylim))
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$", labelpad=1)


def outer_labels(axes: np.ndarray, n: int) -> None:
    """``label_outer`` for a grid whose first ``n`` panels are used (the rest are hidden)."""
    ncols = axes.shape[1]
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.set_visible(False)
            continue
        if i % ncols:
            ax.tick_params(labelleft=False)
            ax.set_ylabel("")
        if i + ncols < n:
            ax.tick_params(labelbottom=False)
            ax.set_xlabel("")


def scatter(points: object, title: str | None = None, kind: str = "data", lim: Lim = LIMITS):
    """One point cloud (N, 2); ``kind`` picks the colour from :data:`COLORS`."""
    pts = as_points("points", points)
    with style():
        fig, ax = plt.subplots(figsize=(3.4, 3.4))
        ax.scatter(pts[:, 0], pts[:, 1], s=12, color=COLORS[kind])
        point_axes(ax, lim)
        ax.set_title(title or "")
        fig.tight_layout()
    return fig


def scatter_grid(
    clouds: Sequence[object],
    titles: Sequence[str],
    ncols: int | None = None,
    kind: str = "data",
    lim: Lim = LIMITS,
    panel: float = 2.1,
) -> plt.Figure:
    """Small multiples: one panel per (N, 2) cloud, titled, with shared limits."""
    if len(clouds) != len(titles) or not clouds:
        raise ValueError(f"need one title per cloud: {len(clouds)} clouds, {len(titles)} titles")
    pts = [as_points(f"clouds[{i}]", c) for i, c in enumerate(clouds)]
    ncols = ncols or len(pts)
    nrows = -(-len(pts) // ncols)
    with style():
        fig, axes = plt.subplots(
            nrows, ncols, figsize=(panel * ncols, panel * nrows + 0.1), squeeze=False
        )
        for ax, p, title in zip(axes.flat, pts, titles, strict=False):
            ax.scatter(p[:, 0], p[:, 1], s=5, color=COLORS[kind])
            ax.set_title(title)
            point_axes(ax, lim)
        outer_labels(axes, len(pts))  # shared limits: tick labels on the outer panels suffice
        fig.tight_layout()
    return fig


def noised_grid(
    xs: Sequence[object], steps: Sequence[int], alpha_bars: object = None
) -> plt.Figure:
    """The noised data ``xs[k]`` (from ``forward_noise_dataset``) at the given steps k in 0..T.

    With ``alpha_bars`` (the 0-based schedule) each title also shows alpha_bar after k steps.
    """
    ab = None if alpha_bars is None else np.r_[1.0, _as_1d("alpha_bars", alpha_bars)]
    if any(not 0 <= k < len(xs) for k in steps):
        raise ValueError(f"steps {list(steps)} must lie in 0..{len(xs) - 1}")
    fmt = "t = {k}" if ab is None else r"t = {k}, $\bar\alpha_t$ = {a:.2f}"
    titles = [fmt.format(k=k, a=1.0 if ab is None else ab[k]) for k in steps]
    return scatter_grid([xs[k] for k in steps], titles)


def _as_schedules(schedules: object) -> dict[str, list[np.ndarray]]:
    """One triple (betas, alphas, alpha_bars) or a mapping label -> triple, checked."""
    items = dict(schedules) if isinstance(schedules, Mapping) else {"": schedules}
    for label, sched in items.items():
        if len(sched) != 3:
            raise ValueError("a schedule is the triple (betas, alphas, alpha_bars)")
        names = ("betas", "alphas", "alpha_bars")
        items[label] = [_as_1d(n, a) for n, a in zip(names, sched, strict=True)]
        if len({a.size for a in items[label]}) != 1:
            raise ValueError("betas, alphas and alpha_bars must have the same length T")
    return items


def schedule_plot(schedules: object) -> plt.Figure:
    """beta_t; alpha_t and alpha_bar_t; SNR(t) on a log scale, against the paper's step t = 1..T.
    ``schedules``: one triple ``(betas, alphas, alpha_bars)`` or a mapping label -> triple
    (schedules are told apart by line style)."""
    scheds = _as_schedules(schedules)
    dashes = ["-", "--", ":", "-."]
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(9.6, 2.9))
        for i, (label, (betas, alphas, abars)) in enumerate(scheds.items()):
            t = np.arange(1, betas.size + 1)
            ls, suffix = dashes[i % 4], (f" ({label})" if label else "")
            snr = signal_to_noise(abars.astype(np.float64))
            axes[0].plot(t, betas, ls, color=COLORS["beta"], label=r"$\beta_t$" + suffix)
            axes[1].plot(t, alphas, ls, color=COLORS["alpha"], label=r"$\alpha_t$" + suffix)
            axes[1].plot(t, abars, ls, color=COLORS["alpha_bar"], label=r"$\bar\alpha_t$" + suffix)
            axes[2].plot(t, snr, ls, color=COLORS["snr"], label="SNR" + suffix)
        axes[0].set_title(r"noise per step $\beta_t$")
        axes[1].set_title(r"signal kept: $\alpha_t$, $\bar\alpha_t$")
        axes[2].set_title(r"SNR $=\bar\alpha_t/(1-\bar\alpha_t)$")
        axes[1].set_ylim(0, 1.02)
        axes[2].set_yscale("log")
        for ax in axes:
            ax.set_xlabel("step $t$")
            ax.legend(loc="best")
        fig.tight_layout()
    return fig


def scaled_arrows(
    vectors: np.ndarray, spacing: float, typical: float = 0.7, longest: float = 1.2
) -> tuple[np.ndarray, float]:
    """Scale (..., 2) vectors so the median length is ``typical * spacing`` and clip lengths at
    ``longest * spacing`` (direction kept): a fixed scale would leave most arrows invisible next
    to a few long ones far from the data. Returns the vectors and the scale factor."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    ref = np.median(norms)
    factor = typical * spacing / ref if ref > 0 else 1.0
    lengths, cap = norms * factor, longest * spacing
    clip = np.minimum(1.0, cap / np.maximum(lengths, 1e-300))
    return vectors * factor * clip, factor


def draw_field(ax: plt.Axes, grid: np.ndarray, xrange, yrange, data: object = None) -> float:
    """Quiver of one (ny, nx, 2) field on ``ax`` (arrows rescaled and clipped per panel by
    :func:`scaled_arrows`), over faint ``data`` if given; returns the scale factor."""
    gx, gy = np.meshgrid(np.arange(*xrange), np.arange(*yrange))  # as in exact.drift_grids
    grid = np.asarray(grid, dtype=float)
    if grid.shape != gx.shape + (2,):
        raise ValueError(f"grid must have shape {gx.shape + (2,)} for the ranges, got {grid.shape}")
    vec, factor = scaled_arrows(grid, xrange[2])
    pts = np.stack([gx.ravel(), gy.ravel()], axis=1)  # limits cover the grid and the data
    if data is not None:
        d = as_points("data", data)
        ax.scatter(d[:, 0], d[:, 1], s=4, color=COLORS["data"], alpha=0.35)
        pts = np.concatenate([pts, d])
    ax.quiver(gx, gy, *np.moveaxis(vec, -1, 0), color=COLORS["field"], width=0.006, **QUIVER)
    lo, hi = pts.min(axis=0) - xrange[2], pts.max(axis=0) + xrange[2]
    point_axes(ax, (lo[0], hi[0]), (lo[1], hi[1]))
    return factor


def drift_quiver(
    grids: Sequence[np.ndarray],
    steps: Sequence[int],
    data: object = None,
    xrange: Range = GRID,
    yrange: Range = GRID,
    ncols: int = 3,
) -> plt.Figure:
    """Drift fields ``grids[k]`` (from ``exact.drift_grids``, same ranges) at steps k, one panel
    each, arrows rescaled per panel (factor in the title) and clipped by :func:`scaled_arrows`."""
    ncols = min(ncols, len(steps))
    nrows = -(-len(steps) // ncols)
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False)
        for ax, k in zip(axes.flat, steps, strict=False):
            if not 0 < k < len(grids):
                raise ValueError(f"step {k} outside 1..{len(grids) - 1}")
            factor = draw_field(ax, grids[k], xrange, yrange, data)
            ax.set_title(f"t = {k} (arrows ×{factor:.2g})")
        outer_labels(axes, len(steps))
        fig.tight_layout()
    return fig


def loss_curve(
    epochs: Sequence[float],
    train_loss: Sequence[float],
    test_loss: Sequence[float] | None = None,
    title: str | None = None,
    logy: bool = True,
) -> plt.Figure:
    """Training loss (and held-out loss, if given) per epoch; e.g. ``loss_curve(h.epochs,
    h.train_loss, h.test_loss)`` for a training history ``h``."""
    ep = _as_1d("epochs", epochs)
    tr = _as_1d("train_loss", train_loss, ep.size)
    te = None if test_loss is None else _as_1d("test_loss", test_loss, ep.size)
    with style():
        fig, ax = plt.subplots(figsize=(4.6, 2.9))
        ax.plot(ep, tr, color=COLORS["train"], label="train")
        if te is not None:
            ax.plot(ep, te, "--", color=COLORS["test"], label="held-out")
        _loss_axes(fig, ax, title, logy)
    return fig


def _loss_axes(fig: plt.Figure, ax: plt.Axes, title: str | None, logy: bool, **legend) -> None:
    """The axes of a loss plot: log scale (``logy``), labels, legend, title."""
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"loss $L_\mathrm{simple}$")
    ax.legend(**legend)
    ax.set_title(title or "")
    fig.tight_layout()


def samples_over_data(
    samples: object, data: object, title: str | None = None, lim: Lim = LIMITS
) -> plt.Figure:
    """Generated samples (orange dots) with the training data on top as dark rings, so samples
    that copy a training point show as a dot inside its ring."""
    s, d = as_points("samples", samples), as_points("data", data)
    with style():
        fig, ax = plt.subplots(figsize=(3.4, 3.4))
        ax.scatter(s[:, 0], s[:, 1], s=4, color=COLORS["samples"], alpha=0.6, label="samples")
        ax.scatter(*d.T, s=18, facecolors="none", edgecolors=COLORS["data"], lw=0.7, label="data")
        point_axes(ax, lim)
        ax.legend(loc="upper right", markerscale=2, handletextpad=0.2)
        ax.set_title(title or "")
        fig.tight_layout()
    return fig


def loss_curves(
    histories: Mapping[str, object], title: str | None = None, logy: bool = True
) -> plt.Figure:
    """Several training histories on one axis: per run, the training loss (solid) and the
    held-out loss (dashed) in one colour, e.g. ``loss_curves({"2000 epochs": h1, "4000": h2})``.

    Each history needs ``epochs``, ``train_loss`` and ``test_loss`` (a ``TrainHistory``).
    """
    if not histories:
        raise ValueError("histories must name at least one training history")
    with style():
        fig, ax = plt.subplots(figsize=(4.8, 2.9))
        colors = plt.get_cmap("tab10").colors
        for i, (name, h) in enumerate(histories.items()):
            color = colors[i % len(colors)]
            for attr in ("epochs", "train_loss", "test_loss"):
                if not hasattr(h, attr):
                    raise ValueError(f"histories[{name!r}] has no {attr!r}: pass a TrainHistory")
            ep = _as_1d(f"histories[{name!r}].epochs", h.epochs)
            tr = _as_1d(f"histories[{name!r}].train_loss", h.train_loss, ep.size)
            te = _as_1d(f"histories[{name!r}].test_loss", h.test_loss, ep.size)
            ax.plot(ep, tr, color=color, label=f"{name}: train")
            ax.plot(ep, te, "--", color=color, label=f"{name}: held-out")
        _loss_axes(fig, ax, title, logy, fontsize=7)
    return fig
