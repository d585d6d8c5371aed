"""Catalogue of the exercise of chapter "guidance": ``guided_eps(model, xt, t, y,
guidance_scale)``, classifier-free guidance (Ho & Salimans 2022, eq. 6, written with
``guidance_scale`` s = 1 + w of the paper), against :func:`diffusion2d.guidance.guided_eps`:
``eps_uncond + s (eps_cond - eps_uncond)``, with ``eps_cond = model(xt, t, y)`` and
``eps_uncond = model(xt, t)``, the null label (``model(xt, t, None)`` and the null label's index
``model.num_classes`` are the same). s = 0 gives the unconditional model, s = 1 the conditional
one. The stand-in model, :class:`FakeConditional`, has three classes; it draws nothing."""

import torch

from ..guidance import guided_eps
from . import _runner
from ._model import FakeModel, ModelInputError
from ._runner import Failure, Part, as_tensor, cases, generator

NAME = "guided_eps"
SUMMARY = ("four batches (three classes at s = 3, one class at s = 0 and at s = 1, one label for "
           "all at s = 1.5)")
K = 3  # the stand-in's classes; label K is its null label


class FakeConditional(FakeModel):
    """``eps_theta(x_t, t, y)``: the stand-in :class:`FakeModel`'s eps, plus ``0.5 sin(x_t +
    c_y)`` for a class y (a different shift c_y per class, none for the null label): cheap and
    exact. ``model(xt, t)``, ``model(xt, t, None)`` and ``model(xt, t, K)`` are the null label."""

    num_classes = K

    def __init__(self):
        super().__init__(0.02, 0.3, 10)
        self.labels = []  # the labels of each call (K: the null label)

    def forward(self, xt: torch.Tensor, t, y=None) -> torch.Tensor:
        eps = super().forward(xt, t)  # checks x_t and t
        y = _labels(y, xt.shape[0])  # (N,)
        self.labels.append(y.clone())
        k = y.to(xt.dtype)[:, None]  # (N, 1)
        shift = torch.cat([0.7 * k - 0.5, 0.4 - 0.6 * k], dim=1)  # (N, 2): c_y
        return eps + (y < K).to(xt.dtype)[:, None] * 0.5 * torch.sin(xt + shift)


def _labels(y: object, n: int) -> torch.Tensor:
    """The labels (n,) of a call: None is the null label K; else an int or an integer tensor ()
    or (n,) in [0, K]; anything else raises :class:`ModelInputError` in plain words."""
    if y is None:
        return torch.full((n,), K)
    if isinstance(y, bool) or not isinstance(y, int | torch.Tensor):
        raise ModelInputError(f"the model received y of type {type(y).__name__}; class labels are "
                              "an int or a torch.long tensor of shape (N,), and model(xt, t) "
                              "(no label) is the null label")
    y = torch.as_tensor(y)
    if torch.is_floating_point(y) or y.is_complex():
        raise ModelInputError("the model received labels of a floating-point dtype; class labels "
                              "are integers (torch.long)")
    if y.ndim > 1 or (y.ndim == 1 and len(y) != n):
        raise ModelInputError(f"the model received labels of shape {tuple(y.shape)} for {n} "
                              f"points; pass y as given, shape ({n},) or one int")
    if y.numel() and not (0 <= int(y.min()) and int(y.max()) <= K):
        raise ModelInputError(f"the model received labels outside 0..{K}: its classes are 0.."
                              f"{K - 1} and {K} is its null label (the same as no label)")
    return y.long().expand(n)


def _make(k: int, n: int, labels: object, scale: float) -> tuple[tuple, dict]:
    g = generator(k)
    xt = torch.randn(n, 2, generator=g)  # (N, 2)
    t = torch.randint(0, 10, (n,), generator=g)  # (N,)
    y = torch.tensor(labels) if isinstance(labels, list) else labels
    return (FakeConditional(), xt, t, y, scale), {}


CASES = cases(_make, ("6 points of three classes at s = 3", 6, [0, 1, 2, 2, 1, 0], 3.0),
              ("4 points of class 1 at s = 0 (the unconditional model)", 4, [1, 1, 1, 1], 0.0),
              ("5 points at s = 1 (the conditional model)", 5, [2, 0, 1, 0, 2], 1.0),
              ("3 points with one label for all, y = 2, at s = 1.5", 3, 2, 1.5))

HINTS = _runner.ALL_HINTS["cfg"]


def reference(model, xt: torch.Tensor, t: torch.Tensor, y: object,
              guidance_scale: float = 1.0) -> torch.Tensor:
    return guided_eps(model, xt, t, y, guidance_scale)


def _wrong(combine, uncond=lambda model, xt, t, y: model(xt, t)):
    """A guided_eps: ``combine(eps_cond, eps_uncond, s)`` with eps_uncond from ``uncond``."""
    def fn(model, xt, t, y, guidance_scale=1.0):
        return combine(model(xt, t, y), uncond(model, xt, t, y), guidance_scale)
    return fn


MISTAKES = [
    ("swapped", _wrong(lambda c, u, s: c + s * (u - c))),
    ("paper_w", _wrong(lambda c, u, s: (1 + s) * c - s * u)),  # eq. 6 with w = s
    ("sign", _wrong(lambda c, u, s: u - s * (c - u))),
    ("no_base", _wrong(lambda c, u, s: s * (c - u))),
    ("scaled_cond", _wrong(lambda c, u, s: u + s * c)),
    ("no_null", _wrong(lambda c, u, s: u + s * (c - u), lambda m, xt, t, y: m(xt, t, y))),
    ("null_zero", _wrong(lambda c, u, s: u + s * (c - u), lambda m, xt, t, y: m(xt, t, 0))),
]


def view(out: object, args: tuple) -> list[Part]:
    """The guided eps (N, 2); a tuple (e.g. both predictions) is named."""
    if isinstance(out, (tuple, list)):
        raise Failure(f"it returned {len(out)} values; expected one tensor, the guided eps",
                      mistake="not_tensor")
    eps = as_tensor("the returned eps", out, tuple(args[1].shape), slip="shape")
    return [Part("the guided eps differs from the reference", eps)]


def explain(**_) -> str:
    """No listed mistake reproduces the output: the general advice."""
    return "generic"

