"""Sampling seen as particles (chapter 06) and the learned noise field next to the exact one (07).

Scope: the figures, GIFs and summary numbers of those two chapters, in the book's style
(:mod:`diffusion2d.plotting`); GIFs go through :func:`diffusion2d.animation.write_gif`. No new
mathematics: trajectories come from :func:`trajectories.record_trajectories`, the exact noise
prediction from :class:`exact.ExactDenoiser`, the loss from eq. 14 via :func:`forward.q_sample`.

Conventions. Times in titles and arguments are the paper's t (``T`` = pure-ish noise, ``0`` = the
sample x_0). In a :class:`trajectories.Trajectories`, frame ``k = T - t`` holds x_t and step ``k``
is the reverse step *taken from* x_t (learned field ``field[k]``, prediction ``eps_pred[k]``, added
noise ``added_noise[k]``); at t = 0 there is no step left, so no arrows are drawn.

Arrows: the learned field (purple) is rescaled per panel by :func:`plotting.scaled_arrows`
(factor in the title); the added noise sigma_t z (red) is drawn in data units; the predicted noise
eps_theta (blue, a unit-variance quantity) is drawn times :data:`EPS_SCALE`.

Computations run on one torch thread (:func:`training.torch_threads`): on a busy two-core machine
more threads only add contention (a 300-particle recording takes 0.2 s instead of 1.4 s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import animation
from .forward import q_sample
from .metrics import chamfer_distance
from .plotting import (
    COLORS,
    LIMITS,
    QUIVER,
    as_points,
    outer_labels,
    point_axes,
    scaled_arrows,
    style,
)
from .training import torch_threads
from .trajectories import Trajectories, record_trajectories

Range = tuple[float, float, float]  # (start, stop, step) as for np.arange
FIELD_GRID: Range = (-2.8, 2.81, 0.4)  # 15 x 15 arrows over the plotted square
ERROR_GRID: Range = (-3.0, 3.001, 0.1)  # 61 x 61 points for error maps
EPS_SCALE = 0.2  # blue arrows: eps_theta drawn at this fraction of its length
SAMPLER_NAMES = {False: "DDPM", True: "DDIM"}
CENTRES = "#c4c4c4"  # the noised data's centres behind field arrows
CENTRES_ON_MAP = "#1f9e89"  # ... and on top of error maps
ERROR_CMAP = "magma_r"


# --------------------------------------------------------------------------- recording and numbers


def record_pair(
    model,
    num_particles: int = 300,
    generator: torch.Generator | None = None,
    grid: Range = FIELD_GRID,
) -> dict[str, Trajectories]:
    """``{"DDPM": ..., "DDIM": ...}``: both samplers recorded from the *same* x_T ~ N(0, I).

    x_T is drawn from ``generator``, which then also draws DDPM's noise.
    """
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    with torch_threads(1):
        x_T = torch.randn(num_particles, 2, generator=generator)  # (N, 2)
        return {
            SAMPLER_NAMES[det]: record_trajectories(
                model, num_particles, det, generator, x_T=x_T, grid=(grid, grid)
            )
            for det in (False, True)
        }


def frame_of(traj: Trajectories, t: int) -> int:
    """The frame index k holding x_t (k = T - t); raises for t outside 0..T."""
    T = len(traj.paper_t) - 1
    if isinstance(t, bool) or not 0 <= int(t) <= T or int(t) != t:
        raise ValueError(f"t must be an integer time in 0..{T}, got {t!r}")
    return T - int(t)


def trajectory_stats(traj: Trajectories, data: object) -> dict[str, float]:
    """Per-particle means over one recorded run, all in data units.

    ``path_length``: distance travelled (sum of step lengths); ``net_move``: |x_0 - x_T|;
    ``drift_total`` / ``noise_total``: summed lengths of the deterministic moves and of the added
    noise; ``chamfer``: Chamfer distance of the final x_0 to ``data``.
    """
    pos = traj.positions.astype(np.float64)  # (T+1, N, 2)
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=-1)  # (T, N)
    final = torch.from_numpy(pos[-1])
    return {
        "path_length": float(steps.sum(0).mean()),
        "net_move": float(np.linalg.norm(pos[-1] - pos[0], axis=-1).mean()),
        "drift_total": float(np.linalg.norm(traj.drift, axis=-1).sum(0).mean()),
        "noise_total": float(np.linalg.norm(traj.added_noise, axis=-1).sum(0).mean()),
        "chamfer": chamfer_distance(final, torch.as_tensor(as_points("data", data))),
    }


def endpoint_distance(a: Trajectories, b: Trajectories) -> float:
    """Mean distance between the x_0 two runs reach from the same starting points."""
    if a.positions.shape != b.positions.shape:
        raise ValueError(f"runs differ in shape: {a.positions.shape} vs {b.positions.shape}")
    return float(np.linalg.norm(a.positions[-1] - b.positions[-1], axis=-1).mean())


# --------------------------------------------------------------------------- drawing particles


def _arrows(ax, points: np.ndarray, vectors: np.ndarray, kind: str, width: float = 0.004) -> None:
    ax.quiver(*points.T, *vectors.T, color=COLORS[kind], width=width, headwidth=3.5,
              headlength=4, zorder=4, **QUIVER)  # fmt: skip


def _draw_data(ax: plt.Axes, data: object) -> None:
    if data is not None:
        d = as_points("data", data)
        ax.scatter(d[:, 0], d[:, 1], s=4, color=COLORS["data"], alpha=0.3, zorder=1)


def draw_state(
    ax: plt.Axes,
    traj: Trajectories,
    t: int,
    data: object = None,
    num: int | None = None,
    tail: int = 0,
    field: bool = True,
    arrows: bool = True,
    point_size: float = 6.0,
) -> float | None:
    """Draw x_t of one run on ``ax``: the learned field of the step taken from x_t (purple), the
    first ``num`` particles (orange) with their paths over the last ``tail`` frames, and, with
    ``arrows``, their predicted noise (blue, times :data:`EPS_SCALE`) and added noise (red).
    Returns the field's arrow scale factor (None when no field is drawn)."""
    k = frame_of(traj, t)
    T = len(traj.paper_t) - 1
    n = traj.positions.shape[1] if num is None else min(num, traj.positions.shape[1])
    factor = None
    _draw_data(ax, data)
    if field and k < T:
        spacing = float(traj.grid_x[0, 1] - traj.grid_x[0, 0])
        vec, factor = scaled_arrows(traj.field[k].astype(np.float64), spacing)
        ax.quiver(traj.grid_x, traj.grid_y, vec[..., 0], vec[..., 1], color=COLORS["field"],
                  alpha=0.55, width=0.004, zorder=2, **QUIVER)  # fmt: skip
    if tail > 0 and k > 0:
        paths = np.swapaxes(traj.positions[max(0, k - tail) : k + 1, :n], 0, 1)  # (n, L, 2)
        ax.add_collection(
            LineCollection(paths, colors=COLORS["samples"], alpha=0.35, linewidths=0.7, zorder=3)
        )
    pts = traj.positions[k, :n]
    ax.scatter(pts[:, 0], pts[:, 1], s=point_size, color=COLORS["samples"], zorder=5)
    if arrows and k < T:
        _arrows(ax, pts, traj.eps_pred[k, :n] * EPS_SCALE, "pred_noise")
        if np.any(traj.added_noise[k, :n]):
            _arrows(ax, pts, traj.added_noise[k, :n], "noise")
    point_axes(ax, LIMITS)
    return factor


def _legend_handles(noise: bool = True, field: bool = True) -> list[Line2D]:
    handles = [
        Line2D([], [], ls="", marker="o", ms=4, color=COLORS["samples"], label="particles $x_t$"),
        Line2D(
            [],
            [],
            color=COLORS["pred_noise"],
            label=rf"predicted noise $\epsilon_\theta$ ×{EPS_SCALE:g}",
        ),  # fmt: skip
    ]
    if noise:
        handles.append(Line2D([], [], color=COLORS["noise"], label=r"added noise $\sigma_t z$"))
    if field:
        handles.append(Line2D([], [], color=COLORS["field"], label="learned field (rescaled)"))
    return handles


def step_figure(
    runs: Mapping[str, Trajectories],
    t: int,
    data: object = None,
    num: int = 40,
    tail: int = 4,
) -> plt.Figure:
    """One panel per run at time t: field, particles with short paths, blue and red arrows."""
    with style():
        fig, axes = plt.subplots(1, len(runs), figsize=(3.5 * len(runs), 4.0), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for ax, (name, traj) in zip(axes.flat, runs.items(), strict=True):
            factor = draw_state(ax, traj, t, data, num=num, tail=tail)
            scale = "" if factor is None else f" (field ×{factor:.2g})"
            ax.set_title(f"{name}, t = {t}{scale}")
        outer_labels(axes, len(runs))
        fig.legend(handles=_legend_handles(), loc="outside lower center", ncol=4, fontsize=7.5,
                   handlelength=1.4, columnspacing=1.0)  # fmt: skip
    return fig


def paths_figure(runs: Mapping[str, Trajectories], data: object = None, num: int = 80):
    """Whole paths from x_T (grey rings) to x_0 (orange dots), one panel per run, over the data."""
    with style():
        fig, axes = plt.subplots(1, len(runs), figsize=(3.4 * len(runs), 3.6), squeeze=False)
        for ax, (name, traj) in zip(axes.flat, runs.items(), strict=True):
            pos = traj.positions[:, :num]  # (T+1, n, 2)
            if data is not None:
                d = as_points("data", data)
                ax.scatter(d[:, 0], d[:, 1], s=5, color=COLORS["data"], alpha=0.45, zorder=1)
            ax.add_collection(LineCollection(np.swapaxes(pos, 0, 1), colors=COLORS["samples"],
                                             alpha=0.4, linewidths=0.6, zorder=2))  # fmt: skip
            ax.scatter(*pos[0].T, s=10, facecolors="none", edgecolors="#888888", linewidths=0.6,
                       zorder=3, label="start $x_T$")  # fmt: skip
            ax.scatter(*pos[-1].T, s=8, color=COLORS["samples"], zorder=4, label="end $x_0$")
            point_axes(ax, LIMITS)
            ax.set_title(name)
        outer_labels(axes, len(runs))
        axes.flat[0].legend(loc="lower left", handletextpad=0.1, borderaxespad=0.1)
        fig.tight_layout()
    return fig


def snapshot_grid(
    runs: Mapping[str, Trajectories],
    times: Sequence[int],
    data: object = None,
    num: int = 150,
    tail: int = 3,
    panel: float = 1.9,
) -> plt.Figure:
    """Rows: runs; columns: times t. Each panel shows the field at t and the particles x_t."""
    with style():
        fig, axes = plt.subplots(len(runs), len(times), squeeze=False, layout="constrained",
                                 figsize=(panel * len(times), panel * len(runs) + 0.4))  # fmt: skip
        for r, (name, traj) in enumerate(runs.items()):
            for c, t in enumerate(times):
                ax = axes[r, c]
                draw_state(ax, traj, t, data, num=num, tail=tail, arrows=False, point_size=3)
                ax.set_title(f"{name}, t = {t}", fontsize=8.5)
        outer_labels(axes, axes.size)
    return fig


def trajectory_gif(
    traj: Trajectories,
    path: str | Path,
    data: object = None,
    title: str | None = None,
    num: int = 40,
    tail: int = 5,
    every: int = 2,
    fps: float = 5,
    dpi: int = 80,
    size: float = animation.GIF_SIZE,
    colors: int = 64,
) -> Path:
    """A GIF of one run from t = T to 0, each frame drawn as :func:`draw_state` (field, particles,
    paths, blue and red arrows) for every ``every``-th frame and the last; written by
    :func:`animation.write_gif` with ``colors`` palette entries (fewer merge the thin red and blue
    arrows into brown). Returns the path."""
    T = len(traj.paper_t) - 1
    frames = list(range(0, T + 1, every))
    if frames[-1] != T:
        frames.append(T)  # always end on x_0
    with style():
        fig = Figure(figsize=(size, size), dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0.14, 0.12, 0.82, 0.79))
        _draw_data(ax, data)  # static: drawn once; only the particles' artists change per frame
        static = len(ax.collections)
        images = []
        for k in frames:
            for artist in ax.collections[static:]:
                artist.remove()
            draw_state(ax, traj, T - k, None, num=num, tail=tail, point_size=4)
            ax.set_title(f"{title + ', ' if title else ''}t = {T - k}", fontsize=9)
            canvas.draw()
            images.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    return animation.write_gif(images, path, fps=fps, colors=colors)


# --------------------------------------------------------------------------- learned vs exact


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
    gx, gy = np.meshgrid(np.arange(*grid), np.arange(*grid))  # (ny, nx)
    pts = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).float()  # (G, 2)
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


def _minus_eps_panel(ax, gx, gy, vec, centres, color) -> None:
    ax.scatter(centres[:, 0], centres[:, 1], s=3, color=CENTRES, zorder=1)
    ax.quiver(gx, gy, vec[..., 0], vec[..., 1], color=color, width=0.005, zorder=2, **QUIVER)
    point_axes(ax, LIMITS)


def field_comparison_figure(comp: FieldComparison, panel: float = 2.3) -> plt.Figure:
    """Rows: exact E[eps|x_t] (dark grey) and learned eps_theta (blue), drawn as -eps (the way
    sampling moves a point), over the centres sqrt(alpha_bar_t) x0_i (light); columns: times.
    Both rows of a column share one arrow scale (:func:`plotting.scaled_arrows`)."""
    spacing = float(comp.grid_x[0, 1] - comp.grid_x[0, 0])
    S = len(comp.times)
    rows = ((r"exact $-E[\epsilon\,|\,x_t]$", COLORS["data"]),
            (r"learned $-\epsilon_\theta$", COLORS["pred_noise"]))  # fmt: skip
    with style():
        fig, axes = plt.subplots(2, S, figsize=(panel * S, 2 * panel + 0.4), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for c in range(S):
            both, factor = scaled_arrows(-np.stack([comp.exact[c], comp.learned[c]]), spacing)
            for r, (label, color) in enumerate(rows):
                ax = axes[r, c]
                _minus_eps_panel(ax, comp.grid_x, comp.grid_y, both[r], comp.centres[c], color)
                ax.set_title(f"{label}, t = {comp.times[c]}", fontsize=8.5)
            axes[1, c].set_xlabel(f"$x_1$   (arrows ×{factor:.2g})")
        outer_labels(axes, axes.size)
    return fig


def error_map_figure(comp: FieldComparison, panel: float = 2.3, vmin: float = 1e-3):
    """log-coloured |eps_theta - E[eps|x_t]|^2 over the grid, one panel per time, with the
    centres sqrt(alpha_bar_t) x0_i on top; one colour scale for all panels."""
    err = np.maximum(comp.sq_error, vmin)
    norm = LogNorm(vmin=vmin, vmax=max(float(err.max()), 10 * vmin))
    S = len(comp.times)
    extent = (comp.grid_x.min(), comp.grid_x.max(), comp.grid_y.min(), comp.grid_y.max())
    with style():
        fig, axes = plt.subplots(1, S, figsize=(panel * S + 0.6, panel + 0.3), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for c in range(S):
            ax = axes[0, c]
            im = ax.imshow(err[c], origin="lower", extent=extent, norm=norm, cmap=ERROR_CMAP,
                           interpolation="nearest")  # fmt: skip
            ax.scatter(*comp.centres[c].T, s=2, color=CENTRES_ON_MAP, zorder=2)
            point_axes(ax, LIMITS)
            ax.grid(False)
            ax.set_title(f"t = {comp.times[c]}", fontsize=8.5)
        outer_labels(axes, S)
        fig.colorbar(im, ax=axes, shrink=0.85, label="squared error")
    return fig


def error_heatmap_figure(comp: FieldComparison, edges: Sequence[float], vmin: float = 1e-3):
    """Mean |eps_theta - E[eps|x_t]|^2 over (distance to the nearest centre, t), log colour."""
    table, _ = error_by_distance(comp, edges)
    edges = np.asarray(edges, dtype=float)
    t = comp.times
    t_edges = np.r_[t[0] - 0.5, (t[1:] + t[:-1]) / 2, t[-1] + 0.5]
    with style():
        fig, ax = plt.subplots(figsize=(5.2, 3.2))
        norm = LogNorm(vmin=vmin, vmax=max(np.nanmax(table), 10 * vmin))
        mesh = ax.pcolormesh(edges, t_edges, np.maximum(table, vmin), cmap=ERROR_CMAP, norm=norm)
        ax.set_xlabel(r"distance from $x_t$ to the nearest $\sqrt{\bar\alpha_t}\,x_0^{(i)}$")
        ax.set_ylabel("time $t$")
        ax.grid(False)
        fig.colorbar(mesh, ax=ax, label="mean squared error")
        fig.tight_layout()
    return fig


def loss_by_step_figure(
    losses: Mapping[str, Mapping[str, np.ndarray]], colors: Mapping[str, str] | None = None
) -> plt.Figure:
    """One panel per point set (e.g. training, held-out), one line per model: L_simple per t.
    ``colors`` maps a model name to a colour (default: learned blue, others dark grey)."""
    colors = dict(colors or {})
    with style():
        fig, axes = plt.subplots(1, len(losses), figsize=(3.5 * len(losses), 3.0), sharey=True,
                                 squeeze=False)  # fmt: skip
        for ax, (title, per_model) in zip(axes.flat, losses.items(), strict=True):
            for i, (name, values) in enumerate(per_model.items()):
                t = np.arange(1, len(values) + 1)
                color = colors.get(name, COLORS["pred_noise"] if i == 0 else COLORS["data"])
                ax.plot(t, values, ["-", "--", ":"][i % 3], color=color, label=name)
            ax.set_yscale("log")
            ax.set_xlabel("time $t$")
            ax.set_title(title)
        axes.flat[0].set_ylabel(r"$L_\mathrm{simple}$ at $t$")
        axes.flat[0].legend()
        fig.tight_layout()
    return fig
