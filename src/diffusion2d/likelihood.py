"""Negative log-likelihood in nats per point through the probability-flow ODE (Song et al. 2021).

A deterministic ODE carries each data point to the noise end, and the change of variables gives
the density the model assigns to it: ``log p_data(x) = log p_prior(x_end) + sum_k log |det J_k|``
with ``J_k`` the Jacobian of the k-th discrete step's map. In 2-D this is EXACT and cheap: each
2x2 Jacobian by autograd (no Hutchinson estimator). It is the discrete form of the instantaneous
change of variables (Chen et al. 2018, Theorem 1; Song et al. 2021, eq. 39 and App. D.2),
``log p_0 = log p_end + int div f``, which it approaches as the steps shrink; unlike a quadrature
of the divergence it stays right across the long last steps of schedules whose sigma explodes
(cosine). ``f`` must treat the points of a batch independently (every model here does), since the
Jacobians are taken of the batch's sums.

``nll`` (a DDPM-style model, ``model(xt, t)`` = eps_theta at 0-based steps t, with the schedule
``alpha_bars`` and ``T``), in the variables of DDIM eq. 14 and EDM Sec. 3 (those of the 'euler'
and 'heun' samplers): ``sigma = sqrt((1 - alpha_bar) / alpha_bar)``, ``y = x / sqrt(alpha_bar)``,
``dy/dsigma = eps_theta(y sqrt(alpha_bar_t), t)``.

1. The time grid: sigma = 0 (the data, alpha_bar = 1), then the sigmas of the visited steps in
   ascending order: every step 0 .. T-1, or for ``num_steps`` the evenly spaced steps of
   ``samplers.timesteps`` (rounded from T-1 down to 0: they always include 0 and T-1).
2. From sigma = 0 to sigma of step 0, one Euler step with the model at step 0 (it has no step at
   sigma = 0: the mirror of the sampler's last step); then one Heun step between consecutive
   visited steps: 2K - 1 network evaluations for K steps, each step with its log |det J_k|.
3. The prior at the noise end, step T-1: ``x = sqrt(alpha_bar_{T-1}) y ~ N(0, I)``, so
   ``log p_end(y) = log N(x; 0, I) + log alpha_bar_{T-1}`` (the Jacobian of y -> x in 2-D).
   Zero terminal SNR (alpha_bar_{T-1} = 0) has no finite sigma there and is refused.
4. ``nll = -(log p_end + sum_k log |det J_k|)``, per point, shape (N,).

``nll_terms`` returns the parts: the prior term, each step's log |det J_k| and the sign of det J_k.
The flow of an ODE never turns the plane over (det > 0); a negative determinant means that the
discrete step folded it, so that the map is not invertible there and the change of variables no
longer gives a density: too few steps for a field that changes too fast (the exact memorising
denoiser's, near its training points).

``flow_nll``: the same for a flow-matching velocity model (``flow.py``), with Heun steps from
t = 1 (the data) to t = 0, where the prior N(0, I) is exact.
"""

import math
from collections.abc import Callable
from typing import NamedTuple

import torch

from .flow import check_times
from .samplers import timesteps
from .schedules import signal_to_noise
from .utils import check_points, check_positive_int, evaluating

Field = Callable[[torch.Tensor], torch.Tensor]


def jacobian(f: Field, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(f(y), J)``: the values (N, 2) and each point's exact Jacobian ``J[n, i, j] = d f_i /
    d y_j`` (N, 2, 2), by autograd (one backward pass per coordinate), both detached."""
    with torch.enable_grad():
        y = y.detach().requires_grad_(True)
        out = f(y)  # (N, 2)
        rows = [torch.autograd.grad(out[:, i].sum(), y, retain_graph=i + 1 < out.shape[1])[0]
                for i in range(out.shape[1])]  # each (N, 2): row i of every Jacobian
    return out.detach(), torch.stack(rows, dim=1)


def _step(f_a: Field, f_b: Field | None, y: torch.Tensor, h):
    """One step of size ``h`` of ``dy = f dt``: ``(y_next, (sign, logabsdet))``, the new points
    (N, 2) and the determinant of the step's map y -> y_next, each (N,): Heun with the field
    ``f_a`` at the start and ``f_b`` at the end, Euler if ``f_b`` is None."""
    def step_map(v: torch.Tensor) -> torch.Tensor:
        slope = f_a(v)
        if f_b is None:
            return v + h * slope  # Euler
        return v + 0.5 * h * (slope + f_b(v + h * slope))  # Heun: trapezoid with the predictor

    y_next, jac = jacobian(step_map, y)
    return y_next, torch.linalg.slogdet(jac)


def _log_normal(x: torch.Tensor) -> torch.Tensor:
    """``log N(x; 0, I)`` per point, shape (N,)."""
    return -0.5 * (x**2).sum(1) - 0.5 * x.shape[1] * math.log(2.0 * math.pi)


class ODETerms(NamedTuple):
    """The parts of :func:`nll`: ``nll = -(log_prior + log_dets.sum(1))``."""

    log_prior: torch.Tensor  # (N,): log p_end at the noise end, with log alpha_bar_{T-1}
    log_dets: torch.Tensor  # (N, K): log |det J_k| of each step, the data end first
    signs: torch.Tensor  # (N, K): the sign of det J_k; -1 where the step folded the plane


def nll_terms(model, x: torch.Tensor, num_steps: int | None = None) -> ODETerms:
    """The terms of :func:`nll` for each point of ``x`` (N, 2), in the dtype of ``x``."""
    check_points("x", x)
    if not hasattr(model, "alpha_bars"):
        raise TypeError("nll needs a DDPM-style model with a schedule (alpha_bars, T); for a "
                        "flow-matching velocity model use flow_nll")
    if num_steps is not None:
        check_positive_int("num_steps", num_steps)
    steps = timesteps(model.T, num_steps)[::-1]  # step 1: ascending, 0 .. T-1
    alpha_bars = model.alpha_bars.to(x.dtype)[steps]  # (K,)
    if float(alpha_bars[-1]) == 0.0:
        raise ValueError("nll needs alpha_bar_{T-1} > 0: zero terminal SNR puts the noise end at "
                         "sigma = infinity")
    sigmas = torch.cat([alpha_bars.new_zeros(1), signal_to_noise(alpha_bars).rsqrt()])  # (K+1,)

    def field(k: int) -> Field:  # dy/dsigma at the k-th visited step
        t = torch.full((len(x),), steps[k], dtype=torch.long)
        return lambda y: model(y * alpha_bars[k].sqrt(), t)

    with evaluating(model):
        y, det = _step(field(0), None, x, sigmas[1] - sigmas[0])  # step 2: Euler from 0
        dets = [det]
        for k in range(len(steps) - 1):  # step 2: Heun between visited steps
            y, det = _step(field(k), field(k + 1), y, sigmas[k + 2] - sigmas[k + 1])
            dets.append(det)
    log_prior = _log_normal(y * alpha_bars[-1].sqrt()) + alpha_bars[-1].log()  # step 3, d = 2
    return ODETerms(log_prior, torch.stack([d.logabsdet for d in dets], 1),
                    torch.stack([d.sign for d in dets], 1))


def nll(model, x: torch.Tensor, num_steps: int | None = None) -> torch.Tensor:
    """Negative log-likelihood of each point of ``x`` (N, 2) under a DDPM-style model, in nats,
    shape (N,), computed in the dtype of ``x`` (steps 1-4 above)."""
    terms = nll_terms(model, x, num_steps)
    return -(terms.log_prior + terms.log_dets.sum(1))  # step 4


def flow_nll(model, x: torch.Tensor, num_steps: int = 50) -> torch.Tensor:
    """Negative log-likelihood of each point of ``x`` (N, 2) under a flow-matching velocity model
    ``model(x, t)``, in nats, shape (N,): Heun steps on t_k = 1 - k / num_steps (the data to the
    noise), the prior N(0, I) at t = 0. Evaluates the model at t = 1."""
    check_points("x", x)
    check_positive_int("num_steps", num_steps)
    ts = torch.linspace(1.0, 0.0, num_steps + 1, dtype=x.dtype)

    def field(k: int) -> Field:
        t = check_times("t", ts[k], len(x))
        return lambda y: model(y, t)

    with evaluating(model):
        y, log_det = x, torch.zeros(len(x), dtype=x.dtype)
        for k in range(num_steps):
            y, det = _step(field(k), field(k + 1), y, ts[k + 1] - ts[k])
            log_det = log_det + det.logabsdet
    return -(_log_normal(y) + log_det)
