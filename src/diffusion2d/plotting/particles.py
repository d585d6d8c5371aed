"""Sampling seen as particles (chapter 06): both samplers from one x_T, their numbers, figures.

Scope: :func:`record_pair` (DDPM and DDIM via :func:`diffusion2d.trajectories.record_trajectories`,
on one torch thread), the frame of a paper time t (:func:`frame_of`), per-run means
(:func:`trajectory_stats`, :func:`endpoint_distance`), and the drawings: :func:`draw_state` (the
learned field of the step taken from x_t, particles with their recent paths, predicted noise
(dashed) times :data:`EPS_SCALE`, added noise (solid)), and :func:`sampling_video`, the samplers
side by side as one animation.
Conventions and colours as in :mod:`diffusion2d.plotting`.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from ..metrics import chamfer_distance
from ..trajectories import Trajectories, record_trajectories
from ..utils import torch_threads
from . import animation, video
from .points import LIMITS, as_points, draw_data, point_axes, scaled_arrows
from .points import arrows as draw_arrows
from .style import COLORS, COLUMN_WIDTH, QUIVER
from .video import Video

Range = tuple[float, float, float]  # (start, stop, step) as for np.arange
FIELD_GRID: Range = (-2.8, 2.81, 0.4)  # 15 x 15 arrows over the plotted square
EPS_SCALE = 0.2  # predicted-noise arrows: eps_theta drawn at this fraction of its length
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


def _arrows(ax, points: np.ndarray, vectors: np.ndarray, kind: str, width: float = 0.005) -> None:
    draw_arrows(ax, points, vectors, kind, width)  # by meaning: colour and line style


def _draw_data(ax: plt.Axes, data: object, side: float = 3.4) -> None:
    if data is not None:
        draw_data(ax, data, side)  # grey dots beneath, as in every figure of the book


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
    """Draw x_t of one run on ``ax``: the learned field of the step taken from x_t (thin
    arrows), the first ``num`` particles (dots) with their paths over the last ``tail`` frames,
    and, with ``arrows``, their predicted noise (dashed, times :data:`EPS_SCALE`) and added
    noise (solid), each in its colour of :data:`plotting.COLORS`; the data as grey dots.
    Returns the field's arrow scale factor (None when no field is drawn)."""
    k = frame_of(traj, t)
    T = len(traj.paper_t) - 1
    n = traj.positions.shape[1] if num is None else min(num, traj.positions.shape[1])
    factor = None
    _draw_data(ax, data, side=2.0 if point_size < 5 else 3.4)
    if field and k < T:
        spacing = float(traj.grid_x[0, 1] - traj.grid_x[0, 0])
        vec, factor = scaled_arrows(traj.field[k].astype(np.float64), spacing)
        ax.quiver(traj.grid_x, traj.grid_y, vec[..., 0], vec[..., 1], color=COLORS["field"],
                  alpha=0.55, width=0.004, zorder=2, **QUIVER)  # fmt: skip
    if tail > 0 and k > 0:
        paths = np.swapaxes(traj.positions[max(0, k - tail) : k + 1, :n], 0, 1)  # (n, L, 2)
        ax.add_collection(
            LineCollection(paths, colors=COLORS["samples"], alpha=0.6, linewidths=1.0, zorder=3)
        )
    pts = traj.positions[k, :n]
    ax.scatter(pts[:, 0], pts[:, 1], s=point_size, color=COLORS["samples"], zorder=5)
    if arrows and k < T:
        _arrows(ax, pts, traj.eps_pred[k, :n] * EPS_SCALE, "pred_noise")
        if np.any(traj.added_noise[k, :n]):
            _arrows(ax, pts, traj.added_noise[k, :n], "noise")
    point_axes(ax, LIMITS)
    return factor


def sampling_video(
    runs: Mapping[str, Trajectories],
    data: object = None,
    num: int = 40,
    tail: int = 4,
    every: int = 2,
    timing: animation.Timing = animation.Timing(step=0.3, slow_last=10, slow_step=0.3),  # noqa: B008
    width: float = COLUMN_WIDTH,
) -> Video:
    """One animation of several runs side by side (e.g. DDPM and DDIM from the same x_T), from
    t = T to 0: every ``every``-th step at first, then each of the last ``timing.slow_last``
    steps. All panels share their limits, each drawn as :func:`draw_state` (learned field, the
    first ``num`` particles with their last ``tail`` moves, predicted and added noise) over the
    data; one legend above the panels (the video's controls cover the bottom while paused). The
    first frame (x_T) and the last (x_0) are held, as ``timing`` says."""
    from .particle_figures import _legend_handles  # that module imports this one

    lengths = {name: len(traj.paper_t) for name, traj in runs.items()}
    if not runs or len(set(lengths.values())) != 1:
        raise ValueError(f"runs must be recordings with the same number of steps, got {lengths}")
    T = next(iter(lengths.values())) - 1
    ks = animation.pick(T + 1, every, timing.slow_last)  # frame k holds x_t, t = T - k
    side = (width - 0.6) / len(runs)
    size = (width, round((side + 1.1) * 100) / 100)

    def setup(fig: Figure):
        fig.set_layout_engine("constrained", w_pad=0.08)
        axes = fig.subplots(1, len(runs), squeeze=False)[0]
        for ax, name in zip(axes, runs, strict=True):
            _draw_data(ax, data, side)
            point_axes(ax, LIMITS)
            ax.set_title(f"{name}, t = {T}")  # room for the titles of the frames
        for ax in axes[1:]:
            ax.tick_params(labelleft=False)
            ax.set_ylabel("")
        fig.legend(handles=_legend_handles(tail=tail), loc="outside upper center", ncols=3,
                   handlelength=2.0, columnspacing=1.2)  # fmt: skip

        def draw(j: int) -> None:
            k = ks[j]
            for ax, (name, traj) in zip(axes, runs.items(), strict=True):
                draw_state(ax, traj, T - k, None, num=num, tail=tail, point_size=9)
                ax.set_title(f"{name}, t = {T - k}")

        return draw

    return video.encode(animation.render(setup, len(ks), size), timing.durations(len(ks)))
