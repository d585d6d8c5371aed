"""The learned noise field next to the exact one (chapter 07): grids, errors, losses per step.

Scope: :func:`compare_fields` evaluates eps_theta and E[eps | x_t] (:class:`exact.ExactDenoiser`)
on a grid into a :class:`FieldComparison`; :func:`error_by_distance` and :func:`loss_by_step`
(L_simple, eq. 14, via :func:`forward.q_sample`) summarise them; the figures draw -eps (the way
sampling moves a point), error maps, a distance/time heat map and the loss per step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import LogNorm

from ..forward import q_sample
from ..utils import grid as grid_points
from ..utils import torch_threads
from .curves import plain_log
from .particles import Range
from .points import LIMITS, as_points, outer_labels, point_axes, point_size, scaled_arrows
from .style import COLORS, COLUMN_WIDTH, CUES, FULL_WIDTH, QUIVER, fit, style

ERROR_GRID: Range = (-3.0, 3.001, 0.1)  # 61 x 61 points for error maps
CENTRES = COLORS["data"]  # the noised data's centres behind field arrows: grey dots, as the data
CENTRES_ON_MAP = COLORS["centres"]  # ... and on top of error maps
ERROR_CMAP = "magma_r"


@dataclass
class FieldComparison:
    """eps_theta and E[eps | x_t] on a grid at several paper times t (arrays float64).

    ``learned``, ``exact``: (S, ny, nx, 2); ``grid_x``, ``grid_y``: (ny, nx); ``times``: (S,);
    ``alpha_bars``: alpha_bar_t for each time (S,); ``centres``: the training points scaled by
    sqrt(alpha_bar_t), the means of the mixture q(x_t) (S, M, 2).
    """

    times: np.ndarray
    grid_x: np.ndarray
    grid_y: np.ndarray
    learned: np.ndarray
    exact: np.ndarray
    alpha_bars: np.ndarray
    centres: np.ndarray

    @cached_property
    def sq_error(self) -> np.ndarray:
        """|eps_theta - E[eps|x_t]|^2 averaged over both coordinates (as L_simple): (S, ny, nx)."""
        return ((self.learned - self.exact) ** 2).mean(-1)

    @cached_property
    def distance(self) -> np.ndarray:
        """Each grid point's distance to the nearest centre sqrt(alpha_bar_t) x0_i, (S, ny, nx)."""
        pts = torch.from_numpy(np.stack([self.grid_x.ravel(), self.grid_y.ravel()], 1))  # (G, 2)
        with torch_threads(1):
            out = [
                torch.cdist(pts, torch.from_numpy(c), compute_mode="use_mm_for_euclid_dist")
                .min(1)
                .values.clamp_min(0.0)
                .numpy()
                for c in self.centres
            ]
        return np.stack(out).reshape(self.sq_error.shape)


@torch.no_grad()
def compare_fields(model, exact, times: Sequence[int], grid: Range = ERROR_GRID) -> FieldComparison:
    """Evaluate ``model`` (eps_theta) and ``exact`` (an :class:`exact.ExactDenoiser`, same
    schedule) on the grid ``np.meshgrid(np.arange(*grid), np.arange(*grid))`` at paper times t."""
    T = model.T
    if exact.T != T or not torch.allclose(exact.alpha_bars, model.alpha_bars):
        raise ValueError("model and exact denoiser must share the schedule")
    times = np.asarray(list(times), dtype=int)
    if times.size == 0 or times.min() < 1 or times.max() > T:
        raise ValueError(f"times must lie in 1..{T} (there is no step at t = 0), got {times}")
    gx, gy, pts = grid_points(grid)  # (ny, nx) each, (G, 2)
    pts = pts.float()
    learned, exact_eps = [], []
    if hasattr(model, "eval"):
        model.eval()
    with torch_threads(1):
        for t in times:
            step = torch.full((len(pts),), int(t) - 1, dtype=torch.long)  # 0-based step
            learned.append(model(pts, step).double().numpy().reshape(gx.shape + (2,)))
            exact_eps.append(exact(pts.double(), step).numpy().reshape(gx.shape + (2,)))
    abars = exact.alpha_bars.double().numpy()[times - 1]
    data = exact.data.double().numpy()
    return FieldComparison(
        times=times,
        grid_x=gx,
        grid_y=gy,
        learned=np.stack(learned),
        exact=np.stack(exact_eps),
        alpha_bars=abars,
        centres=np.sqrt(abars)[:, None, None] * data[None],
    )


def error_by_distance(
    comp: FieldComparison, edges: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Mean squared error in bins of distance to the nearest centre: ``(table (S, B), counts)``.

    ``edges`` are B + 1 increasing bin edges; empty bins hold NaN.
    """
    edges = np.asarray(edges, dtype=float)
    dist, err = comp.distance, comp.sq_error
    table = np.full((len(comp.times), len(edges) - 1), np.nan)
    counts = np.zeros(table.shape, dtype=int)
    for s in range(len(comp.times)):
        which = np.digitize(dist[s].ravel(), edges) - 1  # bin index per grid point
        for b in range(len(edges) - 1):
            sel = which == b
            counts[s, b] = sel.sum()
            if sel.any():
                table[s, b] = err[s].ravel()[sel].mean()
    return table, counts


@torch.no_grad()
def loss_by_step(
    models: Mapping[str, object],
    points: torch.Tensor,
    repeats: int = 16,
    generator: torch.Generator | None = None,
) -> dict[str, np.ndarray]:
    """L_simple (eq. 14) per step for each model on the same draws: ``{name: (T,) array}``.

    Every point is noised ``repeats`` times at *every* step t = 1..T with one shared set of eps
    (eq. 4), so the models are compared on identical inputs; entry t-1 is the loss at time t.
    """
    first = next(iter(models.values()))
    T, alpha_bars = first.T, first.alpha_bars
    for name, m in models.items():
        if m.T != T or not torch.allclose(m.alpha_bars, alpha_bars):
            raise ValueError(f"model {name!r} does not share the schedule of the others")
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    x0 = as_points("points", points)
    x0 = torch.from_numpy(x0).float().repeat(repeats, 1)  # (R*M, 2)
    out = {name: np.zeros(T) for name in models}
    with torch_threads(1):
        for s in range(T):
            eps = torch.randn(x0.shape, generator=generator)  # (R*M, 2)
            ts = torch.full((len(x0),), s, dtype=torch.long)
            xt = q_sample(x0, ts, eps, alpha_bars)
            for name, m in models.items():
                if hasattr(m, "eval"):
                    m.eval()
                out[name][s] = float(((eps - m(xt, ts)) ** 2).mean())
    return out


def _minus_eps_panel(ax, gx, gy, vec, centres, color, side: float) -> None:
    ax.scatter(centres[:, 0], centres[:, 1], s=point_size("data", side), color=CENTRES, zorder=1,
               linewidths=0)  # fmt: skip
    ax.quiver(gx, gy, vec[..., 0], vec[..., 1], color=color, width=0.006, zorder=2, **QUIVER)
    point_axes(ax, LIMITS)


def _side(width: float, columns: int, extra: float) -> float:
    if not 0 < width <= FULL_WIDTH:
        raise ValueError(f"width must lie in (0, {FULL_WIDTH}] inches, got {width!r}")
    return (width - extra) / columns


def field_comparison_figure(comp: FieldComparison, width: float = FULL_WIDTH) -> plt.Figure:
    """Rows: exact E[eps|x_t] (black arrows) and learned eps_theta (green, the predicted noise's
    colour), drawn as -eps (the way sampling moves a point), over the centres
    sqrt(alpha_bar_t) x0_i (grey dots); columns: times. Both rows of a column share one arrow
    scale (:func:`plotting.scaled_arrows`, factor in the column's title). At most ``width``
    inches wide (wider than the column: marked for a full-width cell)."""
    spacing = float(comp.grid_x[0, 1] - comp.grid_x[0, 0])
    S = len(comp.times)
    side = _side(width, S, 0.9)
    rows = ((r"exact $-E[\epsilon\,|\,x_t]$", COLORS["exact"]),
            (r"learned $-\epsilon_\theta$", COLORS["pred_noise"]))  # fmt: skip
    with style():
        fig, axes = plt.subplots(2, S, figsize=(width, 2 * side + 0.9), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for c in range(S):
            both, factor = scaled_arrows(-np.stack([comp.exact[c], comp.learned[c]]), spacing)
            for r, (_, color) in enumerate(rows):
                _minus_eps_panel(axes[r, c], comp.grid_x, comp.grid_y, both[r], comp.centres[c],
                                 color, side)  # fmt: skip
            axes[0, c].set_title(f"t = {comp.times[c]}, arrows ×{factor:.2g}")
        outer_labels(axes, axes.size)
        for r, (label, _) in enumerate(rows):
            axes[r, 0].set_ylabel(f"{label}\n$x_2$")
    return fit(fig)


def error_map_figure(comp: FieldComparison, width: float = FULL_WIDTH, vmin: float = 1e-3):
    """log-coloured |eps_theta - E[eps|x_t]|^2 over the grid, one panel per time, with the
    centres sqrt(alpha_bar_t) x0_i on top (dots); one colour scale for all panels. At most
    ``width`` inches wide (wider than the column: marked for a full-width cell)."""
    err = np.maximum(comp.sq_error, vmin)
    norm = LogNorm(vmin=vmin, vmax=max(float(err.max()), 10 * vmin))
    S = len(comp.times)
    side = _side(width, S, 1.5)
    extent = (comp.grid_x.min(), comp.grid_x.max(), comp.grid_y.min(), comp.grid_y.max())
    with style():
        fig, axes = plt.subplots(1, S, figsize=(width, side + 0.85), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for c in range(S):
            ax = axes[0, c]
            im = ax.imshow(err[c], origin="lower", extent=extent, norm=norm, cmap=ERROR_CMAP,
                           interpolation="nearest")  # fmt: skip
            ax.scatter(*comp.centres[c].T, s=point_size("data", side), color=CENTRES_ON_MAP,
                       zorder=2, linewidths=0)  # fmt: skip
            point_axes(ax, LIMITS)
            ax.grid(False)
            ax.set_title(f"t = {comp.times[c]}")
        outer_labels(axes, S)
        fig.colorbar(im, ax=axes, shrink=0.9, label="squared error")
    return fit(fig)


def error_heatmap_figure(comp: FieldComparison, edges: Sequence[float], vmin: float = 1e-3):
    """Mean |eps_theta - E[eps|x_t]|^2 over (distance to the nearest centre, t), log colour."""
    table, _ = error_by_distance(comp, edges)
    edges = np.asarray(edges, dtype=float)
    t = comp.times
    t_edges = np.r_[t[0] - 0.5, (t[1:] + t[:-1]) / 2, t[-1] + 0.5]
    with style():
        fig, ax = plt.subplots(figsize=(5.6, 3.4), layout="constrained")
        norm = LogNorm(vmin=vmin, vmax=max(np.nanmax(table), 10 * vmin))
        mesh = ax.pcolormesh(edges, t_edges, np.maximum(table, vmin), cmap=ERROR_CMAP, norm=norm)
        ax.set_xlabel(r"distance from $x_t$ to the nearest $\sqrt{\bar\alpha_t}\,x_0^{(i)}$")
        ax.set_ylabel("time $t$")
        ax.grid(False)
        fig.colorbar(mesh, ax=ax, label="mean squared error")
    return fig


def loss_by_step_figure(
    losses: Mapping[str, Mapping[str, np.ndarray]], colors: Mapping[str, str] | None = None
) -> plt.Figure:
    """One panel per point set (e.g. training, held-out), one line per model: L_simple per t.
    ``colors`` maps a model name to a colour (default: the first model, the learned one, in the
    predicted noise's colour, solid; the others as the exact denoiser, black, dotted)."""
    colors = dict(colors or {})
    styles = ["-", CUES["exact"]["linestyle"], "--"]
    with style():
        fig, axes = plt.subplots(1, len(losses), figsize=(COLUMN_WIDTH, 3.0), sharey=True,
                                 squeeze=False, layout="constrained")  # fmt: skip
        for ax, (title, per_model) in zip(axes.flat, losses.items(), strict=True):
            for i, (name, values) in enumerate(per_model.items()):
                t = np.arange(1, len(values) + 1)
                color = colors.get(name, COLORS["pred_noise"] if i == 0 else COLORS["exact"])
                ax.plot(t, values, styles[i % 3], color=color, label=name,
                        lw=1.6 if i == 0 else 2.0)  # fmt: skip
            plain_log(ax.yaxis)
            ax.set_xlabel("time $t$")
            ax.set_title(title)
        axes.flat[0].set_ylabel(r"$L_\mathrm{simple}$ at $t$")
        axes.flat[0].legend()
    return fig


@torch.no_grad()
def eps_slope(
    denoiser, points: torch.Tensor, t: int, num: int = 20_000,
    generator: torch.Generator | None = None,
) -> float:  # fmt: skip
    """The least-squares slope c of eps_pred ~ c x_t over x_t ~ q(x_t) (DDPM eq. 4 from
    ``points``) at the paper time t (0-based step t - 1): how strongly the noise prediction
    points along x_t. For unit-variance data the linear-Gaussian estimate is sqrt(1 - alpha_bar_t).
    """
    T = len(denoiser.alpha_bars)
    if isinstance(t, bool) or not 1 <= int(t) <= T or int(t) != t:
        raise ValueError(f"t must be a paper time in 1..{T}, got {t!r}")
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    x0 = torch.as_tensor(points).float()
    x0 = x0[torch.randint(0, len(x0), (num,), generator=g)]  # (num, 2)
    ts = torch.full((num,), int(t) - 1, dtype=torch.long)
    eps = torch.randn(x0.shape, generator=g)
    with torch_threads(1):
        xt = q_sample(x0, ts, eps, denoiser.alpha_bars)
        pred = denoiser(xt, ts)
        return float((pred * xt).sum() / (xt * xt).sum())
