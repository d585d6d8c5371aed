"""Intervals over the protocol's seeds, and how the book prints them.

Scope: a result of the evaluation protocol (:mod:`protocol`) is one row per seed. Tables and
prose give the mean over the seeds with a Student-t ``confidence`` interval
(:func:`mean_interval`, :func:`interval`), say "A beats B" only when two intervals do not
overlap (:func:`compare`), and print a value as ``"mean ± half-width"`` with the half-width to two
significant digits and the mean to the same decimal place (:func:`decimals`,
:func:`format_interval`, :func:`cell`). The protocol re-exports every name here.
"""

import functools
import math

import mpmath
import numpy as np
import pandas as pd


@functools.cache  # a root search of about 13 ms; tables and comparisons ask for the same few
def t_quantile(p: float, dof: int) -> float:
    """The p-quantile of Student's t with ``dof`` degrees of freedom (p > 0.5), solved from its
    CDF 1 - I_x(dof/2, 1/2) / 2 with x = dof / (dof + q^2) (mpmath, a dependency of torch)."""
    if not 0.5 < p < 1.0 or dof < 1:
        raise ValueError(f"t_quantile needs 0.5 < p < 1 and dof >= 1, got p={p}, dof={dof}")

    def tail(q):
        return mpmath.betainc(dof / 2, 0.5, 0, dof / (dof + q * q), regularized=True) / 2 - (1 - p)

    return float(mpmath.findroot(tail, (mpmath.mpf("1e-9"), mpmath.mpf(1000)), solver="bisect"))


def mean_interval(values, confidence: float = 0.95):
    """``(mean, half-width)`` of the Student-t interval of the mean over axis 0 (the seeds)."""
    v = np.asarray(values, dtype=float)
    n = v.shape[0]
    half = t_quantile(0.5 + confidence / 2, n - 1) * v.std(0, ddof=1) / math.sqrt(n)
    return v.mean(0), half


def interval(df: pd.DataFrame, metric: str) -> tuple[float, float, float]:
    """``(mean, low, high)`` of ``metric`` over the seeds: the mean and its Student-t interval."""
    mean, half = map(float, mean_interval(df[metric].to_numpy(), df.attrs.get("confidence", 0.95)))
    return mean, mean - half, mean + half


def compare(a: pd.DataFrame, b: pd.DataFrame, metric: str) -> int:
    """-1 if A is lower than B with non-overlapping intervals, +1 if higher, 0 if they overlap."""
    (_, a_lo, a_hi), (_, b_lo, b_hi) = interval(a, metric), interval(b, metric)
    return -1 if a_hi < b_lo else 1 if a_lo > b_hi else 0


def decimals(half: float, percent: bool = False) -> int:
    """The decimal places :func:`format_interval` gives a value with half-width ``half``: two
    significant digits of the half-width, at least 3 and at most 4 (a share in percent: 2
    fewer, of the value times 100)."""
    places = 3 if half <= 0 else min(4, max(3, 1 - math.floor(math.log10(half))))
    return places - 2 if percent else places


def format_interval(mean: float, half: float, percent: bool = False) -> str:
    """``"mean ± half"`` with the half-width to two significant digits and the mean to the same
    decimal place (:func:`decimals`; scientific notation below 1e-3); with ``percent``, a share in
    percent rounded alike: 0.0790 ± 0.0038 as ``"7.90% ± 0.38%"``; a half-width below the last
    decimal as ``"± <0.0001"``."""
    scale, unit = (100, "%") if percent else (1, "")
    if 0 < abs(mean) < 1e-3:
        return f"{scale * mean:.2g}{unit} ± {scale * half:.1g}{unit}"
    places = decimals(half, percent)
    shown = f"{scale * half:.{places}f}" if round(scale * half, places) or half <= 0 else (
        f"<{10.0**-places:.{places}f}")  # a half-width that rounds to 0 is not 0
    return f"{scale * mean:.{places}f}{unit} ± {shown}{unit}"


def cell(df: pd.DataFrame, metric: str) -> str:
    """``"mean ± half-width"`` of one metric, as tables and prose print it."""
    mean, lo, hi = interval(df, metric)
    return format_interval(mean, (hi - lo) / 2)
