"""Catalogue of the exercise of chapter "probability_flow": ``heun_step(model, xt, t, t_prev,
alpha_bars)``, one step of Heun's method on the probability-flow ODE (EDM Algorithm 1) from
0-based step ``t`` to ``t_prev`` (-1: the clean end), in sigma = sqrt((1 - alpha_bar) /
alpha_bar) and y = x / sqrt(alpha_bar) (DDIM eq. 14), against :func:`step`; with t_prev = -1
(sigma = 0) the Euler step alone, as ``samplers.sample(..., "heun")`` does. It draws nothing."""

from functools import partial

import torch

from . import _runner
from ._model import FakeModel
from ._runner import Part, as_tensor, cases, generator

NAME, SUMMARY = "heun_step", "four steps of two schedules, the last one to the clean end"


def _make(k: int, schedule: tuple, t: int, t_prev: int) -> tuple[tuple, dict]:
    model = FakeModel(*schedule)
    xt = torch.randn(5, 2, generator=generator(3 + k)) * 1.3  # (5, 2)
    return (model, xt, t, t_prev, model.alpha_bars.clone()), {}


_T6, _T50 = (0.05, 0.4, 6), (1e-4, 0.05, 50)
CASES = cases(_make, ("the step from t = 5 = T-1 to t = 3 (beta 0.05 to 0.4, T = 6)", _T6, 5, 3),
              ("the step from t = 2 to t = 1 (T = 6)", _T6, 2, 1),
              ("the step from t = 49 to t = 44 (workshop schedule, T = 50)", _T50, 49, 44),
              ("the last step, from t = 0 to the clean end, t_prev = -1 (T = 6)", _T6, 0, -1))

HINTS = _runner.ALL_HINTS["heun"]


def step(model, xt, t, t_prev, alpha_bars, *, slip=None) -> torch.Tensor:
    """One Heun step (EDM Algorithm 1, lines 4-8) from t to t_prev; with ``slip``, a typical
    mistake: "euler" (no correction), "final_correction" (corrected also towards sigma = 0, with
    the network at step 0), "sigma_variance" (sigma^2 for sigma), "sigma_no_alpha_bar"
    (sqrt(1 - alpha_bar)), "corrector_at_start" (the second slope at x_t), "corrector_from_euler"
    (the average added to the Euler point), "model_on_y" (the network fed y, not x), "no_rescale"
    (y returned, not x) and "x_for_y" (x integrated as if it were y)."""
    ab = alpha_bars[t]
    ab_prev = alpha_bars[t_prev] if t_prev >= 0 else torch.ones(())  # alpha_bar = 1 at the end

    def sigma_of(a: torch.Tensor) -> torch.Tensor:  # sqrt((1 - alpha_bar) / alpha_bar)
        if slip == "sigma_no_alpha_bar":
            return (1 - a).sqrt()
        return (1 - a) / a if slip == "sigma_variance" else ((1 - a) / a).sqrt()

    def eps(y: torch.Tensor, scale: torch.Tensor, s: int) -> torch.Tensor:  # at x = y * scale
        return model(y if slip == "model_on_y" else y * scale, torch.full((len(xt),), s))

    one = torch.ones(())
    scale, scale_prev = (one, one) if slip == "x_for_y" else (ab.sqrt(), ab_prev.sqrt())
    y, h = xt / scale, sigma_of(ab_prev) - sigma_of(ab)  # (N, 2), sigma step (negative)
    d = eps(y, scale, t)  # dy/dsigma = eps_theta (line 4)
    y_next = y + h * d  # Euler step (line 5)
    if slip != "euler" and (t_prev >= 0 or slip == "final_correction"):  # lines 6-8, not to 0
        d_next = (eps(y, scale, t_prev) if slip == "corrector_at_start"
                  else eps(y_next, scale_prev, max(t_prev, 0)))  # fmt: skip
        y_next = (y_next if slip == "corrector_from_euler" else y) + h * (d + d_next) / 2
    return (y_next if slip == "no_rescale" else y_next * scale_prev).detach()


reference = step
MISTAKES = [(key, partial(step, slip=key)) for key in (
    "euler", "final_correction", "sigma_variance", "sigma_no_alpha_bar", "corrector_at_start",
    "corrector_from_euler", "model_on_y", "no_rescale", "x_for_y")]  # fmt: skip


def view(out: object, args: tuple) -> list[Part]:
    """x at t_prev, shape (N, 2)."""
    x = as_tensor("the returned x", out, tuple(args[1].shape))
    return [Part("the point after the step differs from the reference", x)]


def explain(**_) -> str:
    """No listed mistake reproduces the output: the general advice."""
    return "generic"
