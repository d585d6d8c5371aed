"""Figures of the chapter "noise_schedules": the four schedules in alpha_bar and log-SNR against
the 0-based step t, and how each passes a model's noise error on to the DDPM sampler.

Scope: matplotlib only. Each schedule keeps a colour, a marker and a line style in every figure
(:data:`SCHEDULE_STYLES`, keyed by the names of ``experiments.POOL`` that train on them); an
infinite log-SNR (alpha_bar = 0, zero terminal SNR) is drawn as an arrow at the bottom edge.
"""

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.lines import Line2D

from ..schedules import log_snr
from .curves import plain_log
from .points import as_1d
from .style import COLUMN_WIDTH, MIN_FONT, NEUTRALS, RUNS, style

# The schedule each model of the chapter trains on: colour, marker, line style, legend label.
SCHEDULE_STYLES = {
    "v3": {**RUNS[0], "linestyle": "-", "label": r"linear, $\beta_\max$ 0.05"},
    "v4": {**RUNS[1], "linestyle": "--", "label": r"linear, $\beta_\max$ 0.02"},
    "cosine": {**RUNS[2], "linestyle": "-.", "label": "cosine"},
    "zsnr": {**RUNS[3], "linestyle": ":", "label": "zero terminal SNR"},
}


def _style(key: str, labels: Mapping[str, str] | None = None) -> dict:
    """Line keywords of ``key``, its legend label from ``labels`` if given there."""
    if key not in SCHEDULE_STYLES:
        raise ValueError(f"keys must be among {tuple(SCHEDULE_STYLES)}, got {key!r}")
    kw = {**SCHEDULE_STYLES[key], "markersize": 4.5}
    return {**kw, "label": (labels or {}).get(key, kw["label"])}


def _line(ax: plt.Axes, y: np.ndarray, kw: dict) -> None:
    """``y`` (T,) against the 0-based step where finite (and > 0 on a log axis): the line, and
    the marker on every 7th step and the last drawn one."""
    t = np.arange(y.size)
    ok = np.isfinite(y) & ((y > 0) if ax.get_yscale() == "log" else True)
    marks = [i for i in range(0, y.size, 7) if ok[i]] + [int(t[ok][-1])]
    ax.plot(t[ok], y[ok], **{**kw, "marker": None})
    ax.plot(t[marks], y[marks], ls="none", marker=kw["marker"], color=kw["color"],
            markersize=kw["markersize"])  # fmt: skip


def _legend(fig: plt.Figure, keys: list[str], labels: Mapping[str, str] | None = None) -> None:
    handles = [Line2D([], [], **_style(key, labels)) for key in keys]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, handlelength=3.0)


def schedule_comparison(alpha_bars: Mapping[str, object]) -> plt.Figure:
    """Left: alpha_bar_t; right: log SNR(t) = log(alpha_bar_t / (1 - alpha_bar_t)), against the
    0-based step t, a line per schedule (``{key of SCHEDULE_STYLES: alpha_bars (T,)}``). A
    log-SNR of -inf (alpha_bar_t = 0) is an arrow at the bottom edge, labelled."""
    if not alpha_bars:
        raise ValueError("alpha_bars must name at least one schedule")
    curves = {k: as_1d(f"alpha_bars[{k!r}]", v).astype(np.float64) for k, v in alpha_bars.items()}
    with style():
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.4), layout="constrained")
        lams = {k: log_snr(torch.from_numpy(ab)).numpy() for k, ab in curves.items()}
        for key, ab in curves.items():
            _line(ax1, ab, _style(key))
            _line(ax2, lams[key], _style(key))
        bottom = min(float(lam[np.isfinite(lam)].min()) for lam in lams.values()) - 3.0
        for key, lam in lams.items():  # -inf: an arrow down to the bottom edge
            color = SCHEDULE_STYLES[key]["color"]
            for t in np.flatnonzero(np.isneginf(lam)):
                ax2.annotate("", (t, bottom), xytext=(t, bottom + 2.4),
                             arrowprops={"arrowstyle": "->", "color": color, "lw": 1.6})
                ax2.annotate(r"$-\infty$", (t, bottom + 1.2), xytext=(-4, 0),
                             textcoords="offset points", ha="right", va="center",
                             fontsize=MIN_FONT, color=color)  # fmt: skip
        ax2.set_ylim(bottom, None)
        ax2.axhline(0.0, color=NEUTRALS["axes"], lw=0.8)
        ax1.set(xlabel="step $t$ (0-based)", ylabel=r"$\bar\alpha_t$", ylim=(0, 1.02),
                title="signal kept")
        ax2.set(xlabel="step $t$ (0-based)", ylabel=r"$\log \mathrm{SNR}(t)$",
                title="log signal-to-noise ratio")
        _legend(fig, list(curves))
    return fig


def error_gain_figure(errors: Mapping[str, object], gains: Mapping[str, object],
                      labels: Mapping[str, str] | None = None) -> plt.Figure:
    """Left: a model's RMS noise error per step (``errors``, {key: (T,)}, e.g.
    :func:`schedule_errors.eps_error_by_step`); right: that error times the DDPM gain
    (``gains``, same keys, :func:`schedule_errors.ddpm_gain`), the error one step puts into
    x_{t-1}. Both on log axes; non-finite points are left out."""
    if not errors or set(errors) != set(gains):
        raise ValueError(f"errors and gains need the same keys, got {set(errors)}, {set(gains)}")
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.4), layout="constrained")
        for ax in axes:
            plain_log(ax)
        for key in errors:
            err = as_1d(f"errors[{key!r}]", errors[key]).astype(np.float64)
            gain = as_1d(f"gains[{key!r}]", gains[key], err.size).astype(np.float64)
            with np.errstate(invalid="ignore"):  # NaN error times an infinite gain
                _line(axes[0], err, _style(key, labels))
                _line(axes[1], err * gain, _style(key, labels))
        for ax, title in zip(axes, (r"error of $\epsilon_\theta$ (RMS)",
                                    r"error it puts into $x_{t-1}$"), strict=True):
            ax.set(xlabel="step $t$ (0-based)", title=title)
        _legend(fig, list(errors), labels)
    return fig
