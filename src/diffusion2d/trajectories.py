"""Sampling seen as particles: one reverse step with its parts, and whole recorded trajectories.

Each reverse step moves a particle by a deterministic part (the learned field: the DDPM mean of
eq. 11 minus x_t, or the DDIM update of eq. 12 minus x_t) plus, for DDPM only, added noise
sigma_t z with sigma_t^2 = beta_t (none at the last step, Algorithm 2). The recorder keeps, for
every step, the particle positions, the predicted noise eps_theta, the deterministic displacement,
the added noise, and the learned field on a grid, so that a page can replay sampling without a
kernel. Indexing: frame k (k = 0..T) is the state after k reverse steps, i.e. x_{T-k} in the
paper's notation; step k (k = 0..T-1) goes from frame k to frame k+1 using 0-based step T-1-k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .samplers import ddim_step, ddpm_step
from .utils import check_points, check_steps, torch_threads
from .utils import grid as grid_points


@dataclass
class StepResult:
    """One reverse step: ``x_prev = xt + drift + added_noise``; shapes (N, 2)."""

    x_prev: torch.Tensor
    eps_pred: torch.Tensor
    drift: torch.Tensor
    added_noise: torch.Tensor


@torch.no_grad()
def learned_drift(
    model, xt: torch.Tensor, t: int, deterministic: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(eps_pred, drift)`` at 0-based step t: the noise prediction and the deterministic move.

    DDPM: drift = mu_theta(x_t, t) - x_t (eq. 11). DDIM: drift = (eq. 12 update) - x_t.
    """
    check_points("xt", xt)
    ts = check_steps("t", t, model.T, n=xt.shape[0])
    eps = model(xt, ts)  # (N, 2)
    if deterministic:
        return eps, ddim_step(xt, ts, eps, model.alpha_bars) - xt
    return eps, ddpm_step(xt, ts, eps, model.betas, model.alphas, model.alpha_bars, None) - xt


@torch.no_grad()
def trajectory_step(
    model,
    xt: torch.Tensor,
    t: int,
    deterministic: bool = False,
    generator: torch.Generator | None = None,
) -> StepResult:
    """One reverse step from 0-based step ``t`` that also returns its parts.

    DDPM (``deterministic=False``): x_{t-1} = x_t + drift + sqrt(beta_t) z with z ~ N(0, I) and
    no noise at t == 0 (Algorithm 2). DDIM: x_{t-1} = x_t + drift, no noise (eq. 12, eta = 0).
    """
    eps, drift = learned_drift(model, xt, t, deterministic)
    if deterministic or t == 0:
        noise = torch.zeros_like(xt)
    else:
        z = torch.randn(xt.shape, generator=generator, dtype=xt.dtype)  # (N, 2)
        noise = model.betas[t].to(xt.dtype).sqrt() * z  # sigma_t z, sigma_t^2 = beta_t
    return StepResult(xt + drift + noise, eps, drift, noise)


@dataclass
class Trajectories:
    """A recorded sampling run; arrays are numpy float32.

    positions (T+1, N, 2): frame k is x_{T-k}; eps_pred, drift, added_noise (T, N, 2): step k;
    field (T, ny, nx, 2): the deterministic displacement on the grid at step k;
    grid_x, grid_y (ny, nx); paper_t (T+1,): the paper's time index T-k of frame k.
    """

    positions: np.ndarray
    eps_pred: np.ndarray
    drift: np.ndarray
    added_noise: np.ndarray
    field: np.ndarray
    grid_x: np.ndarray
    grid_y: np.ndarray
    paper_t: np.ndarray
    deterministic: bool


@torch.no_grad()
def record_trajectories(
    model,
    num_particles: int = 200,
    deterministic: bool = False,
    generator: torch.Generator | None = None,
    x_T: torch.Tensor | None = None,
    grid: tuple[tuple[float, float, float], tuple[float, float, float]] = (
        (-2.5, 2.5, 0.25),
        (-2.5, 2.5, 0.25),
    ),
) -> Trajectories:
    """Run the sampler from x_T ~ N(0, I) (or the given ``x_T``) and record every step."""
    if hasattr(model, "eval"):
        model.eval()
    with torch_threads():
        return _record(model, num_particles, deterministic, generator, x_T, grid)


def _record(model, num_particles, deterministic, generator, x_T, grid) -> Trajectories:
    x = torch.randn(num_particles, 2, generator=generator) if x_T is None else x_T.clone()
    check_points("x_T", x)
    gx, gy, grid_pts = grid_points(*grid)  # (ny, nx) each, (ny*nx, 2)
    grid_pts = grid_pts.float()
    positions, eps_l, drift_l, noise_l, field_l = [x.numpy().copy()], [], [], [], []
    for t in range(model.T - 1, -1, -1):
        _, field = learned_drift(model, grid_pts, t, deterministic)
        step = trajectory_step(model, x, t, deterministic, generator)
        x = step.x_prev
        positions.append(x.numpy().copy())
        eps_l.append(step.eps_pred.numpy())
        drift_l.append(step.drift.numpy())
        noise_l.append(step.added_noise.numpy())
        field_l.append(field.numpy().reshape(gx.shape + (2,)))
    return Trajectories(
        positions=np.stack(positions).astype(np.float32),
        eps_pred=np.stack(eps_l).astype(np.float32),
        drift=np.stack(drift_l).astype(np.float32),
        added_noise=np.stack(noise_l).astype(np.float32),
        field=np.stack(field_l).astype(np.float32),
        grid_x=gx.astype(np.float32),
        grid_y=gy.astype(np.float32),
        paper_t=np.arange(model.T, -1, -1),
        deterministic=deterministic,
    )
