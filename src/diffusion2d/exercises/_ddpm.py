"""The reverse step and the DDPM sampler as a participant writes them, with a ``slip`` switched on:
the mistakes of the ``trajectory_step`` and ``sample`` catalogues. Both use the library's update
rules (:func:`~diffusion2d.samplers.ddpm_step`, eq. 11; :func:`~diffusion2d.samplers.ddim_jump`,
eq. 12), fed the coefficients a slip gets wrong (:func:`slipped`); without a slip they equal the
references, draws included. :func:`fits` tests a trajectory statistically, step by step: is what
a step adds beyond the mean distributed as sigma_t z, independent of x_t (:func:`residual_ok`)?
"""

from __future__ import annotations

import torch

from ..samplers import ddim_jump, ddpm_step
from ..schedules import alpha_bars_prev
from ..trajectories import StepResult
from ._runner import STAT_TOL, fmt

# the slips that many particles reveal without depending on the random draws
STAT_SLIPS = ("last_noise", "sigma_beta", "sigma_tilde", "mean_alpha_bar", "mean_variance",
              "ascending")  # fmt: skip


def slipped(model, slip: str | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(betas, alphas, sigmas)``: what eq. 11 is fed under ``slip``, and sigma_t per step.

    "mean_alpha_bar" divides by sqrt(alpha_bar_t) (alphas := alpha_bars); "mean_variance" scales
    eps_theta by beta_t / (1 - alpha_bar_t) (betas := betas / sqrt(1 - alpha_bars));
    "sigma_beta" adds beta_t z, "sigma_tilde" the posterior std; "last_noise" adds noise at t = 0.
    """
    betas, alphas, bars = model.betas, model.alphas, model.alpha_bars
    sigmas = {"sigma_beta": betas, "sigma_tilde": (betas * (1 - alpha_bars_prev(bars)) /
                                                   (1 - bars)).sqrt()}.get(slip, betas.sqrt())
    if slip != "last_noise":
        sigmas = sigmas * (torch.arange(model.T) > 0)  # Algorithm 2: z = 0 at the last step
    alphas = bars if slip == "mean_alpha_bar" else alphas
    betas = betas / (1 - bars).sqrt() if slip == "mean_variance" else betas
    return betas, alphas, sigmas  # fmt: skip


def mean(model, xt: torch.Tensor, t: int, slip: str | None = None, eps=None) -> torch.Tensor:
    """The deterministic part of a DDPM step (eq. 11) from ``xt``, under ``slip``."""
    betas, alphas, _ = slipped(model, slip)
    eps = model(xt, t + (slip == "paper_steps")).detach() if eps is None else eps
    return ddpm_step(xt, t, eps, betas, alphas, model.alpha_bars, None)


def step(model, xt, t, deterministic=False, generator=None, *, slip=None) -> StepResult:
    """``trajectory_step`` with a slip (also "mode_swapped", "drift_absolute", ...)."""
    det = deterministic != (slip == "mode_swapped")
    eps = model(xt, t + (slip == "paper_steps")).detach()
    if det:  # DDIM eq. 12: the library's jump to alpha_bar_prev (1 at t = 0)
        bars = model.alpha_bars.clone()
        if slip == "ddim_x0_alpha":
            bars[t] = model.alphas[t]  # the predicted x_0 divides by sqrt(alpha_t)
        prev = {"ddim_wraparound": (t - 1) % model.T, "ddim_no_shift": t}.get(slip)
        x = ddim_jump(xt, t, eps, bars, prev)
    else:
        x = mean(model, xt, t, slip, eps)
    sigma = slipped(model, slip)[2][t]
    noise = torch.zeros_like(xt)
    if sigma > 0 and (not det or slip == "deterministic_noise"):
        noise = sigma * torch.randn(xt.shape, generator=generator, dtype=xt.dtype)
    drift = {"drift_absolute": x, "drift_with_noise": x - xt + noise}.get(slip, x - xt)
    return StepResult(x + noise, eps, drift, noise)


def sample(num_samples, model, generator=None, *, slip=None) -> list[torch.Tensor]:
    """The DDPM sampler (sigma_t^2 = beta_t) with a slip (also "ascending")."""
    xs = [torch.randn(num_samples, 2, generator=generator)]
    for t in range(model.T) if slip == "ascending" else reversed(range(model.T)):
        xs.append(step(model, xs[-1], t, False, generator, slip=slip).x_prev)
    return xs


def residual_ok(r: torch.Tensor, xt: torch.Tensor, sigma) -> tuple[bool, str]:
    """Is r distributed as sigma z (z standard normal, independent of x_t)? And the numbers."""
    z = r / sigma
    zc, xc = z - z.mean(0), xt - xt.mean(0)
    corr = (xc * zc).sum(0) / (xc.norm(dim=0) * zc.norm(dim=0)).clamp_min(1e-12)
    ok = bool((z.mean(0).abs() < STAT_TOL).all() and abs(float(z.std()) - 1.0) < STAT_TOL
              and (corr.abs() < STAT_TOL).all())
    m = r.mean(0)
    return ok, (f"the random part of your update has mean ({fmt(m[0])}, {fmt(m[1])}) and "
                f"standard deviation {fmt(r.std())}")  # fmt: skip


def fits(model, xs: list[torch.Tensor], slip=None, steps=None) -> tuple[int, str] | None:
    """None if the trajectory ``xs`` (float64; over ``steps``, by default all T) is, in
    distribution, the sampler's under ``slip``; else the first step t that is not, and what was
    measured there."""
    sigmas = slipped(model, slip)[2].double()
    steps = steps or (range(model.T) if slip == "ascending" else reversed(range(model.T)))
    for k, t in enumerate(steps):
        r = xs[k + 1] - mean(model, xs[k], t, slip)
        if sigmas[t] == 0 and float(r.abs().max()) > 1e-4:
            return t, f"x_{t} differs from the mean by up to {fmt(r.abs().max())}"
        ok, measured = residual_ok(r, xs[k], sigmas[t]) if sigmas[t] > 0 else (True, "")
        if not ok:
            return t, f"{measured}; expected mean 0 and standard deviation {fmt(sigmas[t])}"
    return None
