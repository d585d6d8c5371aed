"""The learned noise field next to the exact one (chapter 07), from an
:class:`evaluation.FieldComparison`: -eps as arrows, the squared error over the plane, and the
error against the distance to the data and the time.

Scope: matplotlib only. Errors are log-coloured (one scale per figure) from :data:`VMIN` up.
"""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm

from ..evaluation import FieldComparison, error_by_distance
from .points import draw_data, outer_labels, point_axes, point_size, scaled_arrows
from .style import COLORS, FULL_WIDTH, QUIVER, fit, style

VMIN = 1e-3  # the smallest squared error told apart on the log colour scale


def field_comparison_figure(comp: FieldComparison) -> plt.Figure:
    """Rows: exact E[eps|x_t] (black) and learned eps_theta (green) as -eps arrows over the
    centres; a column per time at one arrow scale (:func:`points.scaled_arrows`). Full width."""
    spacing = float(comp.grid_x[0, 1] - comp.grid_x[0, 0])
    S = len(comp.times)
    side = (FULL_WIDTH - 0.9) / S
    rows = ((r"exact $-E[\epsilon\,|\,x_t]$", COLORS["exact"]),
            (r"learned $-\epsilon_\theta$", COLORS["pred_noise"]))  # fmt: skip
    with style():
        fig, axes = plt.subplots(2, S, figsize=(FULL_WIDTH, 2 * side + 0.9), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for c in range(S):
            both, factor = scaled_arrows(-np.stack([comp.exact[c], comp.learned[c]]), spacing)
            for ax, vec, (label, color) in zip(axes[:, c], both, rows, strict=True):
                draw_data(ax, comp.centres[c], side)
                ax.quiver(comp.grid_x, comp.grid_y, vec[..., 0], vec[..., 1], color=color,
                          width=0.006, zorder=2, **QUIVER)  # fmt: skip
                point_axes(ax)
                ax.set_ylabel(f"{label}\n$x_2$")  # outer_labels keeps the left column's
            axes[0, c].set_title(f"t = {comp.times[c]}, arrows ×{factor:.2g}")
        outer_labels(axes)
    return fit(fig)


def error_map_figure(comp: FieldComparison) -> plt.Figure:
    """|eps_theta - E[eps|x_t]|^2 over the grid, one panel per time, the centres on top; one
    colour scale for all panels. Full width."""
    err = np.maximum(comp.sq_error, VMIN)
    norm = LogNorm(vmin=VMIN, vmax=max(float(err.max()), 10 * VMIN))
    S = len(comp.times)
    side = (FULL_WIDTH - 1.5) / S
    extent = (comp.grid_x.min(), comp.grid_x.max(), comp.grid_y.min(), comp.grid_y.max())
    with style():
        fig, axes = plt.subplots(1, S, figsize=(FULL_WIDTH, side + 0.85), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for c, ax in enumerate(axes[0]):
            im = ax.imshow(err[c], origin="lower", extent=extent, norm=norm, cmap="magma_r",
                           interpolation="nearest")  # fmt: skip
            ax.scatter(*comp.centres[c].T, s=point_size("data", side), color=COLORS["centres"],
                       zorder=2, linewidths=0)  # fmt: skip
            point_axes(ax)
            ax.grid(False)
            ax.set_title(f"t = {comp.times[c]}")
        outer_labels(axes)
        fig.colorbar(im, ax=axes, shrink=0.9, label="squared error")
    return fit(fig)


def error_heatmap_figure(comp: FieldComparison, edges: Sequence[float]) -> plt.Figure:
    """Mean |eps_theta - E[eps|x_t]|^2 over (distance to the nearest centre, t), log colour."""
    table, _ = error_by_distance(comp, edges)
    t = comp.times
    t_edges = np.r_[t[0] - 0.5, (t[1:] + t[:-1]) / 2, t[-1] + 0.5]
    with style():
        fig, ax = plt.subplots(figsize=(5.6, 3.4), layout="constrained")
        norm = LogNorm(vmin=VMIN, vmax=max(np.nanmax(table), 10 * VMIN))
        mesh = ax.pcolormesh(np.asarray(edges, dtype=float), t_edges, np.maximum(table, VMIN),
                             cmap="magma_r", norm=norm)  # fmt: skip
        ax.set_xlabel(r"distance from $x_t$ to the nearest $\sqrt{\bar\alpha_t}\,x_0^{(i)}$")
        ax.set_ylabel("time $t$")
        ax.grid(False)
        fig.colorbar(mesh, ax=ax, label="mean squared error")
    return fig
