"""The particle figures of chapter 06: one step, whole paths, snapshots along the way.

Scope: figures only, drawn with :func:`particles.draw_state` in the book's style
(:mod:`diffusion2d.plotting`): the data as grey dots, particles as blue dots, predicted noise as
dashed arrows, added noise as solid arrows, the learned field as thin arrows, each meaning in its
colour and named in a legend. Every figure fits the text column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from ..trajectories import Trajectories
from .particles import EPS_SCALE, _draw_data, draw_state
from .points import LIMITS, outer_labels, panel_grid, point_axes
from .style import COLORS, COLUMN_WIDTH, CUES, NEUTRALS, style


def _legend_handles(noise: bool = True, field: bool = True, eps: bool = True,
                    tail: int = 0) -> list[Line2D]:  # fmt: skip
    """Legend entries by meaning, each with its colour and second cue (marker or line style)."""
    handles = [Line2D([], [], ls="", marker="o", ms=4, color=COLORS["samples"],
                      label="particles $x_t$")]  # fmt: skip
    if tail:
        handles.append(Line2D([], [], color=COLORS["samples"], alpha=0.6, lw=1.0,
                              label=f"last {tail} moves"))  # fmt: skip
    eps_label = rf"predicted noise $\epsilon_\theta$ ×{EPS_SCALE:g}"
    if eps:
        handles.append(Line2D([], [], color=COLORS["pred_noise"], lw=1.2,
                              ls=CUES["pred_noise"]["linestyle"], label=eps_label))  # fmt: skip
    if noise:
        handles.append(Line2D([], [], color=COLORS["noise"], lw=2.0, ls=CUES["noise"]["linestyle"],
                              label=r"added noise $\sigma_t z$"))  # fmt: skip
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
    """One panel per run at time t: learned field, particles with their last ``tail`` moves,
    predicted noise (dashed arrows) and added noise (solid arrows), over the data; one legend."""
    with style():
        side = (COLUMN_WIDTH - 0.6) / len(runs)
        fig, axes = plt.subplots(1, len(runs), figsize=(COLUMN_WIDTH, side + 1.3), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for ax, (name, traj) in zip(axes.flat, runs.items(), strict=True):
            factor = draw_state(ax, traj, t, data, num=num, tail=tail)
            scale = "" if factor is None else f" (field ×{factor:.2g})"
            ax.set_title(f"{name}, t = {t}{scale}")
        outer_labels(axes, len(runs))
        fig.legend(handles=_legend_handles(tail=tail), loc="outside lower center", ncols=3,
                   handlelength=2.0, columnspacing=1.2)  # fmt: skip
    return fig


def paths_figure(runs: Mapping[str, Trajectories], data: object = None, num: int = 80):
    """Whole paths from x_T (open black circles) to x_0 (blue dots), one panel per run, over
    the data (grey dots); one legend under the panels."""
    with style():
        side = (COLUMN_WIDTH - 0.6) / len(runs)
        fig, axes = plt.subplots(1, len(runs), figsize=(COLUMN_WIDTH, side + 1.0), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for ax, (name, traj) in zip(axes.flat, runs.items(), strict=True):
            pos = traj.positions[:, :num]  # (T+1, n, 2)
            _draw_data(ax, data, side)
            ax.add_collection(LineCollection(np.swapaxes(pos, 0, 1), colors=COLORS["samples"],
                                             alpha=0.45, linewidths=0.7, zorder=2))  # fmt: skip
            ax.scatter(*pos[0].T, s=14, facecolors="none", edgecolors=NEUTRALS["text"],
                       linewidths=0.7, zorder=3)  # fmt: skip
            ax.scatter(*pos[-1].T, s=10, color=COLORS["samples"], zorder=4)
            point_axes(ax, LIMITS)
            ax.set_title(name)
        outer_labels(axes, len(runs))
        handles = [
            Line2D([], [], ls="", marker="o", ms=4, color=NEUTRALS["text"], mfc="none",
                   label="start $x_T$"),
            Line2D([], [], color=COLORS["samples"], alpha=0.6, lw=1.0, label="path"),
            Line2D([], [], ls="", marker="o", ms=4, color=COLORS["samples"], label="end $x_0$"),
        ]  # fmt: skip
        if data is not None:
            handles.append(Line2D([], [], ls="", marker="o", ms=4, color=COLORS["data"],
                                  label="data"))  # fmt: skip
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return fig


def snapshot_grid(
    runs: Mapping[str, Trajectories],
    times: Sequence[int],
    data: object = None,
    num: int = 150,
    tail: int = 3,
    ncols: int = 3,
) -> plt.Figure:
    """Each run in a block of rows (``ncols`` times per row, in order), each panel the learned
    field at t, the particles x_t and their last ``tail`` moves; one legend under the grid.
    Panels are as large as the column allows."""
    ncols = max(1, min(ncols, len(times)))
    per_run = -(-len(times) // ncols)  # rows per run
    with style():
        fig, axes, side = panel_grid(len(runs) * per_run * ncols, ncols, COLUMN_WIDTH, panel=2.3)
        fig.set_size_inches(fig.get_size_inches() + (0, 0.4))  # room for the legend
        for r, (name, traj) in enumerate(runs.items()):
            for i in range(per_run * ncols):
                ax = axes[r * per_run + i // ncols, i % ncols]
                if i >= len(times):
                    ax.set_visible(False)
                    continue
                t = times[i]
                draw_state(ax, traj, t, data, num=num, tail=tail, arrows=False, point_size=4)
                ax.set_title(f"{name}, t = {t}")
        _outer_labels_with_gaps(axes)
        fig.legend(handles=_legend_handles(noise=False, eps=False, tail=tail),
                   loc="outside lower center", ncols=3)  # fmt: skip
    return fig


def _outer_labels_with_gaps(axes: np.ndarray) -> None:
    """Tick labels only on the left column and on the lowest visible panel of each column."""
    nrows, ncols = axes.shape
    for r in range(nrows):
        for c in range(ncols):
            ax = axes[r, c]
            if not ax.get_visible():
                continue
            if c:
                ax.tick_params(labelleft=False)
                ax.set_ylabel("")
            if r + 1 < nrows and axes[r + 1, c].get_visible():
                ax.tick_params(labelbottom=False)
                ax.set_xlabel("")
