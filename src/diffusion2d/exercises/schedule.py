"""Exercise 1 (chapter 02): :func:`check_get_diffusion_parameters`, the noise schedule.

Compares ``get_diffusion_parameters(beta_min, beta_max, T) -> (betas, alphas, alpha_bars)`` with
:func:`diffusion2d.schedules.get_diffusion_parameters` on three schedules; a wrong value is matched
against the typical mistakes (``SCHEDULE_HINTS``: beta_max excluded, a square root in the alphas,
a sum or a shifted product for the alpha_bars, ...).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import schedules as _schedules
from ._common import CheckResult, _call, _Failure, _in_case, _run_check
from ._compare import _as_tensor, _close, _fmt, _mismatch

__all__ = ["SCHEDULE_HINTS", "check_get_diffusion_parameters"]

_SCHEDULE_CASES = [
    ("the workshop schedule (beta_min = 1e-4, beta_max = 0.05, T = 50)", (1e-4, 0.05, 50)),
    ("the gentler schedule (beta_min = 1e-4, beta_max = 0.02, T = 50)", (1e-4, 0.02, 50)),
    ("a short schedule (beta_min = 0.1, beta_max = 0.3, T = 5)", (0.1, 0.3, 5)),
]

SCHEDULE_HINTS = {
    "not_tuple": "Return the three tensors as a tuple: return betas, alphas, alpha_bars.",
    "length": (
        "One value per step: T values, with index t holding the paper's step t+1 "
        "(torch.linspace(beta_min, beta_max, T) has exactly T)."
    ),
    "beta_max_excluded": (
        "The last beta must equal beta_max: the schedule runs from beta_min to beta_max "
        "inclusive. torch.linspace(beta_min, beta_max, T) includes both ends; torch.arange or "
        "linspace(..., T + 1)[:-1] stops one step short."
    ),
    "beta_min_excluded": (
        "The first beta must equal beta_min: torch.linspace(beta_min, beta_max, T) starts there."
    ),
    "betas": (
        "betas rise linearly from beta_min to beta_max: torch.linspace(beta_min, beta_max, T)."
    ),
    "alphas_sqrt": "alpha_t = 1 - beta_t, without a square root.",
    "alphas": "alphas = 1 - betas (DDPM Sec. 2: alpha_t := 1 - beta_t).",
    "alpha_bars_sum": (
        "alpha_bar_t is the product alpha_1 * alpha_2 * ... * alpha_t, not the sum: use "
        "torch.cumprod(alphas, dim=0)."
    ),
    "alpha_bars_total": (
        "alpha_bar_t is the running product up to step t (torch.cumprod(alphas, dim=0)), not the "
        "product of all the alphas."
    ),
    "alpha_bars_shifted": (
        "alpha_bars[0] is already alpha_1 = 1 - beta_1: index t holds the product up to the "
        "paper's step t+1, so do not start the product with 1."
    ),
    "alpha_bars_of_betas": "alpha_bars is the running product of the alphas, not of the betas.",
    "alpha_bars": (
        "alpha_bars is the running product of the alphas: torch.cumprod(alphas, dim=0) "
        "(the notation above DDPM eq. 4)."
    ),
}


def check_get_diffusion_parameters(fn: Callable) -> CheckResult:
    """Check ``get_diffusion_parameters(beta_min, beta_max, T) -> (betas, alphas, alpha_bars)``."""

    def run(notes: list[str]) -> None:
        for desc, (beta_min, beta_max, T) in _SCHEDULE_CASES:
            _in_case(desc, lambda a=beta_min, b=beta_max, n=T: _schedule_case(fn, a, b, n))

    return _run_check(
        "get_diffusion_parameters", fn, ["three schedules (betas, alphas and alpha_bars)"], run
    )


def _schedule_case(fn: Callable, beta_min: float, beta_max: float, T: int) -> None:
    ref = [v.double() for v in _schedules.get_diffusion_parameters(beta_min, beta_max, T)]
    ref_betas, ref_alphas, ref_bars = ref
    got = _call(fn, beta_min, beta_max, T)
    hints = SCHEDULE_HINTS
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        what = (
            f"it returned one {type(got).__name__}"
            if not isinstance(got, (tuple, list))
            else f"it returned {len(got)} values"
        )
        raise _Failure(
            what + "; expected three: (betas, alphas, alpha_bars)",
            hint=hints["not_tuple"],
            mistake="not_tuple",
        )
    for name, value in zip(("betas", "alphas", "alpha_bars"), got, strict=True):
        if isinstance(value, torch.Tensor) and value.ndim == 1 and value.shape[0] != T:
            raise _Failure(
                f"{name} has {value.shape[0]} values; expected T = {T}",
                expected=f"{T} values",
                got=f"{value.shape[0]} values",
                hint=hints["length"],
                mistake="length",
            )
    betas, alphas, bars = (
        _as_tensor(name, value, (T,))
        for name, value in zip(("betas", "alphas", "alpha_bars"), got, strict=True)
    )
    if not _close(betas, ref_betas):
        if _close(betas[:1], ref_betas[:1]) and not _close(betas[-1:], ref_betas[-1:]):
            key = "beta_max_excluded"
        elif not _close(betas[:1], ref_betas[:1]) and _close(betas[-1:], ref_betas[-1:]):
            key = "beta_min_excluded"
        else:
            key = "betas"
        raise _Failure(
            "betas differ from the reference",
            expected=_fmt(ref_betas[[0, 1, -2, -1]]) + " (first two, last two)",
            got=_fmt(betas[[0, 1, -2, -1]]) + " (first two, last two)",
            hint=hints[key],
            mistake=key,
        )
    if not _close(alphas, ref_alphas):
        key = "alphas_sqrt" if _close(alphas, ref_alphas.sqrt()) else "alphas"
        raise _mismatch("alphas differ from the reference", ref_alphas, alphas, hints, key)
    if not _close(bars, ref_bars):
        candidates = {
            "alpha_bars_sum": torch.cumsum(ref_alphas, 0),
            "alpha_bars_total": torch.full_like(ref_alphas, float(ref_alphas.prod())),
            "alpha_bars_shifted": _schedules.alpha_bars_prev(ref_bars),
            "alpha_bars_of_betas": torch.cumprod(ref_betas, 0),
        }
        key = next((k for k, v in candidates.items() if _close(bars, v)), "alpha_bars")
        raise _mismatch("alpha_bars differ from the reference", ref_bars, bars, hints, key)
