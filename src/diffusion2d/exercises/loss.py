"""Exercise 2 (chapter 04): :func:`check_get_loss`, the training loss L_simple.

Compares ``get_loss(model, x0s, eps, alpha_bars, ts)`` with :func:`diffusion2d.loss.get_loss`
(the mean over the batch and both coordinates) on three batches with the stand-in model; a wrong
value is matched against the typical mistakes (``LOSS_HINTS``: a variance for a standard
deviation, alphas for alpha_bars, x_0 as the target, a sum, a wrong broadcast, ...), and a loss
that is right but carries no gradient fails too.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import loss as _loss
from ._common import (
    _HINT_BROADCAST,
    GLOBAL_SEED,
    CheckResult,
    _call,
    _Failure,
    _generator,
    _in_case,
    _run_check,
)
from ._compare import _close, _fmt, _mismatch
from ._model import FakeModel

__all__ = ["LOSS_HINTS", "check_get_loss"]

LOSS_HINTS = {
    "variance": (
        "x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (DDPM eq. 4): both coefficients "
        "are standard deviations, so take square roots; you used a variance (alpha_bar_t or "
        "1 - alpha_bar_t) itself."
    ),
    "alpha": (
        "Use alpha_bars[t] (alpha_bar_t = alpha_1 * ... * alpha_t), not alphas[t]: eq. 4 jumps "
        "from x_0 to x_t in one go, through all t steps."
    ),
    "index_shift": (
        "Index alpha_bars with the steps directly, alpha_bars[ts]: steps are 0-based and index t "
        "already is the paper's step t+1."
    ),
    "x0_target": (
        "The model predicts the noise: the target of L_simple is eps, not x_0 "
        "(DDPM eq. 14: || eps - eps_theta(x_t, t) ||^2)."
    ),
    "clean_input": (
        "Feed the model the noised points x_t (with the steps ts), not the clean x_0: "
        "eps_theta(x_t, t)."
    ),
    "sum": (
        "Average, do not sum: this book's L_simple is the mean over the batch and both "
        "coordinates, ((eps - eps_pred) ** 2).mean(). A sum has the same minimiser but a scale "
        "that grows with the batch size."
    ),
    "sum_coordinates": (
        "Your value is exactly twice the reference: you summed the squared error over the two "
        "coordinates (the squared norm of eq. 14). This book averages over both coordinates "
        "too: ((eps - eps_pred) ** 2).mean(), so your numbers match the training curves."
    ),
    "rmse": "Do not take a square root at the end: L_simple is the mean *squared* error.",
    "broadcast": _HINT_BROADCAST,
    "random": (
        "Your function returns different values for the same inputs: use the eps and ts it is "
        "given (they are the random draws); do not draw new noise or steps inside."
    ),
    "no_model": "Call the model on the noised points: eps_pred = model(x_t, ts).",
    "detached": (
        "Keep the loss connected to the model's parameters so that loss.backward() can train "
        "it: no torch.no_grad(), .detach(), .item() or conversion to numpy."
    ),
    "not_scalar": (
        "Return one number: the mean over the batch and both coordinates, "
        "((eps - eps_pred) ** 2).mean()."
    ),
    "generic": (
        "L_simple (DDPM eq. 14, Algorithm 1): x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - "
        "alpha_bar_t) eps with alpha_bar_t = alpha_bars[ts] shaped (B, 1), then "
        "((eps - model(x_t, ts)) ** 2).mean(). Typical slips: a variance instead of a standard "
        "deviation, alphas instead of alpha_bars, x_0 as the target, a wrong broadcast."
    ),
}

_LOSS_CASES = [
    ("a batch of 6 points (T = 10)", (0.02, 0.3, 10), [0, 3, 9, 5, 7, 1]),
    ("a batch of 2 points at different steps (T = 10)", (0.02, 0.3, 10), [1, 8]),
    (
        "the workshop schedule (beta_max = 0.05, T = 50), 16 points",
        (1e-4, 0.05, 50),
        [49, 0, 12, 25, 6, 37, 44, 3, 18, 30, 9, 49, 21, 1, 33, 40],
    ),
]


def _mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b) ** 2).mean()


def _loss_variants(model: FakeModel, x0s, eps, alpha_bars, ts) -> dict[str, torch.Tensor]:
    """The listed mistakes, evaluated on one case (for naming the participant's slip)."""
    ab = alpha_bars[ts][:, None]  # (B, 1)
    a = model.alphas[ts][:, None]
    ab_shift = alpha_bars[ts - 1][:, None]  # wraps at t = 0, like the slip it mimics
    ab_row = alpha_bars[ts][None, :]  # (1, B): broadcasts over the coordinates when B == 2
    ref = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    out: dict[str, list[torch.Tensor]] = {
        "variance": [
            _mse(eps, model(ab * x0s + (1 - ab) * eps, ts)),
            _mse(eps, model(ab * x0s + (1 - ab).sqrt() * eps, ts)),
            _mse(eps, model(ab.sqrt() * x0s + (1 - ab) * eps, ts)),
        ],
        "alpha": [
            _mse(eps, model(a.sqrt() * x0s + (1 - a).sqrt() * eps, ts)),
            _mse(eps, model(a.sqrt() * x0s + (1 - ab).sqrt() * eps, ts)),
        ],
        "index_shift": [_mse(eps, model(ab_shift.sqrt() * x0s + (1 - ab_shift).sqrt() * eps, ts))],
        "x0_target": [_mse(x0s, model(ref, ts))],
        "clean_input": [_mse(eps, model(x0s, ts))],
        "sum": [((eps - model(ref, ts)) ** 2).sum()],
        "sum_coordinates": [((eps - model(ref, ts)) ** 2).sum(1).mean()],
        "rmse": [_mse(eps, model(ref, ts)).sqrt()],
    }
    if x0s.shape[0] == 2:
        wrong = ab_row.sqrt() * x0s + (1 - ab_row).sqrt() * eps
        out["broadcast"] = [_mse(eps, model(wrong, ts))]
    return {k: torch.stack([v.detach() for v in vs]) for k, vs in out.items()}


def check_get_loss(fn: Callable) -> CheckResult:
    """Check ``get_loss(model, x0s, eps, alpha_bars, ts)`` (L_simple, the mean; see package doc)."""

    def run(notes: list[str]) -> None:
        gen = _generator()
        for desc, schedule, steps in _LOSS_CASES:
            model = FakeModel(*schedule)
            B = len(steps)
            x0s = torch.randn(B, 2, generator=gen) * torch.tensor([1.0, 0.7]) + 0.3
            eps = torch.randn(B, 2, generator=gen)
            ts = torch.tensor(steps, dtype=torch.long)
            _in_case(desc, lambda m=model, x=x0s, e=eps, t=ts: _loss_case(fn, m, x, e, t))

    return _run_check(
        "get_loss", fn, ["three batches (6 and 2 points for T = 10, 16 for T = 50)"], run
    )


def _loss_case(fn: Callable, model: FakeModel, x0s, eps, ts) -> None:
    alpha_bars = model.alpha_bars
    expected = _loss.get_loss(model, x0s, eps, alpha_bars, ts).detach()
    model.calls.clear()
    got = _call(fn, model, x0s.clone(), eps.clone(), alpha_bars.clone(), ts.clone())
    hints = LOSS_HINTS
    if not model.calls:
        raise _Failure("your get_loss never called the model", hint=hints["no_model"],
                       mistake="no_model")  # fmt: skip
    if not isinstance(got, torch.Tensor):
        if isinstance(got, (float, int)) and not isinstance(got, bool):
            raise _Failure(
                f"it returned a Python {type(got).__name__}; expected a tensor",
                expected=_fmt(expected),
                got=_fmt(float(got)),
                hint=hints["detached"],
                mistake="detached",
            )
        raise _Failure(
            f"it returned a {type(got).__name__}; expected a scalar tensor",
            hint=hints["not_scalar"],
            mistake="type",
        )
    if got.numel() != 1:
        raise _Failure(
            f"it returned a tensor of shape {tuple(got.shape)}; expected one number",
            expected=_fmt(expected),
            got=_fmt(got),
            hint=hints["not_scalar"],
            mistake="not_scalar",
        )
    value = got.detach().reshape(())
    if not _close(value, expected):
        variants = _loss_variants(model, x0s, eps, alpha_bars, ts)
        key = next((k for k, v in variants.items() if any(_close(value, w) for w in v)), None)
        if key is None:
            try:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(GLOBAL_SEED + 1)
                    again = fn(model, x0s.clone(), eps.clone(), alpha_bars.clone(), ts.clone())
            except Exception:  # noqa: BLE001 - only asking whether a second run differs
                again = None
            if isinstance(again, torch.Tensor) and not _close(
                again.detach().reshape(-1), value.reshape(-1)
            ):
                key = "random"
        key = key or "generic"
        raise _mismatch("the loss differs from the reference", expected, value, hints, key)
    if not got.requires_grad:
        raise _Failure(
            "the value is right but the loss carries no gradient",
            hint=hints["detached"],
            mistake="detached",
        )
