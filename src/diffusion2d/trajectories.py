"""Sampling seen as particles: one reverse step with its parts, and whole recorded trajectories.

Each reverse step moves a particle by a deterministic part (the learned field: the DDPM mean of
eq. 11, or the DDIM update of eq. 12, minus x_t) plus, for DDPM only, noise sigma_t z with
sigma_t^2 = beta_t (none at the last step, Algorithm 2). The recorder keeps each step's positions,
eps_theta, deterministic move, added noise and the field on a grid, so that a page can replay
sampling without a kernel. Frame k (k = 0..T) is the state after k reverse steps, x_{T-k}; step
k (k = 0..T-1) leads from frame k to k+1 with 0-based step T-1-k. :func:`record_pair` records
DDPM and DDIM from one x_T; chapter 06 reads :func:`trajectory_stats`, :func:`noise_walk` and
:func:`endpoint_distance` off them.
"""

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from .metrics import chamfer_distance
from .samplers import ddim_step, ddpm_step
from .utils import check_points, torch_threads
from .utils import grid as grid_points


@dataclass
class StepResult:
    """One reverse step: ``x_prev = xt + drift + added_noise``; shapes (N, 2)."""

    x_prev: torch.Tensor
    eps_pred: torch.Tensor
    drift: torch.Tensor
    added_noise: torch.Tensor


@torch.no_grad()
def learned_drift(model, xt: torch.Tensor, t: int, deterministic: bool = False):
    """``(eps_pred, drift)`` at 0-based step t: the noise prediction and the deterministic move,
    mu_theta(x_t, t) - x_t for DDPM (eq. 11), the eq. 12 update minus x_t for DDIM."""
    eps = model(xt, t)  # (N, 2)
    if deterministic:
        return eps, ddim_step(xt, t, eps, model.alpha_bars) - xt
    return eps, ddpm_step(xt, t, eps, model.betas, model.alphas, model.alpha_bars, None) - xt


@torch.no_grad()
def trajectory_step(model, xt: torch.Tensor, t: int, deterministic: bool = False,
                    generator: torch.Generator | None = None) -> StepResult:
    """One reverse step from 0-based step ``t`` that also returns its parts. DDPM: x_{t-1} =
    x_t + drift + sqrt(beta_t) z with z ~ N(0, I) and no noise at t == 0 (Algorithm 2). DDIM
    (``deterministic``): x_{t-1} = x_t + drift, no noise (eq. 12, eta = 0)."""
    eps, drift = learned_drift(model, xt, t, deterministic)
    if deterministic or t == 0:
        noise = torch.zeros_like(xt)
    else:
        z = torch.randn(xt.shape, generator=generator, dtype=xt.dtype)  # (N, 2)
        noise = model.betas[t].to(xt.dtype).sqrt() * z  # sigma_t z, sigma_t^2 = beta_t
    return StepResult(xt + drift + noise, eps, drift, noise)


@dataclass
class Trajectories:
    """A recorded sampling run (numpy float32): frame k is x_{T-k}, step k leads to frame k+1."""

    positions: np.ndarray  # (T+1, N, 2), frame k
    eps_pred: np.ndarray  # (T, N, 2), step k; so are drift and added_noise
    drift: np.ndarray
    added_noise: np.ndarray
    field: np.ndarray  # (T, ny, nx, 2): the deterministic displacement on the grid at step k
    grid_x: np.ndarray  # (ny, nx), and grid_y
    grid_y: np.ndarray
    paper_t: np.ndarray  # (T+1,): the paper's time index T-k of frame k
    deterministic: bool


@torch.no_grad()
def record_trajectories(model, num_particles: int = 200, deterministic: bool = False,
                        generator: torch.Generator | None = None, x_T: torch.Tensor | None = None,
                        grid: tuple = ((-2.5, 2.5, 0.25), None)) -> Trajectories:
    """Run the sampler from x_T ~ N(0, I) (or ``x_T``), recording every step (field on ``grid``)."""
    if hasattr(model, "eval"):
        model.eval()
    x = torch.randn(num_particles, 2, generator=generator) if x_T is None else x_T.clone()
    positions, steps, fields = [check_points("x_T", x)], [], []
    gx, gy, grid_pts = grid_points(*grid)  # (ny, nx) each, (ny*nx, 2)
    with torch_threads():
        for t in range(model.T - 1, -1, -1):
            fields.append(learned_drift(model, grid_pts.float(), t, deterministic)[1])
            steps.append(trajectory_step(model, positions[-1], t, deterministic, generator))
            positions.append(steps[-1].x_prev)

    def stack(xs: list[torch.Tensor]) -> np.ndarray:
        return torch.stack(xs).numpy().astype(np.float32)

    parts = {k: stack([getattr(s, k) for s in steps]) for k in ("eps_pred", "drift", "added_noise")}
    return Trajectories(positions=stack(positions), **parts,
                        field=stack(fields).reshape((model.T,) + gx.shape + (2,)),
                        grid_x=gx.astype(np.float32), grid_y=gy.astype(np.float32),
                        paper_t=np.arange(model.T, -1, -1), deterministic=deterministic)


FIELD_GRID = (-2.8, 2.81, 0.4)  # 15 x 15 arrows over the plotted square
STAT_LABELS = {"path_length": "distance travelled (mean path length)",
               "net_move": r"net displacement $\lVert x_0 - x_T \rVert$",
               "drift_total": "summed length of the deterministic moves",
               "noise_total": "summed length of the added noise",
               "noise_net": "length of the summed added noise"}


def record_pair(model, num_particles: int = 300, generator: torch.Generator | None = None,
                grid: tuple = FIELD_GRID) -> dict[str, Trajectories]:  # fmt: skip
    """``{"DDPM": ..., "DDIM": ...}``: both samplers recorded from the *same* x_T ~ N(0, I),
    drawn from ``generator``, which then also draws DDPM's noise; the field on ``grid``."""
    g = torch.Generator().manual_seed(0) if generator is None else generator
    x_T = torch.randn(num_particles, 2, generator=g)  # (N, 2)
    return {name: record_trajectories(model, num_particles, det, g, x_T, (grid, grid))
            for name, det in (("DDPM", False), ("DDIM", True))}  # fmt: skip


def frame_of(traj: Trajectories, t: int) -> int:
    T = len(traj.paper_t) - 1
    if isinstance(t, bool) or not 0 <= int(t) <= T or int(t) != t:
        raise ValueError(f"t must be an integer time in 0..{T}, got {t!r}")
    return T - int(t)


def trajectory_stats(traj: Trajectories, data: torch.Tensor) -> dict[str, float]:
    """Per-particle means over one recorded run, in data units, of :data:`STAT_LABELS`
    (``noise_net``: how far the summed noise alone would carry a particle) and ``chamfer``, of
    the final x_0 to ``data`` (not the protocol)."""
    pos = traj.positions.astype(np.float64)  # (T+1, N, 2)
    noise = traj.added_noise.astype(np.float64)  # (T, N, 2)
    data = check_points("data", torch.as_tensor(data)).double()
    return {
        "path_length": float(np.linalg.norm(np.diff(pos, axis=0), axis=-1).sum(0).mean()),
        "net_move": float(np.linalg.norm(pos[-1] - pos[0], axis=-1).mean()),
        "drift_total": float(np.linalg.norm(traj.drift, axis=-1).sum(0).mean()),
        "noise_total": float(np.linalg.norm(traj.added_noise, axis=-1).sum(0).mean()),
        "noise_net": float(np.linalg.norm(noise.sum(0), axis=-1).mean()),
        "chamfer": chamfer_distance(torch.from_numpy(pos[-1]), data),
    }


def noise_walk(betas: torch.Tensor) -> dict[str, float]:
    """What DDPM's added noise does on its own, as a random walk in 2-D: steps sigma_t z_t with
    sigma_t^2 = beta_t at every step but the last (Algorithm 2), independent z_t ~ N(0, I).
    ``sum_sigma`` = sum sigma_t, ``root_sum_sq`` = sqrt(sum sigma_t^2). The expected summed step
    length is ``noise_total`` = sqrt(pi/2) sum sigma_t (E|z| = sqrt(pi/2) in 2-D); the steps sum
    to N(0, sum sigma_t^2 I), of expected length ``noise_net`` = sqrt(pi/2) root_sum_sq only."""
    b = torch.as_tensor(betas, dtype=torch.float64)
    if b.ndim != 1 or len(b) < 1 or bool((b < 0).any()):
        raise ValueError(f"betas must be a non-negative 1-D schedule, got shape {tuple(b.shape)}")
    sigma = b[1:].sqrt()  # no noise at the last step, 0-based t = 0
    sum_sigma, root = float(sigma.sum()), float(sigma.pow(2).sum().sqrt())
    c = float(np.sqrt(np.pi / 2))
    return {"sum_sigma": sum_sigma, "root_sum_sq": root, "noise_total": c * sum_sigma,
            "noise_net": c * root}  # fmt: skip


def stats_table(stats: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(stats).loc[list(STAT_LABELS)].set_axis(list(STAT_LABELS.values()))


def endpoint_distance(a: Trajectories, b: Trajectories) -> float:
    """Mean distance between the x_0 two runs reach from the same starting points."""
    if a.positions.shape != b.positions.shape:
        raise ValueError(f"runs differ in shape: {a.positions.shape} vs {b.positions.shape}")
    return float(np.linalg.norm(a.positions[-1] - b.positions[-1], axis=-1).mean())
