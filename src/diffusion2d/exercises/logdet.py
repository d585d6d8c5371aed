"""Catalogue of the exercise of chapter "likelihood": ``euler_log_det(f, y, h) -> (y_next,
log_det)``, one Euler step ``y + h f(y)`` of a field ``f`` and ``log |det J|`` of its map for each
point (J = I + h df/dy, 2x2), against :func:`likelihood.jacobian` and ``slogdet``: the term each
step adds to the change of variables (Chen et al. 2018, Theorem 1, discretised). Rules: ``f``
treats the points of a batch independently; ``y`` is a float64 (N, 2) tensor; nothing is drawn."""

from functools import partial

import torch

from ..likelihood import jacobian
from . import _runner
from ._runner import Failure, Part, as_tensor, cases, generator

NAME = "euler_log_det"
SUMMARY = "three steps (a linear field, a curved one, and a step so long that it folds the plane)"


def _linear(y: torch.Tensor) -> torch.Tensor:
    a = torch.tensor([[0.5, -1.0], [2.0, 0.3]], dtype=y.dtype)
    return y @ a.T  # (N, 2)


def _curved(y: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.sin(y[:, 1]) + 0.5 * y[:, 0], torch.tanh(y[:, 0] * y[:, 1])], 1)


def _folding(y: torch.Tensor) -> torch.Tensor:
    """Contracts x_1 fast: a step of h = 0.5 overshoots, det J = -0.5 * 1.5 < 0 everywhere."""
    return torch.stack([-3.0 * y[:, 0] + y[:, 1] ** 2, y[:, 1]], 1)


def _make(k: int, f, h: float) -> tuple[tuple, dict]:
    y = torch.randn(6, 2, generator=generator(k), dtype=torch.float64)  # (6, 2)
    return (f, y, h), {}


CASES = cases(_make, ("a linear field f(y) = A y with h = 0.1", _linear, 0.1),
              ("a curved field with h = 0.3", _curved, 0.3),
              ("a step so long (h = 0.5) that it folds the plane: det J < 0", _folding, 0.5))

HINTS = _runner.ALL_HINTS["logdet"]


def step(f, y: torch.Tensor, h: float, *, slip=None):
    """The reference, or with ``slip`` a typical mistake: "no_identity" (log |det(h df/dy)|),
    "field_only" (log |det df/dy|), "trace" (h tr(df/dy), the first-order rate), "signed"
    (log det without the absolute value), "negated" (-log |det J|), "det_not_log" (|det J|),
    "backward" (y - h f(y)) and "per_point" (summed over the points)."""
    sign = -1.0 if slip == "backward" else 1.0
    y_next, jac = jacobian(lambda v: v + sign * h * f(v), y)  # (N, 2), (N, 2, 2)
    eye = torch.eye(2, dtype=y.dtype)
    if slip == "trace":
        return y_next, (jac - eye).diagonal(dim1=1, dim2=2).sum(1)  # jac - eye = h df/dy
    jac = {"no_identity": jac - eye, "field_only": (jac - eye) / h}.get(slip, jac)
    if slip == "signed":
        return y_next, torch.linalg.det(jac).log()  # NaN where det J < 0
    log_det = torch.linalg.slogdet(jac).logabsdet  # (N,)
    if slip == "det_not_log":
        return y_next, log_det.exp()
    if slip == "per_point":
        return y_next, log_det.sum()
    return y_next, -log_det if slip == "negated" else log_det


reference = step
MISTAKES = [(key, partial(step, slip=key)) for key in (
    "no_identity", "field_only", "trace", "signed", "negated", "det_not_log", "backward",
    "per_point")]  # fmt: skip
MISTAKES.append(("not_tuple", lambda f, y, h: step(f, y, h)[1]))


def view(out: object, args: tuple) -> list[Part]:
    """The point after the step (N, 2) and its log |det J| (N,)."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        what = (f"{len(out)} values" if isinstance(out, (tuple, list))
                else f"one {type(out).__name__}")  # fmt: skip
        raise Failure(f"it returned {what}; expected two: (y_next, log_det)", mistake="not_tuple")
    n = len(args[1])
    return [Part("the point after the step differs from the reference",
                 as_tensor("y_next", out[0], (n, 2))),
            Part("log |det J| differs from the reference",
                 as_tensor("log_det", out[1], (n,), slip="per_point"))]


def explain(i: int, got: list[Part], **_) -> str:
    """No listed mistake reproduces the output: NaN in log |det J| is a log of a negative
    determinant (the absolute value missing); else the general advice."""
    if i == 1 and not bool(torch.isfinite(got[1].value).all()):
        return "signed"
    return "generic"
