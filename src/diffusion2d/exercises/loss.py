"""Catalogue of exercise 2 (chapter 04): ``get_loss(model, x0s, eps, alpha_bars, ts)``, L_simple,
against :func:`diffusion2d.loss.get_loss` on three batches (the format: :mod:`._runner`).

Rules: it draws nothing (it uses the given ``eps`` and ``ts``), returns the **mean** over the batch
and both coordinates (a sum, or the squared norm, 2x the mean, has the same minimiser but fails
with a hint naming the factor, so that the numbers match the book's training curves), and keeps
the gradient."""

from __future__ import annotations

import torch

from ..forward import q_sample
from ..loss import get_loss as reference
from ._model import FakeModel
from ._runner import GLOBAL_SEED, RUNNER_HINTS, Failure, Part, close, fmt, generator

NAME, SUMMARY = "get_loss", "three batches (6 and 2 points for T = 10, 16 for T = 50)"


def _case(desc: str, schedule: tuple, steps: list[int], k: int) -> tuple:
    def make() -> tuple[tuple, dict]:
        g, model = generator(k), FakeModel(*schedule)
        x0s = torch.randn(len(steps), 2, generator=g) * torch.tensor([1.0, 0.7]) + 0.3
        eps = torch.randn(len(steps), 2, generator=g)
        return (model, x0s, eps, model.alpha_bars.clone(), torch.tensor(steps)), {}
    return desc, make  # fmt: skip


CASES = [
    _case("a batch of 6 points (T = 10)", (0.02, 0.3, 10), [0, 3, 9, 5, 7, 1], 0),
    _case("a batch of 2 points at different steps (T = 10)", (0.02, 0.3, 10), [1, 8], 1),
    _case("the workshop schedule (beta_max = 0.05, T = 50), 16 points", (1e-4, 0.05, 50),
          [49, 0, 12, 25, 6, 37, 44, 3, 18, 30, 9, 49, 21, 1, 33, 40], 2),
]  # fmt: skip

HINTS = {
    "variance": "x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (DDPM eq. 4): both "
        "coefficients are standard deviations, so take square roots; you used a variance "
        "(alpha_bar_t or 1 - alpha_bar_t) itself.",
    "alpha": "Use alpha_bars[t] (alpha_bar_t = alpha_1 * ... * alpha_t), not alphas[t]: eq. 4 "
        "jumps from x_0 to x_t in one go, through all t steps.",
    "index_shift": "Index alpha_bars with the steps directly, alpha_bars[ts]: steps are 0-based "
        "and index t already is the paper's step t+1.",
    "x0_target": "The model predicts the noise: the target of L_simple is eps, not x_0 (DDPM eq. "
        "14: || eps - eps_theta(x_t, t) ||^2).",
    "clean_input": "Feed the model the noised points x_t (with the steps ts), not the clean x_0: "
        "eps_theta(x_t, t).",
    "sum": "Average, do not sum: this book's L_simple is the mean over the batch and both "
        "coordinates, ((eps - eps_pred) ** 2).mean(). A sum has the same minimiser but a scale "
        "that grows with the batch size.",
    "sum_coordinates": "Your value is exactly twice the reference: you summed the squared error "
        "over the two coordinates (the squared norm of eq. 14). This book averages over both "
        "coordinates too: ((eps - eps_pred) ** 2).mean(), so your numbers match the training "
        "curves.",
    "rmse": "Do not take a square root at the end: L_simple is the mean *squared* error.",
    "broadcast": RUNNER_HINTS["broadcast"],
    "random": "Your function returns different values for the same inputs: use the eps and ts it "
        "is given (they are the random draws); do not draw new noise or steps inside.",
    "no_model": "Call the model on the noised points: eps_pred = model(x_t, ts).",
    "detached": "Keep the loss connected to the model's parameters so that loss.backward() can "
        "train it: no torch.no_grad(), .detach(), .item() or conversion to numpy.",
    "not_scalar": "Return one number: the mean over the batch and both coordinates, "
        "((eps - eps_pred) ** 2).mean().",
    "generic": "L_simple (DDPM eq. 14, Algorithm 1): x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - "
        "alpha_bar_t) eps with alpha_bar_t = alpha_bars[ts] shaped (B, 1), then ((eps - "
        "model(x_t, ts)) ** 2).mean(). Typical slips: a variance instead of a standard deviation, "
        "alphas instead of alpha_bars, x_0 as the target, a wrong broadcast.",
}  # fmt: skip


def _noising(c0=torch.sqrt, c1=lambda a: (1 - a).sqrt(), shape=(-1, 1), bars=lambda m, ab: ab):
    """A get_loss with x_t = c0(a) x_0 + c1(a) eps, a = bars(model, alpha_bars)[ts] reshaped to
    ``shape``; the defaults are eq. 4 with a of shape (B, 1)."""
    def wrong(model, x0s, eps, alpha_bars, ts):
        a = bars(model, alpha_bars)[ts].reshape(shape)
        return ((eps - model(c0(a) * x0s + c1(a) * eps, ts)) ** 2).mean()
    return wrong  # fmt: skip


def _errors(model, x0s, eps, alpha_bars, ts, target=None, steps=0):
    """The squared errors (B, 2) of eq. 14, or against ``target``, or at the steps ts + steps."""
    xt = q_sample(x0s, ts, eps, alpha_bars)
    return ((eps if target is None else target) - model(xt, ts + steps)) ** 2


MISTAKES = [
    ("variance", _noising(lambda a: a, lambda a: 1 - a)),
    ("variance", _noising(lambda a: a)),
    ("variance", _noising(c1=lambda a: 1 - a)),
    ("alpha", _noising(bars=lambda model, ab: model.alphas)),
    ("alpha", lambda m, x0s, eps, ab, ts: ((eps - m(m.alphas[ts, None].sqrt() * x0s + (
        1 - ab[ts, None]).sqrt() * eps, ts)) ** 2).mean()),  # alpha_t, then alpha_bar_t
    ("index_shift", _noising(bars=lambda model, ab: ab.roll(1))),  # alpha_bars[ts - 1]
    ("x0_target", lambda m, x0s, eps, ab, ts: _errors(m, x0s, eps, ab, ts, target=x0s).mean()),
    ("clean_input", lambda m, x0s, eps, ab, ts: ((eps - m(x0s, ts)) ** 2).mean()),
    ("sum", lambda *args: _errors(*args).sum()),
    ("sum_coordinates", lambda *args: _errors(*args).sum(1).mean()),
    ("rmse", lambda *args: _errors(*args).mean().sqrt()),
    ("not_scalar", lambda *args: _errors(*args).mean(1)),
    ("detached", lambda *args: reference(*args).item()),
    ("detached", lambda *args: reference(*args).detach()),
    ("random", lambda m, x0s, eps, ab, ts: reference(m, x0s, torch.randn_like(x0s), ab, ts)),
    ("broadcast", _noising(shape=(-1,))),  # (B,) against (B, 2)
    ("broadcast", _noising(shape=(1, -1))),  # (1, B): silent when B = 2
    ("model_input", _noising(shape=(-1, 1, 1))),  # x_t of shape (B, B, 2)
    ("model_input", lambda *args: _errors(*args, steps=1).mean()),  # the paper's steps
]  # fmt: skip


def view(out: object, args: tuple) -> list[Part]:
    """The loss (one number) and whether it carries a gradient."""
    if not args[0].calls:
        raise Failure("your get_loss never called the model", hint=HINTS["no_model"],
                      mistake="no_model")  # fmt: skip
    if isinstance(out, (float, int)) and not isinstance(out, bool):
        raise Failure(f"it returned a Python {type(out).__name__}; expected a tensor",
                      got=fmt(out), hint=HINTS["detached"], mistake="detached")  # fmt: skip
    if not isinstance(out, torch.Tensor):
        raise Failure(f"it returned a {type(out).__name__}; expected a scalar tensor",
                      hint=HINTS["not_scalar"], mistake="type")  # fmt: skip
    if out.numel() != 1:
        raise Failure(f"it returned a tensor of shape {tuple(out.shape)}; expected one number",
                      got=fmt(out), hint=HINTS["not_scalar"], mistake="not_scalar")  # fmt: skip
    return [Part("the loss differs from the reference", out.detach().double().reshape(())),
            Part("the value is right but the loss carries no gradient",
                 torch.tensor(float(out.requires_grad)), shown=False)]  # fmt: skip


def explain(diff) -> str:
    """No listed mistake: does a second run (another global seed) give another value?"""
    if diff.i == 1:
        return "detached"
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(GLOBAL_SEED + 1)
            again = diff.fn(*diff.make()[0]).detach().reshape(())
    except Exception:  # noqa: BLE001 - only asking whether a second run differs
        return "generic"
    return "generic" if close(again, diff.got[0].value) else "random"
