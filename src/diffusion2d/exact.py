"""The exact denoiser of a finite data set, and the workshop's "drift vector fields".

For data points x0_1..x0_M the noised marginal is the mixture (DDPM eq. 4)
``q(x_t) = 1/M sum_i N(x_t; sqrt(alpha_bar_t) x0_i, (1 - alpha_bar_t) I)``, so x_t came from
point i with the weight ``w_i ∝ exp(-|x_t - sqrt(alpha_bar_t) x0_i|^2 / (2 (1 - alpha_bar_t)))``
(squared distance, unlike the workshop; a log-sum-exp softmax, no NaN even at tiny noise). From
them: ``E[x0 | x_t] = sum_i w_i x0_i`` (Tweedie), the optimal noise prediction ``E[eps | x_t]``
(eq. 4 solved for eps; the minimiser of L_simple, eq. 14) and the exact reverse mean
``E[mu_tilde(x_t, x0) | x_t]`` (eq. 7), whose displacement from x_t is the workshop's drift.
Steps are 0-based: step t uses ``alphas[t]``, ``alpha_bars[t]`` and ``alpha_bars[t-1]`` (1 at 0).
With class labels (:class:`ExactConditional`): ``E[eps | x_t, y]`` is the exact denoiser of class
y's points alone, and the null label's ``E[eps | x_t]`` that of all points: the exact model that
classifier-free guidance (``guidance``, Ho & Salimans 2022) mixes.
"""

import numpy as np
import torch
from torch import nn

from .schedules import alpha_bars_prev, get_diffusion_parameters, register_schedule
from .utils import check_labels, check_points, check_steps, grid


def posterior_weights(xt: torch.Tensor, data: torch.Tensor, alpha_bar) -> torch.Tensor:
    """Weights ``w[n, i] = q(x0 = data_i | x_t = xt_n)``; ``alpha_bar`` is a scalar or (N,)."""
    ab = torch.as_tensor(alpha_bar, dtype=xt.dtype).reshape(-1, 1, 1)  # (N or 1, 1, 1)
    diff = xt[:, None, :] - ab.sqrt() * data[None, :, :]  # (N, M, 2)
    logits = -(diff**2).sum(-1) / (2.0 * (1.0 - ab[:, :, 0]))  # (N, M): squared norm
    return torch.softmax(logits, dim=1)  # (N, M), rows sum to 1


def posterior_mean_x0(xt: torch.Tensor, data: torch.Tensor, alpha_bar) -> torch.Tensor:
    """``E[x0 | x_t]`` under the empirical data distribution, shape (N, 2)."""
    return posterior_weights(xt, data, alpha_bar) @ data


def exact_eps(xt: torch.Tensor, data: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """``E[eps | x_t]``: the noise prediction that minimises L_simple exactly, shape (N, 2)."""
    ab = torch.as_tensor(alpha_bar, dtype=xt.dtype).reshape(-1, 1)  # (N or 1, 1)
    x0_hat = posterior_mean_x0(xt, data, ab.flatten())
    return (xt - ab.sqrt() * x0_hat) / (1.0 - ab).sqrt()


def exact_reverse_mean(xt: torch.Tensor, data: torch.Tensor, t: int, alphas: torch.Tensor,
                       alpha_bars: torch.Tensor) -> torch.Tensor:
    """``E[mu_tilde(x_t, x0) | x_t]`` at 0-based step t, with mu_tilde from DDPM eq. 7."""
    a, ab, ab_prev = (v[t].to(xt.dtype) for v in (alphas, alpha_bars, alpha_bars_prev(alpha_bars)))
    coef_x0 = ab_prev.sqrt() * (1.0 - a) / (1.0 - ab)  # eq. 7, first coefficient (beta_t = 1 - a)
    coef_xt = a.sqrt() * (1.0 - ab_prev) / (1.0 - ab)  # eq. 7, second
    return coef_x0 * posterior_mean_x0(xt, data, ab) + coef_xt * xt


def reverse_conditional(xt: torch.Tensor, data: torch.Tensor, alpha_bars: torch.Tensor, t: int,
                        s: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The exact reverse conditional ``q(x_s | x_t) = sum_i w_i(x_t) N(x_s; mu_i, var I)`` of a
    finite data set: the posterior of DDPM eqs. 6-7, taken from x_t straight to x_s, averaged
    over the data points. States use the paper's indexing (x_0 the data), ``0 <= s < t <= T``;
    ``alpha_bars`` is the 0-based schedule (T,). For s = t - 1 this is one reverse step (variance
    beta_tilde_t). Returns ``(weights (N, M), means (N, M, 2), var)`` in float64."""
    x, x0 = check_points("xt", xt).double(), check_points("data", data).double()
    T = len(alpha_bars)
    if not (isinstance(t, int) and isinstance(s, int) and 0 <= s < t <= T):
        raise ValueError(f"need integers 0 <= s < t <= T={T}, got t={t!r}, s={s!r}")
    ab = torch.cat([torch.ones(1, dtype=torch.float64), alpha_bars.double()])  # ab[k]: paper's k
    a = ab[t] / ab[s]  # q(x_t | x_s) = N(sqrt(a) x_s, (1 - a) I)
    weights = posterior_weights(x, x0, ab[t])  # (N, M)
    coef_x0 = ab[s].sqrt() * (1.0 - a) / (1.0 - ab[t])  # eq. 7 with the jump t -> s
    coef_xt = a.sqrt() * (1.0 - ab[s]) / (1.0 - ab[t])
    means = coef_x0 * x0[None, :, :] + coef_xt * x[:, None, :]  # (N, M, 2)
    return weights, means, (1.0 - a) * (1.0 - ab[s]) / (1.0 - ab[t])


def mixture_share(xt: torch.Tensor, data: torch.Tensor, alpha_bars: torch.Tensor, t: int,
                  s: int) -> torch.Tensor:
    """How far ``q(x_s | x_t)`` is from one Gaussian, per point (N,): the share of its variance
    from the spread of the component means against their own noise (0: one Gaussian, 1: data)."""
    weights, means, var = reverse_conditional(xt, data, alpha_bars, t, s)
    centre = (weights[..., None] * means).sum(1, keepdim=True)  # (N, 1, 2)
    between = (weights * ((means - centre) ** 2).sum(-1)).sum(1)  # (N,)
    return between / (between + xt.shape[1] * var)


def drift_grids(dataset: torch.Tensor, beta_min: float, beta_max: float, T: int,
                xrange: tuple = (-2, 2, 0.15), yrange: tuple = (-2, 2, 0.15)) -> list[np.ndarray]:
    """The exact drift ``E[mu_tilde(x_k, x0) | x_k] - x_k`` on :func:`utils.grid`, for k = 0..T:
    T+1 arrays (ny, nx, 2); element 0 is zeros (no step to take), element k is 0-based step k-1."""
    data = check_points("dataset", dataset).double()
    alphas, alpha_bars = (s.double() for s in get_diffusion_parameters(beta_min, beta_max, T)[1:])
    gx, _, pts = grid(xrange, yrange)  # (ny, nx), (ny*nx, 2) float64
    drifts = (exact_reverse_mean(pts, data, t, alphas, alpha_bars) - pts for t in range(T))
    return [np.zeros(gx.shape + (2,))] + [d.numpy().reshape(gx.shape + (2,)) for d in drifts]


class ExactDenoiser(nn.Module):
    """The ideal noise predictor ``E[eps | x_t]`` for a fixed data set, usable like a model (with
    the schedule samplers read). Sampling with it reproduces the data: perfect memorisation."""

    def __init__(self, data: torch.Tensor, beta_min: float, beta_max: float, T: int):
        super().__init__()
        self.register_buffer("data", check_points("data", data).clone())
        register_schedule(self, beta_min, beta_max, T)

    def forward(self, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        t = check_steps("t", t, self.T, n=check_points("xt", xt).shape[0])
        return exact_eps(xt.double(), self.data.double(), self.alpha_bars.double()[t]).to(xt.dtype)


class ExactConditional(ExactDenoiser):
    """The ideal class-conditional noise predictor of points ``data`` (M, 2) with class
    ``labels`` (M,) in [0, num_classes): ``model(xt, t, y)`` is E[eps | x_t, y], the
    :class:`ExactDenoiser` of class y's points (per row of y (N,)), and ``model(xt, t)`` (the null
    label) E[eps | x_t] of all points, i.e. of the classes weighted by their sizes."""

    def __init__(self, data: torch.Tensor, labels: torch.Tensor, beta_min: float, beta_max: float,
                 T: int, num_classes: int | None = None):
        super().__init__(data, beta_min, beta_max, T)
        k = int(labels.max()) + 1 if num_classes is None else num_classes
        self.num_classes = k
        self.register_buffer("labels", check_labels("labels", labels, k, len(data)).clone())

    def forward(self, xt: torch.Tensor, t: torch.Tensor, y=None) -> torch.Tensor:
        if y is None:
            return super().forward(xt, t)
        t = check_steps("t", t, self.T, n=check_points("xt", xt).shape[0])
        y = check_labels("y", y, self.num_classes, len(xt))  # (N,)
        eps = torch.empty_like(xt)  # (N, 2)
        for k in y.unique().tolist():
            rows = y == k
            eps[rows] = exact_eps(xt[rows].double(), self.data[self.labels == k].double(),
                                  self.alpha_bars.double()[t[rows]]).to(xt.dtype)
        return eps
