"""The errors of what eps-, x_0- and v-models imply, step by step (the chapter "prediction",
:func:`predictions.implied_errors`): two panels against the 0-based step t, the implied eps and
the implied x_0, a line per model with a colour, a marker and a line style of its own.

Scope: matplotlib only; log y axes with plain tick labels, the top one at or above every line.
"""

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .curves import plain_log
from .style import COLUMN_WIDTH, RUNS, style

LINESTYLES = ("-", "--", ":", "-.")  # the third cue of a model, after colour and marker


def nice_top(value: float) -> float:
    """The smallest of 1, 2 and 5 times a power of ten that is at least ``value`` (> 0): a log
    axis ending there has a labelled tick above its highest point."""
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"value must be positive and finite, got {value!r}")
    power = 10.0 ** math.floor(math.log10(value))
    return next(f * power for f in (1, 2, 5, 10) if f * power >= value * (1 - 1e-12))


def implied_error_figure(table: pd.DataFrame, labels: Mapping[str, str]) -> plt.Figure:
    """RMS error of the implied eps (left) and x_0 (right) against the exact denoiser, by 0-based
    step t (the table's index), for each model of ``labels`` ({name in the table's
    ``"eps:<name>"`` columns: legend label}); log y, up to :func:`nice_top` of the highest line.
    Column width."""
    if not 0 < len(labels) <= len(LINESTYLES):
        raise ValueError(f"labels must name 1 to {len(LINESTYLES)} models, got {len(labels)}")
    missing = [n for n in labels if f"eps:{n}" not in table or f"x0:{n}" not in table]
    if missing:
        raise ValueError(f"table has no columns for {missing}: pass an implied_errors result")
    t = table.index.to_numpy()
    with style():
        fig, axes = plt.subplots(1, 2, figsize=(COLUMN_WIDTH, 3.0), sharex=True,
                                 layout="constrained")  # fmt: skip
        for ax, kind, title in zip(axes, ("eps", "x0"), (r"error of the implied $\epsilon$",
                                                         r"error of the implied $x_0$"),
                                   strict=True):  # fmt: skip
            for (name, label), run, ls in zip(labels.items(), RUNS, LINESTYLES, strict=False):
                ax.plot(t, table[f"{kind}:{name}"], ls, label=label, markevery=(2, 6),
                        markersize=5, **run)  # fmt: skip
            plain_log(ax)
            highest = np.nanmax([table[f"{kind}:{name}"].to_numpy() for name in labels])
            ax.set_ylim(top=nice_top(float(highest)))  # a labelled tick above every line
            ax.set(title=title, xlabel="step $t$ (0-based)")
        axes[0].set_ylabel("RMS error")
        axes[0].legend()
    return fig
