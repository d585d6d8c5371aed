"""Figures of the evaluation (chapters 06, 08, 09, probability flow, flow matching): sample
quality against t, against the number of sampling steps and against the number of network
evaluations, with the protocol's intervals and baselines, and memorisation
(:class:`evaluation.MemorisationStats`).

Scope: matplotlib only. Each sampler keeps its colour, marker and line style
(:data:`style.SAMPLERS`, :data:`SAMPLER_STYLES`); reference rows (e.g. the baselines) are dotted
grey lines.
"""

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..evaluation import MemorisationStats, chamfer_by_step
from ..protocol import METRICS, interval
from .curves import plain_log
from .points import as_points, draw_data, legend_dot, outer_labels, point_axes
from .style import COLORS, COLUMN_WIDTH, FULL_WIDTH, MIN_FONT, NEUTRALS, SAMPLERS, fit, style
from .style import OKABE_ITO as OI

Rows = Mapping[str, pd.DataFrame]  # protocol results by name
# Every sampler of the probability-flow chapter, by its name in the glue keys: colour, marker,
# line style and legend label (DDPM and DDIM as in style.SAMPLERS; Euler is DDIM with eta = 0),
# and the flow-matching model's two.
SAMPLER_STYLES = {
    "ddpm": {**SAMPLERS["ddpm"], "label": r"DDPM, variance $\beta_t$"},
    "ddpm-betatilde": {"color": OI["sky_blue"], "marker": "v", "linestyle": "-.",
                       "label": r"DDPM, variance $\tilde\beta_t$ (= DDIM, $\eta = 1$)"},
    "ddim-eta0.5": {"color": OI["vermillion"], "marker": "D", "linestyle": ":",
                    "label": r"DDIM, $\eta = 0.5$"},
    "ddim": {**SAMPLERS["ddim"], "label": r"DDIM, $\eta = 0$ (= Euler)"},
    "heun": {"color": OI["green"], "marker": "^", "linestyle": "-", "label": "Heun"},
    # the flow-matching chapter: the ODE of a velocity model (flow.flow_sample)
    "flow-euler": {"color": OI["purple"], "marker": "P", "linestyle": "-",
                   "label": "flow matching, Euler"},
    # Heun solid like experiment 3's; sky blue and a star: not black (the exact denoiser's) nor
    # dashed (DDIM's), and apart from the other three lines of the flow-matching chapter
    "flow-heun": {"color": OI["sky_blue"], "marker": "*", "linestyle": "-",
                  "label": "flow matching, Heun"},
}


def _reference_lines(ax: plt.Axes, reference: Rows | None, metric: str) -> None:
    """The mean of ``metric`` in each of the ``reference`` rows as a named dotted line, named at
    the right end on the side away from the curves there (most curves end above a floor)."""
    ends = []  # each curve's value at the right end, interpolated (its end value beyond it)
    for xs, ys in (np.asarray(line.get_data(), dtype=float) for line in ax.lines):
        ends.append(np.interp(ax.get_xlim()[1], np.sort(xs), ys[np.argsort(xs)]))
    for name, df in (reference or {}).items():
        mean = interval(df, metric)[0]
        below = sum(e > mean for e in ends) > len(ends) / 2
        ax.axhline(mean, ls=":", lw=1.2, color=NEUTRALS["axes"])
        ax.annotate(name, (0.99, mean), xycoords=("axes fraction", "data"), ha="right",
                    va="top" if below else "bottom", fontsize=MIN_FONT, color=NEUTRALS["axes"],
                    xytext=(0, -2 if below else 0), textcoords="offset points")  # a gap below
        if below:  # room for the name under the line, measured in the axis' own scale
            scale, (low, high) = ax.transScale, ax.get_ylim()
            (_, low), (_, at), (_, high) = scale.transform([(1, low), (1, mean), (1, high)])
            if at - low < 0.1 * (high - low):
                new_low = scale.inverted().transform([(1, (at - 0.1 * high) / 0.9)])[0, 1]
                ax.set_ylim(new_low, ax.get_ylim()[1])


def chamfer_by_step_plot(results: Rows, reference: Rows | None = None) -> plt.Figure:
    """The Chamfer distance of x_t against t (T on the left), a line and an interval band per
    sampler (keys ``"ddpm"``/``"ddim"``, :func:`evaluation.chamfer_by_step`)."""
    with style():
        fig, ax = plt.subplots(figsize=(5.6, 3.2), layout="constrained")
        for name, df in results.items():
            c = chamfer_by_step(df)
            st = SAMPLERS[name]
            ax.plot(c.index, c["mean"], lw=1.6, label=name.upper(), markevery=5, ms=4, **st)
            ax.fill_between(c.index, c["lo"], c["hi"], color=st["color"], alpha=0.3, lw=0)
        ax.set_xlim(c.index.max(), 0)
        plain_log(ax)
        _reference_lines(ax, reference, "chamfer")
        ax.set(xlabel="t (sampling runs from left to right)", ylabel="Chamfer distance of xₜ")
        ax.legend(loc="center left")  # clear of the curves (top) and the floor
    return fig


def sweep_plot(sweep: Mapping[tuple[str, int], pd.DataFrame], reference: Rows | None = None,
               columns: Sequence[str] = ("chamfer", "mmd2")) -> plt.Figure:  # fmt: skip
    """A panel per metric: the protocol mean (interval as error bar) against the number of steps."""
    samplers = [s for s in SAMPLERS if s in {s2 for s2, _ in sweep}]  # in the book's order
    ks_all = sorted({k for _, k in sweep})
    with style():
        fig, axes = plt.subplots(1, len(columns), figsize=(COLUMN_WIDTH, 3.2), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for ax, col in zip(axes[0], columns, strict=True):
            for s in samplers:
                ks = sorted(k for s2, k in sweep if s2 == s)
                iv = np.array([interval(sweep[s, k], col) for k in ks])  # (K, 3)
                ax.errorbar(ks, iv[:, 0], yerr=[iv[:, 0] - iv[:, 1], iv[:, 2] - iv[:, 0]], ms=4,
                            capsize=3, label=s.upper(), **SAMPLERS[s])  # fmt: skip
            _reference_lines(ax, reference, col)
            ax.set_xscale("log")
            ax.set_xticks(ks_all, [str(k) for k in ks_all])
            ax.minorticks_off()
            ax.set(xlabel="number of sampling steps", title=METRICS[col][0] + " (lower is better)")
            ax.legend(loc="best")
    return fig


def tradeoff_plot(sweep: Mapping[tuple[str, int], pd.DataFrame], reference: Rows | None = None,
                  metric: str = "chamfer", xticks: Sequence[int] | None = None,
                  labels: Mapping[str, str] | None = None) -> plt.Figure:
    """``metric`` (protocol mean, interval as error bar; log axes) against the number of network
    evaluations, a line per sampler of :data:`SAMPLER_STYLES`: ``sweep`` maps (name, NFE) to
    the protocol's rows; ``labels`` replaces the legend labels of some names."""
    names = [s for s in SAMPLER_STYLES if s in {s2 for s2, _ in sweep}]
    if not names or len(names) < len({s for s, _ in sweep}):
        raise ValueError(f"sweep names must be among {list(SAMPLER_STYLES)}, got "
                         f"{sorted({s for s, _ in sweep})}")
    with style():
        fig, ax = plt.subplots(figsize=(COLUMN_WIDTH, 4.0), layout="constrained")
        for s in names:
            nfe = sorted(n for s2, n in sweep if s2 == s)
            iv = np.array([interval(sweep[s, n], metric) for n in nfe])  # (K, 3)
            st = {**SAMPLER_STYLES[s], **({"label": labels[s]} if s in (labels or {}) else {})}
            ax.errorbar(nfe, iv[:, 0], yerr=[iv[:, 0] - iv[:, 1], iv[:, 2] - iv[:, 0]], ms=5,
                        capsize=3, **st)  # fmt: skip
        ax.set_xscale("log")
        plain_log(ax)
        _reference_lines(ax, reference, metric)
        ticks = sorted(xticks or {n for _, n in sweep})
        ax.set_xticks(ticks, [str(n) for n in ticks])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set(xlabel="network evaluations per sample (NFE)",
               ylabel=f"{METRICS[metric][0]} (lower is better)")
        fig.legend(loc="outside lower center", ncols=2)
    return fig


def distance_histograms(stats: Mapping[str, MemorisationStats], floor: float = 1e-6) -> plt.Figure:
    """Histograms (log axis) of the distance from each sample to its nearest training point, a
    panel per sampler, over the training data's own spacing (grey); ``floor`` clips below."""
    bins = np.logspace(np.log10(floor), 0.5, 40)
    with style():
        fig, axes = plt.subplots(1, len(stats), figsize=(min(FULL_WIDTH, 3.0 * len(stats)), 3.0),
                                 squeeze=False, sharey=True, layout="constrained")  # fmt: skip
        for ax, (name, st) in zip(axes[0], stats.items(), strict=True):
            w = np.full(st.train_spacing.size, 1.0 / st.train_spacing.size)
            ax.hist(st.train_spacing, bins, weights=w, color=COLORS["data"], alpha=0.35,
                    label="data spacing")  # fmt: skip
            d = np.maximum(st.sample_to_train, floor)
            ax.hist(d, bins, weights=np.full(d.size, 1.0 / d.size), histtype="step", lw=1.6,
                    color=COLORS["samples"], label="sample → nearest train")  # fmt: skip
            ax.axvline(st.spacing, ls="--", lw=1.0, color=COLORS["data"], label="median spacing")
            ax.axvline(st.copy_radius, ls=":", lw=1.0, color=COLORS["data"], label="copy radius")
            ax.set(xscale="log", xlabel="distance", title=name)
        axes[0, 0].set_ylabel("fraction")
        axes[0, 0].legend(loc="upper left")
    return fit(fig)


def coverage_figure(stats: Mapping[str, MemorisationStats], train: object,
                    heldout: object, train_on_top: bool = False) -> plt.Figure:  # fmt: skip
    """One panel per sampler: its samples (blue dots) over the training points (grey dots) and
    the held-out points (open diamonds on top), to see which of them the samples cover;
    ``train_on_top``: the training points as open grey circles over the samples (many samples
    would hide grey dots beneath them)."""
    ho = as_points("heldout", heldout)
    tr = as_points("train", train)
    with style():
        fig, axes = plt.subplots(1, len(stats), figsize=(min(FULL_WIDTH, 2.9 * len(stats)), 3.5),
                                 squeeze=False, layout="constrained")  # fmt: skip
        for ax, (name, st) in zip(axes[0], stats.items(), strict=True):
            if train_on_top:
                ax.scatter(*tr.T, s=12, facecolors="none", edgecolors=COLORS["data"],
                           linewidths=0.8, zorder=2.5)  # fmt: skip
            else:
                draw_data(ax, tr, name="train")
            ax.scatter(*st.samples.T, s=3, color=COLORS["samples"], alpha=0.5, zorder=2)
            ax.scatter(ho[:, 0], ho[:, 1], s=26, marker="D", facecolors="none", linewidths=1.2,
                       edgecolors=NEUTRALS["text"], zorder=3)  # fmt: skip
            point_axes(ax)
            ax.set_title(name)
        outer_labels(axes)
        handles = [legend_dot("samples", COLORS["samples"]),
                   legend_dot("training points", COLORS["data"],
                              **({"mfc": "none"} if train_on_top else {})),
                   legend_dot("held-out points", NEUTRALS["text"], marker="D", ms=5, mfc="none")]
        fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fit(fig)
