"""The exact denoiser of a finite data set, and the workshop's "drift vector fields".

For data points x0_1..x0_M the noised marginal is the mixture (DDPM eq. 4)
``q(x_t) = 1/M sum_i N(x_t; sqrt(alpha_bar_t) x0_i, (1 - alpha_bar_t) I)``, so the posterior over
which point generated x_t has weights ``w_i ∝ exp(-|x_t - sqrt(alpha_bar_t) x0_i|^2 / (2 (1 -
alpha_bar_t)))`` (squared distance; the workshop used the unsquared norm). From them:

- the optimal x_0 prediction ``E[x0 | x_t] = sum_i w_i x0_i`` (Tweedie);
- the optimal noise prediction ``E[eps | x_t] = (x_t - sqrt(alpha_bar_t) E[x0|x_t]) /
  sqrt(1 - alpha_bar_t)`` (from eq. 4), the minimiser of L_simple (eq. 14);
- the exact reverse mean ``E[mu_tilde(x_t, x0) | x_t]`` with mu_tilde from eq. 7, whose
  displacement from x_t is the drift the workshop plots.

Weights are computed with a log-sum-exp softmax, so no NaN appears even at tiny noise (k = 1).
Steps are 0-based: step t uses ``alphas[t]``, ``alpha_bars[t]`` and alpha_bar_prev =
``alpha_bars[t-1]`` (1 at t = 0).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .schedules import alpha_bars_prev, get_diffusion_parameters, register_schedule
from .utils import check_points, check_steps, grid


def posterior_weights(
    xt: torch.Tensor, data: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    """Weights ``w[n, i] = q(x0 = data_i | x_t = xt_n)``; ``alpha_bar`` is a scalar or (N,)."""
    ab = torch.as_tensor(alpha_bar, dtype=xt.dtype).reshape(-1, 1, 1)  # (N or 1, 1, 1)
    diff = xt[:, None, :] - ab.sqrt() * data[None, :, :]  # (N, M, 2)
    logits = -(diff**2).sum(-1) / (2.0 * (1.0 - ab[:, :, 0]))  # (N, M): squared norm
    return torch.softmax(logits, dim=1)  # (N, M), rows sum to 1


def posterior_mean_x0(
    xt: torch.Tensor, data: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    """``E[x0 | x_t]`` under the empirical data distribution, shape (N, 2)."""
    return posterior_weights(xt, data, alpha_bar) @ data


def exact_eps(xt: torch.Tensor, data: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """``E[eps | x_t]``: the noise prediction that minimises L_simple exactly, shape (N, 2)."""
    ab = torch.as_tensor(alpha_bar, dtype=xt.dtype).reshape(-1, 1)  # (N or 1, 1)
    x0_hat = posterior_mean_x0(xt, data, ab.flatten())
    return (xt - ab.sqrt() * x0_hat) / (1.0 - ab).sqrt()


def exact_reverse_mean(
    xt: torch.Tensor, data: torch.Tensor, t: int, alphas: torch.Tensor, alpha_bars: torch.Tensor
) -> torch.Tensor:
    """``E[mu_tilde(x_t, x0) | x_t]`` at 0-based step t, with mu_tilde from DDPM eq. 7."""
    ab = alpha_bars[t].to(xt.dtype)
    ab_prev = alpha_bars_prev(alpha_bars)[t].to(xt.dtype)
    beta = 1.0 - alphas[t].to(xt.dtype)
    coef_x0 = ab_prev.sqrt() * beta / (1.0 - ab)  # eq. 7, first coefficient
    coef_xt = alphas[t].to(xt.dtype).sqrt() * (1.0 - ab_prev) / (1.0 - ab)  # eq. 7, second
    return coef_x0 * posterior_mean_x0(xt, data, ab) + coef_xt * xt



def reverse_conditional(
    xt: torch.Tensor, data: torch.Tensor, alpha_bars: torch.Tensor, t: int, s: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The exact reverse conditional ``q(x_s | x_t)`` of a finite data set, a Gaussian mixture.

    States use the paper's indexing (x_0 the data, x_T the end of the forward process), so
    ``0 <= s < t <= T``; ``alpha_bars`` is the 0-based schedule (T,), whose entry k-1 is the
    paper's alpha_bar_k. Averaging the posterior of DDPM eqs. 6-7 (arXiv 2006.11239), taken
    from x_t straight to x_s, over the data points with the weights w_i(x_t):
    ``q(x_s | x_t) = sum_i w_i(x_t) N(x_s; mu_i, var I)``. For s = t - 1 this is one reverse step
    (variance beta_tilde_t); for a long jump the components sit near the data points.

    Returns ``(weights (N, M), means (N, M, 2), var)`` in float64.
    """
    check_points("xt", xt)
    check_points("data", data)
    T = len(alpha_bars)
    if not (isinstance(t, int) and isinstance(s, int) and 0 <= s < t <= T):
        raise ValueError(f"need integers 0 <= s < t <= T={T}, got t={t!r}, s={s!r}")
    ab = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bars.double()])  # ab[k]: paper's k
    a = ab[t] / ab[s]  # q(x_t | x_s) = N(sqrt(a) x_s, (1 - a) I)
    x, x0 = xt.double(), data.double()
    weights = posterior_weights(x, x0, ab[t])  # (N, M)
    coef_x0 = ab[s].sqrt() * (1.0 - a) / (1.0 - ab[t])  # eq. 7 with the jump t -> s
    coef_xt = a.sqrt() * (1.0 - ab[s]) / (1.0 - ab[t])
    means = coef_x0 * x0[None, :, :] + coef_xt * x[:, None, :]  # (N, M, 2)
    return weights, means, (1.0 - a) * (1.0 - ab[s]) / (1.0 - ab[t])


def mixture_share(
    xt: torch.Tensor, data: torch.Tensor, alpha_bars: torch.Tensor, t: int, s: int
) -> torch.Tensor:
    """How far ``q(x_s | x_t)`` is from one Gaussian, per point (N,): the share of its variance
    that comes from the spread of the component means (0: a single Gaussian; 1: nothing but
    weighted data points), against the components' own noise."""
    weights, means, var = reverse_conditional(xt, data, alpha_bars, t, s)
    centre = (weights[..., None] * means).sum(1, keepdim=True)  # (N, 1, 2)
    between = (weights * ((means - centre) ** 2).sum(-1)).sum(1)  # (N,)
    return between / (between + xt.shape[1] * var)


def drift_grids(
    dataset: torch.Tensor,
    beta_min: float,
    beta_max: float,
    T: int,
    xrange: tuple[float, float, float] = (-2, 2, 0.15),
    yrange: tuple[float, float, float] = (-2, 2, 0.15),
) -> list[np.ndarray]:
    """The exact drift ``E[mu_tilde(x_k, x0) | x_k] - x_k`` on a grid, for k = 0..T.

    Returns T+1 arrays of shape (ny, nx, 2) on ``np.meshgrid(np.arange(*xrange),
    np.arange(*yrange))``; element 0 is zeros (no step to take), element k uses 0-based step k-1.
    """
    check_points("dataset", dataset)
    _, alphas, alpha_bars = get_diffusion_parameters(beta_min, beta_max, T)
    gx, _, pts = grid(xrange, yrange)  # (ny, nx), (ny*nx, 2) float64
    data = dataset.double()
    alphas, alpha_bars = alphas.double(), alpha_bars.double()
    grids = [np.zeros(gx.shape + (2,))]
    for k in range(1, T + 1):
        drift = exact_reverse_mean(pts, data, k - 1, alphas, alpha_bars) - pts  # (ny*nx, 2)
        grids.append(drift.numpy().reshape(gx.shape + (2,)))
    return grids


class ExactDenoiser(nn.Module):
    """The ideal noise predictor ``E[eps | x_t]`` for a fixed data set, usable like a model.

    It has the attributes samplers read (``betas, alphas, alpha_bars, T``) and ``model(xt, t)``.
    Sampling with it reproduces the training points: it is the perfect-memorisation limit.
    """

    def __init__(self, data: torch.Tensor, beta_min: float, beta_max: float, T: int):
        super().__init__()
        check_points("data", data)
        self.register_buffer("data", data.clone())
        register_schedule(self, beta_min, beta_max, T)

    def forward(self, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        check_points("xt", xt)
        t = check_steps("t", t, self.T, n=xt.shape[0])
        xt64 = xt.double()
        eps = exact_eps(xt64, self.data.double(), self.alpha_bars.double()[t])
        return eps.to(xt.dtype)
