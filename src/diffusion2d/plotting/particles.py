"""Sampling seen as particles (chapter 06): one step, whole paths, snapshots, a video; the paths
of several samplers from the same x_T overlaid (:func:`paths_overlay`, probability flow).

Scope: drawing only, of runs recorded by :func:`trajectories.record_pair`; :func:`draw_state`
draws x_t of one run: the learned field, the particles and their recent paths, their predicted
(times :data:`EPS_SCALE`) and added noise, each meaning in its colour and named in a legend.
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from ..trajectories import Trajectories, frame_of
from . import animation, video
from .points import arrows, draw_data, draw_quiver, legend_dot, outer_labels, panel_grid, point_axes
from .points import as_points as points_of
from .quality import SAMPLER_STYLES
from .style import COLORS, COLUMN_WIDTH, CUES, NEUTRALS, style

EPS_SCALE = 0.2  # predicted-noise arrows: eps_theta drawn at this fraction of its length


def draw_state(ax: plt.Axes, traj: Trajectories, t: int, data: object = None,
               num: int | None = None, tail: int = 0, eps: bool = True,
               dot: float = 6.0) -> float | None:  # fmt: skip
    """x_t of one run over the data: the learned field of the step from x_t, the first ``num``
    particles, their last ``tail`` moves and (``eps``) noise arrows; the field's arrow scale."""
    k = frame_of(traj, t)
    factor = None
    draw_data(ax, data, side=2.0 if dot < 5 else 3.4)
    if k < len(traj.field):  # a step is left from x_t
        spacing = float(traj.grid_x[0, 1] - traj.grid_x[0, 0])
        factor = draw_quiver(ax, traj.grid_x, traj.grid_y, traj.field[k], spacing, alpha=0.55,
                             width=0.004)  # fmt: skip
    if tail > 0 and k > 0:
        paths = np.swapaxes(traj.positions[max(0, k - tail) : k + 1, :num], 0, 1)  # (n, L, 2)
        ax.add_collection(LineCollection(paths, colors=COLORS["samples"], alpha=0.6,
                                         linewidths=1.0, zorder=3))  # fmt: skip
    pts = traj.positions[k, :num]
    ax.scatter(pts[:, 0], pts[:, 1], s=dot, color=COLORS["samples"], zorder=5)
    if eps and k < len(traj.field):
        arrows(ax, pts, traj.eps_pred[k, :num] * EPS_SCALE, "pred_noise")
        arrows(ax, pts, traj.added_noise[k, :num], "noise")  # none for DDIM: nothing drawn
    point_axes(ax)
    return factor


def _legend(fig: plt.Figure, tail: int, eps: bool = True, **kw) -> None:
    """The legend of what :func:`draw_state` draws, each meaning with its second cue."""
    handles = [legend_dot("particles $x_t$", COLORS["samples"])]
    if tail:
        handles.append(Line2D([], [], color=COLORS["samples"], alpha=0.6, lw=1.0,
                              label=f"last {tail} moves"))  # fmt: skip
    if eps:
        handles += [
            Line2D([], [], color=COLORS["pred_noise"], lw=1.2, ls=CUES["pred_noise"]["linestyle"],
                   label=rf"predicted noise $\epsilon_\theta$ ×{EPS_SCALE:g}"),
            Line2D([], [], color=COLORS["noise"], lw=2.0, ls=CUES["noise"]["linestyle"],
                   label=r"added noise $\sigma_t z$"),
        ]  # fmt: skip
    handles.append(Line2D([], [], color=COLORS["field"], label="learned field (rescaled)"))
    fig.legend(handles=handles, ncols=3, **kw)


def _row(n: int, height: float):
    side = (COLUMN_WIDTH - 0.6) / n
    fig, axes = plt.subplots(1, n, figsize=(COLUMN_WIDTH, side + height), squeeze=False,
                             layout="constrained")  # fmt: skip
    return fig, axes, side


def step_figure(runs: Mapping[str, Trajectories], t: int, data: object = None, num: int = 40,
                tail: int = 4) -> plt.Figure:  # fmt: skip
    """One panel per run at time t, drawn by :func:`draw_state` over the data; one legend."""
    with style():
        fig, axes, _ = _row(len(runs), 1.3)
        for ax, (name, traj) in zip(axes.flat, runs.items(), strict=True):
            factor = draw_state(ax, traj, t, data, num=num, tail=tail)
            ax.set_title(f"{name}, t = {t}" + ("" if factor is None else f" (field ×{factor:.2g})"))
        outer_labels(axes)
        _legend(fig, tail, loc="outside lower center", columnspacing=1.2)
    return fig


def paths_figure(runs: Mapping[str, Trajectories], data: object = None, num: int = 80):
    """Whole paths from x_T (open black circles) to x_0 (blue dots), a panel per run, over data."""
    with style():
        fig, axes, side = _row(len(runs), 1.0)
        for ax, (name, traj) in zip(axes.flat, runs.items(), strict=True):
            pos = traj.positions[:, :num]  # (T+1, n, 2)
            draw_data(ax, data, side)
            ax.add_collection(LineCollection(np.swapaxes(pos, 0, 1), colors=COLORS["samples"],
                                             alpha=0.45, linewidths=0.7, zorder=2))  # fmt: skip
            ax.scatter(*pos[0].T, s=14, facecolors="none", edgecolors=NEUTRALS["text"],
                       linewidths=0.7, zorder=3)  # fmt: skip
            ax.scatter(*pos[-1].T, s=10, color=COLORS["samples"], zorder=4)
            point_axes(ax)
            ax.set_title(name)
        outer_labels(axes)
        handles = [legend_dot("start $x_T$", NEUTRALS["text"], mfc="none"),
                   Line2D([], [], color=COLORS["samples"], alpha=0.6, lw=1.0, label="path"),
                   legend_dot("end $x_0$", COLORS["samples"])]  # fmt: skip
        if data is not None:
            handles.append(legend_dot("data", COLORS["data"]))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    return fig


def paths_overlay(panels: Mapping[str, Mapping[str, Sequence]], data: object = None,
                  num: int = 12) -> plt.Figure:  # fmt: skip
    """A panel per entry of ``panels`` (title: runs): the paths of the first ``num`` particles of
    each run (x_T, ..., x_0, each (N, 2), all from the same x_T) in its sampler's style
    (:data:`quality.SAMPLER_STYLES`, by name), x_0 marked, the noisy ones (DDPM, DDIM with
    eta > 0) thin and beneath; x_T open black circles, over the data."""
    names = [n for n in SAMPLER_STYLES if any(n in runs for runs in panels.values())]
    with style():
        fig, axes, side = _row(len(panels), 1.3)
        for ax, (title, runs) in zip(axes.flat, panels.items(), strict=True):
            draw_data(ax, data, side)
            for name, xs in runs.items():
                st, noisy = SAMPLER_STYLES[name], name.startswith("ddpm") or "eta" in name
                pos = np.stack([points_of(name, x)[:num] for x in xs])  # (K+1, n, 2)
                ax.plot(pos[..., 0], pos[..., 1], color=st["color"], ls=st["linestyle"],
                        lw=0.8 if noisy else 1.5, zorder=2 if noisy else 3)  # fmt: skip
                ax.plot(*pos[-1].T, ls="none", marker=st["marker"], ms=4.5, color=st["color"],
                        zorder=4)  # fmt: skip
            ax.scatter(*pos[0].T, s=18, facecolors="none", edgecolors=NEUTRALS["text"],
                       linewidths=0.8, zorder=5)  # fmt: skip
            point_axes(ax)
            ax.set_title(title)
        outer_labels(axes)
        handles = [legend_dot("start $x_T$", NEUTRALS["text"], mfc="none")]
        handles += [Line2D([], [], color=SAMPLER_STYLES[n]["color"], marker=SAMPLER_STYLES[n][
            "marker"], ls=SAMPLER_STYLES[n]["linestyle"], ms=4.5, label=SAMPLER_STYLES[n]["label"])
            for n in names]  # fmt: skip
        fig.legend(handles=handles, loc="outside lower center", ncols=2)
    return fig


def snapshot_grid(runs: Mapping[str, Trajectories], times: Sequence[int], data: object = None,
                  num: int = 150, tail: int = 3, ncols: int = 3) -> plt.Figure:  # fmt: skip
    """Each run in a block of rows of ``ncols`` panels, one per time in order, each drawn by
    :func:`draw_state` without the noise arrows; panels as large as the column allows."""
    ncols = max(1, min(ncols, len(times)))
    per_run = -(-len(times) // ncols)  # rows per run
    with style():
        fig, axes, _ = panel_grid(len(runs) * per_run * ncols, ncols, COLUMN_WIDTH, panel=2.3)
        fig.set_size_inches(fig.get_size_inches() + (0, 0.4))  # room for the legend
        for r, (name, traj) in enumerate(runs.items()):
            for i, t in enumerate(times):
                ax = axes[r * per_run + i // ncols, i % ncols]
                draw_state(ax, traj, t, data, num=num, tail=tail, eps=False, dot=4)
                ax.set_title(f"{name}, t = {t}")
        for ax in axes.flat:
            ax.set_visible(ax.has_data())  # the rest of a block's last row
        outer_labels(axes)
        _legend(fig, tail, eps=False, loc="outside lower center")
    return fig


def sampling_video(runs: Mapping[str, Trajectories], data: object = None, num: int = 40,
                   tail: int = 4, every: int = 2, timing: animation.Timing | None = None,
                   width: float = COLUMN_WIDTH) -> video.Video:  # fmt: skip
    """Several runs side by side (e.g. DDPM and DDIM from the same x_T), t = T to 0 (frames by
    :func:`animation.pick`); one legend above (paused, the video's controls cover the bottom)."""
    timing = timing or animation.Timing(step=0.3, slow_last=10, slow_step=0.3)
    lengths = {name: len(traj.paper_t) for name, traj in runs.items()}
    if not runs or len(set(lengths.values())) != 1:
        raise ValueError(f"runs must be recordings with the same number of steps, got {lengths}")
    T = next(iter(lengths.values())) - 1
    ks = animation.pick(T + 1, every, timing.slow_last)  # frame k holds x_t, t = T - k
    side = (width - 0.6) / len(runs)

    def setup(fig: plt.Figure):
        fig.set_layout_engine("constrained", w_pad=0.08)
        axes = fig.subplots(1, len(runs), squeeze=False)
        for ax, name in zip(axes.flat, runs, strict=True):
            draw_data(ax, data, side)
            point_axes(ax)
            ax.set_title(f"{name}, t = {T}")  # room for the titles of the frames
        outer_labels(axes)
        _legend(fig, tail, loc="outside upper center", columnspacing=1.2)

        def draw(j: int) -> None:
            for ax, (name, traj) in zip(axes.flat, runs.items(), strict=True):
                draw_state(ax, traj, T - ks[j], num=num, tail=tail, dot=9)
                ax.set_title(f"{name}, t = {T - ks[j]}")

        return draw

    size = (width, round((side + 1.1) * 100) / 100)
    return video.encode(animation.render(setup, len(ks), size), timing.durations(len(ks)))
