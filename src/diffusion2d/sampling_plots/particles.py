"""Sampling seen as particles (chapter 06): both samplers from one x_T, their numbers, figures.

Scope: :func:`record_pair` (DDPM and DDIM via :func:`diffusion2d.trajectories.record_trajectories`,
on one torch thread), the frame of a paper time t (:func:`frame_of`), per-run means
(:func:`trajectory_stats`, :func:`endpoint_distance`), and the drawings: :func:`draw_state` (the
learned field of the step taken from x_t, particles with their recent paths, predicted noise in
blue times :data:`EPS_SCALE`, added noise in red) and the figures and GIFs built from it.
Conventions and colours as in :mod:`diffusion2d.sampling_plots`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .. import animation
from ..metrics import chamfer_distance
from ..plotting import (
    COLORS,
    LIMITS,
    QUIVER,
    as_points,
    outer_labels,
    point_axes,
    scaled_arrows,
    style,
)
from ..training import torch_threads
from ..trajectories import Trajectories, record_trajectories

Range = tuple[float, float, float]  # (start, stop, step) as for np.arange
FIELD_GRID: Range = (-2.8, 2.81, 0.4)  # 15 x 15 arrows over the plotted square
EPS_SCALE = 0.2  # blue arrows: eps_theta drawn at this fraction of its length
SAMPLER_NAMES = {False: "DDPM", True: "DDIM"}


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
    noise; ``noise_net``: length of the *sum* of the added noise vectors, how far the noise
    alone would have carried a particle; ``chamfer``: Chamfer distance of the final x_0 to
    ``data`` (of these particles only, not the protocol's measure).
    """
    pos = traj.positions.astype(np.float64)  # (T+1, N, 2)
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=-1)  # (T, N)
    noise = traj.added_noise.astype(np.float64)  # (T, N, 2)
    final = torch.from_numpy(pos[-1])
    return {
        "path_length": float(steps.sum(0).mean()),
        "net_move": float(np.linalg.norm(pos[-1] - pos[0], axis=-1).mean()),
        "drift_total": float(np.linalg.norm(traj.drift, axis=-1).sum(0).mean()),
        "noise_total": float(np.linalg.norm(traj.added_noise, axis=-1).sum(0).mean()),
        "noise_net": float(np.linalg.norm(noise.sum(0), axis=-1).mean()),
        "chamfer": chamfer_distance(final, torch.as_tensor(as_points("data", data))),
    }


def noise_walk(betas: torch.Tensor) -> dict[str, float]:
    """What DDPM's added noise does on its own, as a random walk in 2-D: steps sigma_t z_t with
    sigma_t^2 = beta_t at every step but the last (Algorithm 2), independent z_t ~ N(0, I).

    ``sum_sigma`` = sum of sigma_t; ``root_sum_sq`` = sqrt(sum of sigma_t^2). The expected summed
    step length is ``noise_total`` = sqrt(pi/2) sum sigma_t (E|z| = sqrt(pi/2) in 2-D); the sum
    of the steps is N(0, sum sigma_t^2 I), so its expected length, ``noise_net``, is only
    sqrt(pi/2) sqrt(sum sigma_t^2): the steps mostly cancel.
    """
    b = torch.as_tensor(betas, dtype=torch.float64)
    if b.ndim != 1 or len(b) < 1 or bool((b < 0).any()):
        raise ValueError(f"betas must be a non-negative 1-D schedule, got shape {tuple(b.shape)}")
    sigma = b[1:].sqrt()  # no noise at the last step, 0-based t = 0
    c = float(np.sqrt(np.pi / 2))
    sum_sigma, root = float(sigma.sum()), float(sigma.pow(2).sum().sqrt())
    return {"sum_sigma": sum_sigma, "root_sum_sq": root, "noise_total": c * sum_sigma,
            "noise_net": c * root}  # fmt: skip


STAT_LABELS = {
    "path_length": "distance travelled (mean path length)",
    "net_move": "net displacement ‖x₀ − x_T‖",
    "drift_total": "summed length of the deterministic moves",
    "noise_total": "summed length of the added noise",
    "noise_net": "length of the summed added noise",
}


def stats_table(stats: Mapping[str, Mapping[str, float]], decimals: int = 2) -> pd.DataFrame:
    """The path measures of :func:`trajectory_stats` (one column per run, e.g. ``"DDPM"``), one
    row per measure of :data:`STAT_LABELS`, rounded to ``decimals``."""
    return pd.DataFrame(
        {name: [round(float(s[k]), decimals) for k in STAT_LABELS] for name, s in stats.items()},
        index=list(STAT_LABELS.values()),
    )


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
