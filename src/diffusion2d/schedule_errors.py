"""How a noise schedule passes a model's error on to the sampler (chapter "noise_schedules").

A model's noise prediction misses the exact one, ``E[eps | x_t]`` of the training points
(:func:`exact.exact_eps`, the minimiser of L_simple, DDPM eq. 14), by some error e. One DDPM step
(eq. 11) multiplies it by ``beta_t / (sqrt(alpha_t) sqrt(1 - alpha_bar_t))`` (:func:`ddpm_gain`);
DDIM's predicted x_0 (eq. 12) by ``sqrt((1 - alpha_bar_t) / alpha_bar_t)`` (:func:`x0_gain`).
Where a schedule's last alpha_bar is tiny (the cosine schedule with its betas clipped at 0.999,
Nichol & Dhariwal 2021, eq. 17) these factors are large, and a small error in eps becomes a large
one in x. Steps are 0-based (t = 0 .. T-1).
"""

import numpy as np
import torch

from .exact import exact_eps
from .forward import q_sample
from .utils import check_points, check_positive_int, check_schedule, evaluating, torch_threads


def ddpm_gain(betas: torch.Tensor, alphas: torch.Tensor, alpha_bars: torch.Tensor) -> np.ndarray:
    """``beta_t / (sqrt(alpha_t) sqrt(1 - alpha_bar_t))`` per step (T,): the factor by which DDPM
    eq. 11 turns an error in eps_theta into an error in the mean of x_{t-1}; inf where
    alpha_bar_t = 0 (zero terminal SNR, where an eps-model cannot be sampled at all)."""
    check_schedule(betas=betas, alphas=alphas, alpha_bars=alpha_bars)
    b, a, ab = (v.double() for v in (betas, alphas, alpha_bars))
    with np.errstate(divide="ignore"):
        return (b / (a.sqrt() * (1.0 - ab).sqrt())).numpy()


def x0_gain(alpha_bars: torch.Tensor) -> np.ndarray:
    """``sqrt((1 - alpha_bar_t) / alpha_bar_t)`` per step (T,): the factor by which the predicted
    x_0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t) (DDIM eq. 12) carries an error
    in eps; inf where alpha_bar_t = 0."""
    check_schedule(alpha_bars=alpha_bars)
    ab = alpha_bars.double()
    return ((1.0 - ab) / ab).sqrt().numpy()


@torch.no_grad()
def eps_error_by_step(model, data: torch.Tensor, repeats: int = 8, seed: int = 0) -> np.ndarray:
    """Root-mean-square distance, per 0-based step (T,), between ``model(x_t, t)`` (its noise
    prediction) and the exact ``E[eps | x_t]`` of ``data`` (M, 2), over x_t ~ q(x_t): every point
    of ``data`` noised ``repeats`` times at every step (DDPM eq. 4, one generator seeded ``seed``).
    These are the draws of :func:`predictions.implied_errors`, so for an eps-model on its schedule
    both give the same error. NaN where alpha_bar_t = 0 (there x_t carries no signal, and an
    eps-model's x_0 is 0/0)."""
    x = check_points("data", data).double()  # (M, 2)
    check_positive_int("repeats", repeats)
    g = torch.Generator().manual_seed(seed)
    x0 = x.repeat(repeats, 1)  # (R*M, 2)
    abars = model.alpha_bars.double()  # (T,)
    out = np.full(model.T, np.nan)
    with torch_threads(1), evaluating(model):
        for t in range(model.T):
            eps = torch.randn(x0.shape, generator=g, dtype=x0.dtype)  # (R*M, 2)
            if float(abars[t]) == 0.0:
                continue
            xt = q_sample(x0, t, eps, abars)  # (R*M, 2), eq. 4
            pred = model(xt.float(), torch.full((len(xt),), t)).double()  # (R*M, 2)
            out[t] = float(((pred - exact_eps(xt, x, abars[t])) ** 2).sum(1).mean().sqrt())
    return out


@torch.no_grad()
def eps_error_by_radius(model, data: torch.Tensor, t: int, edges=(0.0, 2.0, 3.5, 4.5),
                        num: int = 200_000, seed: int = 0) -> np.ndarray:
    """The error of :func:`eps_error_by_step` at one 0-based step ``t``, per bin of the distance
    |x_t| from the origin (``edges``, K+1 increasing radii: K values; NaN for an empty bin), over
    ``num`` draws x_t ~ q(x_t): how much worse the network is where q(x_t) has few points."""
    x = check_points("data", data).double()  # (M, 2)
    check_positive_int("num", num)
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < model.T:
        raise ValueError(f"t must be a 0-based step in [0, {model.T - 1}], got {t!r}")
    r_edges = np.asarray(edges, dtype=float)
    if r_edges.ndim != 1 or r_edges.size < 2 or np.any(np.diff(r_edges) <= 0):
        raise ValueError(f"edges must be at least two increasing radii, got {edges!r}")
    ab = model.alpha_bars[t].double()
    if float(ab) == 0.0:
        raise ValueError(f"alpha_bar at step t={t} is 0: an eps-model's x_0 is 0/0 there")
    g = torch.Generator().manual_seed(seed)
    x0 = x[torch.randint(0, len(x), (num,), generator=g)]  # (num, 2)
    xt = ab.sqrt() * x0 + (1.0 - ab).sqrt() * torch.randn(num, 2, generator=g, dtype=x.dtype)
    radius = xt.norm(dim=1).numpy()  # (num,)
    out = np.full(r_edges.size - 1, np.nan)
    with torch_threads(1), evaluating(model):
        for k, (lo, hi) in enumerate(zip(r_edges[:-1], r_edges[1:], strict=True)):
            pts = xt[torch.from_numpy((radius >= lo) & (radius < hi))][:2000]  # (n, 2)
            if len(pts):
                pred = model(pts.float(), torch.full((len(pts),), t)).double()
                out[k] = float(((pred - exact_eps(pts, x, ab)) ** 2).sum(1).mean().sqrt())
    return out
