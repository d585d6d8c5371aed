"""Line plots: the noise schedule, loss curves, the model's two embeddings, and the loss per
step of a model against the exact denoiser's.

Scope: matplotlib only. Quantities keep their colour and line style, several runs a colour and a
marker each (:data:`style.RUNS`); log axes carry plain tick labels ("0.9", not "9×10⁻¹").
"""

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.lines import Line2D

from ..schedules import signal_to_noise
from .points import as_1d, as_array
from .style import COLORS, COLUMN_WIDTH, CUES, RUNS, style


class PlainLogFormatter(ticker.LogFormatter):
    """Labels the ticks matplotlib's log formatter would label, as plain numbers ("0.9")."""

    def __call__(self, x: float, pos: int | None = None) -> str:
        if not super().__call__(x, pos):
            return ""
        return np.format_float_positional(x, precision=3, unique=False, fractional=False, trim="-")


def plain_log(ax: plt.Axes) -> None:
    """Put the y axis of ``ax`` on a log scale with plain tick labels; minor ticks are labelled
    too when the axis spans less than about two decades."""
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(PlainLogFormatter(labelOnlyBase=False))
    ax.yaxis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def schedule_plot(schedules: object) -> plt.Figure:
    """beta_t; alpha_t and alpha_bar_t; log SNR(t), against the paper's t = 1..T, of a triple
    ``(betas, alphas, alpha_bars)`` or a mapping label -> triple (a line style each, one legend)."""
    scheds = dict(schedules) if isinstance(schedules, Mapping) else {"": schedules}
    for label, sched in scheds.items():
        names = ("betas", "alphas", "alpha_bars")
        scheds[label] = [as_1d(n, a) for n, a in zip(names, sched, strict=False)]
        if len(sched) != 3 or len({a.size for a in scheds[label]}) != 1:
            raise ValueError("a schedule is a triple (betas, alphas, alpha_bars), same length")
    dashes = ["-", "--", ":", "-."]  # one per schedule when there are several
    with style():
        fig, axes = plt.subplots(1, 3, figsize=(COLUMN_WIDTH, 2.7), layout="constrained")
        for i, (betas, alphas, abars) in enumerate(scheds.values()):
            t = np.arange(1, betas.size + 1)
            snr = signal_to_noise(abars.astype(np.float64))
            for ax, y, key, label in ((axes[0], betas, "beta", None),
                                      (axes[1], alphas, "alpha", r"$\alpha_t$"),
                                      (axes[1], abars, "alpha_bar", r"$\bar\alpha_t$"),
                                      (axes[2], snr, "snr", None)):  # fmt: skip
                ls = dashes[i % 4] if len(scheds) > 1 else CUES[key]["linestyle"]
                ax.plot(t, y, ls, color=COLORS[key], label=None if i else label)
        for ax, title in zip(axes, (r"noise per step $\beta_t$", "signal kept",
                                    r"SNR $\bar\alpha_t/(1-\bar\alpha_t)$"), strict=True):
            ax.set(title=title, xlabel="step $t$")
        axes[1].set_ylim(0, 1.02)
        plain_log(axes[2])
        axes[1].legend(loc="center left", handlelength=1.5)  # alpha and alpha_bar
        if len(scheds) > 1:  # which line style is which schedule
            styles = [Line2D([], [], color="black", ls=dashes[i % 4], label=label)
                      for i, label in enumerate(scheds)]  # fmt: skip
            fig.legend(handles=styles, loc="outside lower center", ncols=len(styles))
    return fig


def _runs(histories: Mapping[str, object]):
    """``(name, epochs, train_loss, test_loss, line style of the run)`` per ``TrainHistory``."""
    if not 0 < len(histories) <= len(RUNS):
        raise ValueError(f"histories must name 1 to {len(RUNS)} runs, got {len(histories)}")
    runs = []
    for (name, h), run in zip(histories.items(), RUNS, strict=False):
        if not all(hasattr(h, a) for a in ("epochs", "train_loss", "test_loss")):
            raise ValueError(f"histories[{name!r}] is not a TrainHistory")
        ep = as_1d(f"histories[{name!r}].epochs", h.epochs)
        tr, te = (as_1d(f"histories[{name!r}].{a}", getattr(h, a), ep.size)
                  for a in ("train_loss", "test_loss"))  # fmt: skip
        runs.append((name, ep, tr, te, {**run, "markersize": 5, "markevery": max(1, ep.size // 6)}))
    return runs


def loss_curves(histories: object, title: str | None = None) -> plt.Figure:
    """Training (solid) and held-out (dashed) loss per epoch of a ``TrainHistory`` or, on one
    axis, of a mapping name -> history (a colour and a marker per run)."""
    one = not isinstance(histories, Mapping)
    runs = _runs({"history": histories} if one else histories)
    with style():
        fig, ax = plt.subplots(figsize=(4.6, 2.9) if one else (5.2, 3.2), layout="constrained")
        for name, ep, tr, te, kw in runs:
            for split, y, label in (("train", tr, "train"), ("test", te, "held-out")):
                ax.plot(ep, y, CUES[split]["linestyle"], label=label if one else f"{name}: {label}",
                        **({"color": COLORS[split]} if one else kw))  # fmt: skip
        plain_log(ax)
        ax.set(xlabel="epoch", ylabel=r"loss $L_\mathrm{simple}$", title=title or "")
        ax.legend(ncols=1 if len(runs) < 3 else 2)
    return fig


def loss_comparison(histories: Mapping[str, object]) -> plt.Figure:
    """Several runs' loss on the training (left) and held-out points (right), one legend below."""
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.3), sharey=True,
                                 layout="constrained")  # fmt: skip
        handles = []
        for name, ep, tr, te, kw in _runs(histories):
            axes[0].plot(ep, tr, CUES["train"]["linestyle"], label=name, **kw)
            axes[1].plot(ep, te, CUES["test"]["linestyle"], label=name, **kw)
            handles.append(Line2D([], [], color=kw["color"], marker=kw["marker"], label=name))
        for ax, split in zip(axes, ("training points", "held-out points"), strict=True):
            plain_log(ax)
            ax.set(xlabel="epoch", ylabel=r"loss $L_\mathrm{simple}$", title=f"loss on the {split}")
        axes[1].set_ylabel("")
        fig.legend(handles=handles, loc="outside lower center", ncols=min(4, len(handles)))
    return fig


def embeddings_figure(x1, position_features, freqs, time_features) -> plt.Figure:
    """The model's two Fourier embeddings (chapter 04). Left: ``position_features`` (P, K),
    sin(2 pi f_k x1), at the lowest, a middle and the highest of the ``freqs`` (K,) (cycles per
    unit); right: the time embedding (T, D) as an image, a column per 0-based step."""
    x = as_1d("x1", x1)
    feats = as_array(position_features)
    f = as_1d("freqs", freqs)
    if feats.shape != (x.size, f.size):
        raise ValueError(f"position_features must have shape {(x.size, f.size)}, got {feats.shape}")
    temb = as_array(time_features)
    if temb.ndim != 2:
        raise ValueError(f"time_features must have shape (T, D), got {temb.shape}")
    with style():
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.0), width_ratios=[1.25, 1],
                                       layout="constrained")  # fmt: skip
        for i, k in enumerate((0, (f.size - 1) // 2, f.size - 1)):
            ax1.plot(x, feats[:, k], lw=1.3, color=RUNS[i]["color"], ls=["-", "--", ":"][i],
                     label=f"$f_{{{k + 1}}}$ = {f[k]:.2g}")  # fmt: skip
        ax1.set(xlabel="$x_1$", ylabel="feature value", title="position features (sin)")
        ax1.legend(loc="lower left", ncols=3, handlelength=1.4, columnspacing=0.8)
        ax1.set_ylim(-1.75, 1.15)
        im = ax2.imshow(temb.T, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
        ax2.set(xlabel="step $t$ (0-based)", ylabel="feature", title="time embedding")
        ax2.grid(False)
        fig.colorbar(im, ax=ax2, fraction=0.08)
    return fig


def loss_by_step_figure(losses: Mapping[str, Mapping[str, np.ndarray]]) -> plt.Figure:
    """L_simple per t (:func:`evaluation.loss_by_step`): a panel per point set, a line per model,
    the first (learned) in the predicted noise's colour, the others as the exact denoiser's."""
    with style():
        fig, axes = plt.subplots(1, len(losses), figsize=(COLUMN_WIDTH, 3.0), sharey=True,
                                 squeeze=False, layout="constrained")  # fmt: skip
        for ax, (title, per_model) in zip(axes.flat, losses.items(), strict=True):
            for i, (name, values) in enumerate(per_model.items()):
                ax.plot(np.arange(1, len(values) + 1), values, ("-", ":", "--")[i % 3], label=name,
                        lw=2.0 if i else 1.6, color=COLORS["exact" if i else "pred_noise"])
            plain_log(ax)
            ax.set(xlabel="time $t$", title=title)
        axes.flat[0].set_ylabel(r"$L_\mathrm{simple}$ at $t$")
        axes.flat[0].legend()
    return fig
