"""The learned noise field next to the exact one (chapter 07), from an
:class:`evaluation.FieldComparison`: -eps (or the score) as arrows, the squared error over the
plane, and the error against the distance to the data and the time; the score's size and error by
t (:func:`evaluation.score_by_step`, the scores chapter).

Scope: matplotlib only. Errors are log-coloured (one scale per figure) from :data:`VMIN` up.
"""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.ticker import NullLocator

from ..evaluation import FieldComparison, error_by_distance
from .curves import plain_log
from .points import draw_data, outer_labels, point_axes, point_size, scaled_arrows
from .style import COLORS, CUES, FULL_WIDTH, QUIVER, RUNS, fit, style

VMIN = 1e-3  # the smallest squared error told apart on the log colour scale


def field_comparison_figure(comp: FieldComparison, score: bool = False) -> plt.Figure:
    """Rows: exact E[eps|x_t] (black) and learned eps_theta (green) as -eps arrows over the
    centres (``score``: the scores -eps / sqrt(1 - alpha_bar_t), whose arrow scale shows their
    size); a column per time at one arrow scale (:func:`points.scaled_arrows`). Full width."""
    spacing = float(comp.grid_x[0, 1] - comp.grid_x[0, 0])
    S = len(comp.times)
    side = (FULL_WIDTH - 0.9) / S
    if score and comp.alpha_bars is None:
        raise ValueError("score=True needs comp.alpha_bars (from evaluation.compare_fields)")
    scale = 1 / np.sqrt(1 - comp.alpha_bars) if score else np.ones(S)  # (S,)
    rows = ((r"exact $\nabla \log q(x_t)$" if score else r"exact $-E[\epsilon\,|\,x_t]$",
             COLORS["exact"]),
            (r"learned $s_\theta$" if score else r"learned $-\epsilon_\theta$",
             COLORS["pred_noise"]))  # fmt: skip
    with style():
        fig, axes = plt.subplots(2, S, figsize=(FULL_WIDTH, 2 * side + 0.9), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for c in range(S):
            both, factor = scaled_arrows(-scale[c] * np.stack([comp.exact[c], comp.learned[c]]),
                                         spacing)  # fmt: skip
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


def score_by_step_figure(table: pd.DataFrame) -> plt.Figure:
    """From :func:`evaluation.score_by_step`, against t, log y: the RMS length of the exact and
    the learned score under q(x_t) with the bound sqrt(2 / (1 - alpha_bar_t)); the learned score's
    relative error under q(x_t) and on the grid; the distance from Tweedie's E[x_0 | x_t], exact
    and learned, to the nearest data point. Log t axes. Full width."""
    t = table.index.to_numpy()
    exact = {"color": COLORS["exact"], "linestyle": CUES["exact"]["linestyle"], "lw": 2.0,
             "label": "exact"}  # fmt: skip
    learned = {"color": COLORS["pred_noise"], "linestyle": CUES["pred_noise"]["linestyle"],
               "label": "learned"}  # fmt: skip
    with style():
        fig, (size, error, x0) = plt.subplots(1, 3, figsize=(FULL_WIDTH, 3.0),
                                              layout="constrained")  # fmt: skip
        size.plot(t, table["bound"], "-", color=COLORS["data"], lw=2.4,
                  label=r"bound $\sqrt{2/(1-\bar\alpha_t)}$")
        size.plot(t, table["exact_rms"], **exact)
        size.plot(t, table["model_rms"], **learned)
        size.set(title="size of the score (RMS)")
        for (column, label), run in zip((("relative_q", r"under $q(x_t)$"),
                                         ("relative_grid", "on the grid")), RUNS, strict=False):
            error.plot(t, table[column], "-", markevery=0.08, label=label, **run)
        error.set(title=r"relative error of $s_\theta$")
        x0.plot(t, table["x0_exact"], **exact)
        x0.plot(t, table["x0_model"], **learned)
        x0.set(title=r"$E[x_0\,|\,x_t]$ to the nearest point")
        ticks = [k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if k <= t[-1]]
        for ax in (size, error, x0):
            plain_log(ax)
            ax.set_xscale("log")  # the score changes fastest at small t
            ax.set_xticks(ticks, [str(k) for k in ticks])
            ax.xaxis.set_minor_locator(NullLocator())
            ax.set_xlabel("time $t$")
            ax.legend()
    return fit(fig)
