"""Catalogue of exercise 2 (chapter 04): ``get_loss(model, x0s, eps, alpha_bars, ts)``, L_simple,
against :func:`diffusion2d.loss.get_loss`. Rules: it draws nothing, returns the **mean** over the
batch and both coordinates (a sum or the squared norm fails, with a hint naming the factor, so that
the numbers match the book's training curves) and keeps the gradient."""

import torch

from ..loss import get_loss as reference
from . import _runner
from ._model import FakeModel
from ._runner import GLOBAL_SEED, Failure, Part, call, cases, close, fmt, generator

NAME, SUMMARY = "get_loss", "three batches (6 and 2 points for T = 10, 16 for T = 50)"


def _make(k: int, schedule: tuple, steps: list[int]) -> tuple[tuple, dict]:
    g, model = generator(k), FakeModel(*schedule)
    x0s = torch.randn(len(steps), 2, generator=g) * torch.tensor([1.0, 0.7]) + 0.3
    eps = torch.randn(len(steps), 2, generator=g)
    return (model, x0s, eps, model.alpha_bars.clone(), torch.tensor(steps)), {}


CASES = cases(_make, ("a batch of 6 points (T = 10)", (0.02, 0.3, 10), [0, 3, 9, 5, 7, 1]),
              ("a batch of 2 points at different steps (T = 10)", (0.02, 0.3, 10), [1, 8]),
              ("the workshop schedule (beta_max = 0.05, T = 50), 16 points", (1e-4, 0.05, 50),
               [49, 0, 12, 25, 6, 37, 44, 3, 18, 30, 9, 49, 21, 1, 33, 40]))  # fmt: skip

HINTS = _runner.ALL_HINTS["loss"]


def _wrong(c0=torch.sqrt, c1=lambda a: (1 - a).sqrt(), shape=(-1, 1), bars=lambda m, ab: ab,
           x0_target=False, steps=0, reduce=torch.mean):
    """A get_loss: x_t = c0(a) x_0 + c1(a) eps with a = bars(model, alpha_bars)[ts] of ``shape``,
    then ``reduce`` of the squared errors against eps (or x_0) at the steps ts + steps."""
    def fn(model, x0s, eps, alpha_bars, ts):
        a = bars(model, alpha_bars)[ts].reshape(shape)
        eps_pred = model(c0(a) * x0s + c1(a) * eps, ts + steps)
        return reduce(((x0s if x0_target else eps) - eps_pred) ** 2)
    return fn


MISTAKES = [
    ("variance", _wrong(lambda a: a, lambda a: 1 - a)),
    ("variance", _wrong(lambda a: a)),
    ("variance", _wrong(c1=lambda a: 1 - a)),
    ("alpha", _wrong(bars=lambda model, ab: model.alphas)),
    ("alpha", lambda m, x0s, eps, ab, ts: ((eps - m(m.alphas[ts, None].sqrt() * x0s + (
        1 - ab[ts, None]).sqrt() * eps, ts)) ** 2).mean()),  # alpha_t, then alpha_bar_t
    ("index_shift", _wrong(bars=lambda model, ab: ab.roll(1))),  # alpha_bars[ts - 1]
    ("x0_target", _wrong(x0_target=True)),
    ("clean_input", _wrong(c0=lambda a: 1, c1=lambda a: 0)),
    ("sum", _wrong(reduce=torch.sum)),
    ("sum_coordinates", _wrong(reduce=lambda errors: errors.sum(1).mean())),
    ("rmse", _wrong(reduce=lambda errors: errors.mean().sqrt())),
    ("not_scalar", _wrong(reduce=lambda errors: errors.mean(1))),
    ("detached", lambda *args: reference(*args).item()),
    ("detached", lambda *args: reference(*args).detach()),
    ("random", lambda m, x0s, eps, ab, ts: reference(m, x0s, torch.randn_like(x0s), ab, ts)),
    ("broadcast", _wrong(shape=(-1,))),  # (B,) against (B, 2)
    ("broadcast", _wrong(shape=(1, -1))),  # (1, B): silent when B = 2
    ("model_input", _wrong(shape=(-1, 1, 1))),  # x_t of shape (B, B, 2)
    ("model_input", _wrong(steps=1)),  # the paper's steps
]  # fmt: skip


def loss_view(name: str):
    """``view`` of a loss exercise (``name``: the participant's function, e.g. ``get_loss``): the
    loss, one number that carries a gradient, after a call that used the model."""

    def view(out: object, args: tuple) -> list[Part]:
        """The loss: one number that carries a gradient."""
        tensor = isinstance(out, torch.Tensor)
        if not args[0].calls:
            raise Failure(f"your {name} never called the model", mistake="no_model")
        if isinstance(out, (float, int)) and not isinstance(out, bool):
            raise Failure(f"it returned a Python {type(out).__name__}; expected a tensor", None,
                          fmt(out), "detached")  # fmt: skip
        if not tensor or out.numel() != 1:
            what = f"tensor of shape {tuple(out.shape)}" if tensor else type(out).__name__
            raise Failure(f"it returned a {what}; expected one number", None,
                          fmt(out) if tensor else None, "not_scalar")  # fmt: skip
        if not out.requires_grad:
            raise Failure("the loss carries no gradient", mistake="detached")
        return [Part("the loss differs from the reference", out.detach().double().reshape(()))]

    return view


def seed_explain(view):
    """``explain`` of a loss exercise whose function draws nothing: with no listed mistake, does
    a second run (another global seed) give another value ("random") or not ("generic")?"""

    def explain(fn, make, got: list[Part], **_) -> str:
        """No listed mistake: does a second run (another global seed) give another value?"""
        args = make()[0]
        try:
            again = view(call(fn, *args, seed=GLOBAL_SEED + 1), args)
        except Exception:  # noqa: BLE001 - only asking whether a second run differs
            return "generic"
        return "generic" if close(again[0].value, got[0].value) else "random"

    return explain


view = loss_view("get_loss")
explain = seed_explain(view)
