"""Figures and reference samplers around the book's evaluation protocol (:mod:`protocol`).

The protocol computes every number; this module draws them and adds what the memorisation chapter
compares against:

- :func:`split_for`: exactly the (train, held-out) split a model was trained on;
- :func:`memorisation_of`: how close given samples (one protocol seed) come to the training points
  against the training data's own spacing, and how well they cover training and held-out points;
  :func:`distance_histograms` and :func:`coverage_figure` draw it;
- :func:`smooth_baseline`: a sampler that copies nothing by construction (a Gaussian kernel
  density of the dino points), scored under the protocol: what a model that generalises scores;
- :func:`chamfer_by_step` / :func:`chamfer_by_step_plot`: sample quality against the step t;
  :func:`sweep_plot`: quality against the number of sampling steps, with the protocol's intervals.

Everything uses explicit seeds and one torch thread (sampling 2000 points and scoring them takes a
few tenths of a second; more threads only add contention on a small, busy machine).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.lines import Line2D

from . import metrics
from .plotting import (
    COLORS,
    COLUMN_WIDTH,
    FULL_WIDTH,
    LIMITS,
    MIN_FONT,
    NEUTRALS,
    draw_data,
    fit,
    outer_labels,
    plain_log,
    point_axes,
    style,
)
from .plotting import SAMPLERS as SAMPLER_STYLES
from .samplers import SAMPLERS
from .training import split_for  # noqa: F401 - re-exported: chapters import it from here
from .utils import torch_threads

SAMPLER_COLORS = {name: st["color"] for name, st in SAMPLER_STYLES.items()}  # plotting.SAMPLERS




@dataclass
class MemorisationStats:
    """Distances for one sampler (arrays float64; means and fractions as floats).

    ``samples``: the DDPM samples measured (N, 2);
    ``sample_to_train``: each sample's distance to its nearest training point (N,);
    ``train_spacing``: each training point's distance to its nearest other one (M,);
    ``spacing``: the median of train_spacing; ``copy_radius``: ``copy_fraction * spacing``;
    ``frac_close`` / ``frac_copies``: fractions of samples within spacing / copy_radius;
    ``train_coverage`` / ``heldout_coverage``: mean distance from a training / held-out point to
    its nearest sample; ``heldout_to_train``: mean distance from a held-out point to its nearest
    training point (the coverage of held-out points by a sampler that only copies).
    """

    samples: np.ndarray
    sample_to_train: np.ndarray
    train_spacing: np.ndarray
    spacing: float
    copy_radius: float
    frac_close: float
    frac_copies: float
    train_coverage: float
    heldout_coverage: float
    heldout_to_train: float


def memorisation_of(
    samples: torch.Tensor, train: torch.Tensor, heldout: torch.Tensor, copy_fraction: float = 0.1
) -> MemorisationStats:
    """The distances of :class:`MemorisationStats` for given ``samples`` (N, 2), e.g. one seed of
    the protocol (:func:`protocol.samples`), so that figures show what the protocol measures."""
    x = torch.as_tensor(samples)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0:
        raise ValueError(f"samples must have shape (N, 2) with N >= 1, got {tuple(x.shape)}")
    with torch_threads(1):
        nn = metrics.nearest_neighbour_distances(x, train)
        spacing_all = metrics.data_spacing(train)
        spacing = float(spacing_all.median())
        return MemorisationStats(
            samples=x.double().numpy(),
            sample_to_train=nn.numpy(),
            train_spacing=spacing_all.numpy(),
            spacing=spacing,
            copy_radius=copy_fraction * spacing,
            frac_close=float((nn <= spacing).double().mean()),
            frac_copies=float((nn <= copy_fraction * spacing).double().mean()),
            train_coverage=float(metrics.nearest_neighbour_distances(train, x).mean()),
            heldout_coverage=float(metrics.nearest_neighbour_distances(heldout, x).mean()),
            heldout_to_train=float(metrics.nearest_neighbour_distances(heldout, train).mean()),
        )


def distance_histograms(stats: Mapping[str, MemorisationStats], floor: float = 1e-6) -> plt.Figure:
    """Histograms (log distance axis) of sample-to-nearest-training-point distances, one panel per
    sampler, over the training data's own spacing (grey); distances below ``floor`` are drawn at
    ``floor``."""
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
            ax.set_xscale("log")
            ax.set_xlabel("distance")
            ax.set_title(name)
        axes[0, 0].set_ylabel("fraction")
        axes[0, 0].legend(loc="upper left")
    return fit(fig)


def coverage_figure(
    stats: Mapping[str, MemorisationStats], train: torch.Tensor, heldout: torch.Tensor,
    lim: tuple[float, float] = LIMITS,
) -> plt.Figure:  # fmt: skip
    """One panel per sampler: its samples (blue dots) over the training points (grey dots
    beneath, as the book draws data) and the held-out points (open diamonds on top), to see
    which of them the samples cover; one legend under the panels."""
    tr, ho = train.double().numpy(), heldout.double().numpy()
    n = len(stats)
    with style():
        fig, axes = plt.subplots(1, n, figsize=(min(FULL_WIDTH, 2.9 * n), 3.5), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for ax, (name, st) in zip(axes[0], stats.items(), strict=True):
            s = st.samples
            draw_data(ax, tr, name="train")
            ax.scatter(s[:, 0], s[:, 1], s=3, color=COLORS["samples"], alpha=0.5, zorder=2)
            ax.scatter(ho[:, 0], ho[:, 1], s=26, marker="D", facecolors="none", linewidths=1.2,
                       edgecolors=NEUTRALS["text"], zorder=3)  # fmt: skip
            point_axes(ax, lim)
            ax.set_title(name)
        outer_labels(axes, n)
        handles = [
            Line2D([], [], ls="", marker="o", ms=4, color=COLORS["samples"], label="samples"),
            Line2D([], [], ls="", marker="o", ms=4, color=COLORS["data"], label="training points"),
            Line2D([], [], ls="", marker="D", ms=5, mfc="none", color=NEUTRALS["text"],
                   label="held-out points"),
        ]  # fmt: skip
        fig.legend(handles=handles, loc="outside lower center", ncols=3)
    return fit(fig)


# --------------------------------------------------------------------------- protocol results
# The functions below take the protocol's DataFrames (:func:`protocol.evaluate`, one row per
# seed) and draw or summarise them with their intervals.


def smooth_samples(
    points: torch.Tensor, num_samples: int, bandwidth: float, generator: torch.Generator
) -> torch.Tensor:
    """``num_samples`` draws (N, 2) from a Gaussian kernel density of ``points`` (M, 2): a point
    drawn uniformly, plus N(0, bandwidth^2 I). A smooth sampler of the shape that copies no point
    on purpose: it lands within a radius r of its chosen point only with probability
    1 - exp(-r^2 / (2 bandwidth^2))."""
    pts = torch.as_tensor(points)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise ValueError(f"points must have shape (M, 2) with M >= 1, got {tuple(pts.shape)}")
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"num_samples must be a positive int, got {num_samples!r}")
    pts = pts.float()
    idx = torch.randint(0, len(pts), (num_samples,), generator=generator)
    return pts[idx] + bandwidth * torch.randn(num_samples, 2, generator=generator)


def smooth_baseline(ref, bandwidth: float, protocol=None) -> pd.DataFrame:
    """The protocol's rows (one per seed) for :func:`smooth_samples` of all points of ``ref``
    (a :class:`protocol.Reference`): what a sampler that draws the shape without copying scores."""
    from . import protocol as P

    protocol = protocol or P.PROTOCOL

    def draw(seed: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed)
        return smooth_samples(ref.all, protocol.num_samples, bandwidth, g)

    return P.score_seeds(draw, ref, protocol, bandwidth=bandwidth)


def points_as_samples(points: torch.Tensor, ref, protocol=None) -> dict[str, float]:
    """The protocol's scores of a fixed set of points (e.g. the held-out points themselves) taken
    as "samples": one deterministic row, no seeds."""
    from . import protocol as P

    return P.scores(torch.as_tensor(points).float(), ref, protocol or P.PROTOCOL)


def chamfer_by_step(df: pd.DataFrame) -> pd.DataFrame:
    """Quality against t from a protocol result: one row per paper time t (T first, 0 last), with
    the mean Chamfer distance of x_t over the seeds and its interval (``mean``, ``lo``, ``hi``)."""
    from .protocol import mean_interval

    by_step = df.attrs.get("chamfer_by_step")
    if not by_step:
        raise ValueError("df has no attrs['chamfer_by_step']: pass a protocol.evaluate result")
    values = np.asarray(by_step, dtype=float)  # (seeds, T+1)
    mean, half = mean_interval(values, df.attrs.get("confidence", 0.95))  # (T+1,) each
    t = np.arange(values.shape[1] - 1, -1, -1)
    return pd.DataFrame({"mean": mean, "lo": mean - half, "hi": mean + half},
                        index=pd.Index(t, name="t"))  # fmt: skip


def chamfer_by_step_plot(
    results: Mapping[str, pd.DataFrame], reference: Mapping[str, pd.DataFrame] | None = None
) -> plt.Figure:
    """The Chamfer distance of x_t against the paper time t (T on the left, 0 on the right), one
    line per sampler (keys ``"ddpm"``/``"ddim"``) with its interval as a band; ``reference``
    protocol rows (e.g. the baselines) as dotted lines at their mean."""
    with style():
        fig, ax = plt.subplots(figsize=(5.6, 3.2), layout="constrained")
        for name, df in results.items():
            c = chamfer_by_step(df)
            st = SAMPLER_STYLES.get(name, {"color": COLORS["samples"], "marker": "o",
                                           "linestyle": "-"})  # fmt: skip
            ax.plot(c.index, c["mean"], lw=1.6, label=name.upper(), markevery=5, ms=4, **st)
            ax.fill_between(c.index, c["lo"], c["hi"], color=st["color"], alpha=0.3, lw=0)
        _reference_lines(ax, reference, "chamfer")
        ax.set_xlim(c.index.max(), 0)
        plain_log(ax.yaxis)
        ax.set_xlabel("t (sampling runs from left to right)")
        ax.set_ylabel("Chamfer distance of xₜ")
        ax.legend(loc="lower left")
    return fig


def _reference_lines(ax, reference, metric: str) -> None:
    from .protocol import interval

    for name, df in (reference or {}).items():
        mean = interval(df, metric)[0]
        ax.axhline(mean, ls=":", lw=1.2, color=NEUTRALS["axes"])
        ax.annotate(name, (0.99, mean), xycoords=("axes fraction", "data"), ha="right",
                    va="bottom", fontsize=MIN_FONT, color=NEUTRALS["axes"])  # fmt: skip


def sweep_plot(
    sweep: Mapping[tuple[str, int], pd.DataFrame],
    reference: Mapping[str, pd.DataFrame] | None = None,
    columns: Sequence[str] = ("chamfer", "mmd2"),
) -> plt.Figure:
    """One panel per metric: the protocol mean against the number of steps, a line per sampler,
    with the interval of every point as an error bar; ``reference`` rows as dotted lines."""
    from .protocol import METRICS as P_METRICS
    from .protocol import interval

    samplers = sorted({s for s, _ in sweep}, key=lambda s: SAMPLERS.index(s))
    with style():
        fig, axes = plt.subplots(1, len(columns), figsize=(COLUMN_WIDTH, 3.2), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for ax, col in zip(axes[0], columns, strict=True):
            for s in samplers:
                ks = sorted(k for s2, k in sweep if s2 == s)
                iv = np.array([interval(sweep[s, k], col) for k in ks])  # (K, 3)
                st = SAMPLER_STYLES[s]
                ax.errorbar(ks, iv[:, 0], yerr=[iv[:, 0] - iv[:, 1], iv[:, 2] - iv[:, 0]],
                            marker=st["marker"], ls=st["linestyle"], ms=4, capsize=3,
                            color=st["color"], label=s.upper())  # fmt: skip
            _reference_lines(ax, reference, col)
            ax.set_xscale("log")
            ks_all = sorted({k for _, k in sweep})
            ax.set_xticks(ks_all, [str(k) for k in ks_all])
            ax.minorticks_off()
            ax.set_xlabel("number of sampling steps")
            label = P_METRICS[col][0] if col in P_METRICS else col
            ax.set_title(label + " (lower is better)")
            ax.legend(loc="best")
    return fig


def rms_radius(points: torch.Tensor) -> float:
    """Root-mean-square distance of the points (N, 2) from their mean: the spread of a cloud."""
    x = torch.as_tensor(points).double()
    return float((x - x.mean(0)).pow(2).sum(1).mean().sqrt())


def percent_interval(mean: float, half: float) -> str:
    """The protocol's ``"mean ± half"`` (:func:`protocol.format_interval`) of a share, printed in
    percent with the same rounding: ``0.0790 ± 0.0038`` becomes ``"7.90% ± 0.38%"``."""
    from .protocol import format_interval

    text = format_interval(mean, half)
    if "e" in text:  # scientific notation below 1e-3
        return f"{100 * mean:.2g}% ± {100 * half:.1g}%"
    decimals = max(len(text.split(" ± ")[0].split(".")[1]) - 2, 0)
    return f"{100 * mean:.{decimals}f}% ± {100 * half:.{decimals}f}%"


def glue_percent(prefix: str, df: pd.DataFrame, metric: str) -> None:
    """Glue ``{prefix}-{metric}-pct``: a share of the protocol (e.g. ``frac_copies``) as
    :func:`percent_interval`, from the same numbers as the ``-ci`` key of ``glue_result``."""
    from myst_nb import glue

    from .protocol import interval

    mean, lo, hi = interval(df, metric)
    glue(f"{prefix}-{metric}-pct", percent_interval(mean, (hi - lo) / 2), display=False)


def display_table(df: pd.DataFrame, nowrap: bool = True, precision: int = 3):
    """A table as the book shows it: row labels plain and left-aligned, no index name, and (with
    ``nowrap``) value cells that never break inside a ``"mean ± half"`` (the page scrolls the
    table instead; row labels may wrap); numbers with ``precision`` decimals. Returns a pandas
    Styler, which myst-nb glues as HTML."""
    body = df.copy()
    body.index = body.index.rename(None)
    body.columns = body.columns.rename(None)
    styles = [
        {"selector": "th.row_heading", "props": "text-align: left; font-weight: normal;"},
        {"selector": "th.col_heading", "props": "text-align: center;"},
    ]
    if nowrap:
        styles.append({"selector": "td", "props": "white-space: nowrap;"})
    styles.append({"selector": "td, th", "props": "padding: 0.15em 0.4em;"})
    styler = body.style.set_table_styles(styles).format(precision=precision)
    return styler.set_table_attributes('class="dataframe"')
