"""The DDPM update as the sampler and trajectory-step checks replay it, mistakes included.

:func:`_ddpm_mean` (eq. 11, or a typical slip in it) and :func:`_noise_scale` (sigma_t, or a slip)
serve both the exact replays and the statistical checks; :func:`_residual_ok` is that statistical
test: is what a step adds beyond the mean distributed as sigma_t z, independent of x_t?
"""

from __future__ import annotations

import torch

from ._common import STAT_TOL
from ._compare import _fmt


def _ddpm_mean(
    x: torch.Tensor,
    eps: torch.Tensor,
    b: torch.Tensor,
    a: torch.Tensor,
    ab: torch.Tensor,
    kind: str = "ddpm",
) -> torch.Tensor:
    """mu of DDPM eq. 11 from beta_t, alpha_t, alpha_bar_t; or a slip in it.

    ``kind`` "alpha_bar" divides by sqrt(alpha_bar_t) instead of sqrt(alpha_t); "variance" scales
    eps_theta by beta_t / (1 - alpha_bar_t) instead of beta_t / sqrt(1 - alpha_bar_t).
    """
    if kind == "alpha_bar":
        return (x - b / (1 - ab).sqrt() * eps) / ab.sqrt()
    if kind == "variance":
        return (x - b / (1 - ab) * eps) / a.sqrt()
    return (x - b / (1 - ab).sqrt() * eps) / a.sqrt()


def _noise_scale(
    b: torch.Tensor, ab: torch.Tensor, ab_prev: torch.Tensor, kind: str = "sqrt_beta"
) -> torch.Tensor:
    """sigma_t: sqrt(beta_t); or the slips "beta" (beta_t) and "tilde" (the posterior std)."""
    if kind == "beta":
        return b
    if kind == "tilde":
        return (b * (1 - ab_prev) / (1 - ab)).sqrt()
    return b.sqrt()


def _residual_ok(
    r: torch.Tensor, xt: torch.Tensor, sigma: torch.Tensor | float
) -> tuple[bool, str]:
    """Is r distributed as sigma z (z standard normal, independent of x_t)? And the numbers."""
    z = r / sigma
    mean = z.mean(0)
    std = z.std()
    xc = xt - xt.mean(0)
    zc = z - mean
    corr = (xc * zc).sum(0) / (xc.norm(dim=0) * zc.norm(dim=0)).clamp_min(1e-12)
    ok = bool(
        (mean.abs() < STAT_TOL).all() and abs(float(std) - 1.0) < STAT_TOL
        and (corr.abs() < STAT_TOL).all()
    )  # fmt: skip
    measured = (
        f"the random part of your update has mean ({_fmt(r.mean(0)[0])}, {_fmt(r.mean(0)[1])}) "
        f"and standard deviation {_fmt(r.std())}"
    )
    return ok, measured
