"""Catalogue of the scores chapter's exercise: ``score_and_x0(xt, eps, alpha_bar) -> (score, x0)``,
the score ``-eps / sqrt(1 - alpha_bar)`` and Tweedie's ``(x_t + (1 - alpha_bar) score) /
sqrt(alpha_bar)``, against :func:`diffusion2d.parameterisation.score_from_eps` and
:func:`~diffusion2d.parameterisation.x0_from_eps`. Rules: ``alpha_bar`` is a (N, 1) tensor, one
value per point; nothing is drawn."""

import torch

from ..parameterisation import score_from_eps, x0_from_eps
from . import _runner
from ._runner import Part, cases, generator, two_parts

NAME = "score_and_x0"
SUMMARY = "three batches (the score and Tweedie's estimate of x_0, small to large noise)"


def reference(xt: torch.Tensor, eps: torch.Tensor, alpha_bar: torch.Tensor):
    return score_from_eps(eps, alpha_bar), x0_from_eps(xt, eps, alpha_bar)


def _make(k: int, alpha_bars: list[float]) -> tuple[tuple, dict]:
    g = generator(k)
    ab = torch.tensor(alpha_bars, dtype=torch.float64).reshape(-1, 1)  # (N, 1)
    x0 = torch.randn(len(ab), 2, generator=g, dtype=torch.float64)
    eps = torch.randn(len(ab), 2, generator=g, dtype=torch.float64)
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps  # (N, 2), DDPM eq. 4
    return (xt, 0.9 * eps, ab), {}  # eps: a noise prediction, not the true noise


CASES = cases(_make, ("five points at different noise levels", [0.99, 0.9, 0.7, 0.3, 0.1]),
              ("three points at little noise (alpha_bar near 1)", [0.9999, 0.999, 0.98]),
              ("four points at much noise (alpha_bar near 0)", [0.2, 0.05, 0.01, 0.25]))

HINTS = _runner.ALL_HINTS["score"]


def _wrong(score=lambda eps, ab: -eps / (1 - ab).sqrt(),
           x0=lambda xt, s, ab: (xt + (1 - ab) * s) / ab.sqrt()):
    """A score_and_x0 with the given score formula, then the given Tweedie formula."""
    def fn(xt, eps, alpha_bar):
        s = score(eps, alpha_bar)
        return s, x0(xt, s, alpha_bar)
    return fn  # fmt: skip


MISTAKES = [
    ("score_sign", _wrong(score=lambda eps, ab: eps / (1 - ab).sqrt())),
    ("score_signal", _wrong(score=lambda eps, ab: -eps / ab.sqrt())),
    ("score_variance", _wrong(score=lambda eps, ab: -eps / (1 - ab))),
    ("score_unscaled", _wrong(score=lambda eps, ab: -eps)),
    ("tweedie_sign", _wrong(x0=lambda xt, s, ab: (xt - (1 - ab) * s) / ab.sqrt())),
    ("tweedie_std", _wrong(x0=lambda xt, s, ab: (xt + (1 - ab).sqrt() * s) / ab.sqrt())),
    ("tweedie_no_variance", _wrong(x0=lambda xt, s, ab: (xt + s) / ab.sqrt())),
    ("tweedie_not_rescaled", _wrong(x0=lambda xt, s, ab: xt + (1 - ab) * s)),
    ("tweedie_alpha_bar", _wrong(x0=lambda xt, s, ab: (xt + (1 - ab) * s) / ab)),
    ("swapped", lambda xt, eps, ab: reference(xt, eps, ab)[::-1]),
    ("not_tuple", lambda xt, eps, ab: reference(xt, eps, ab)[0]),
]


def view(out: object, args: tuple) -> list[Part]:
    """The score and the estimate of x_0, each of the points' shape (N, 2)."""
    return two_parts(out, ("score", "estimate of x_0"), tuple(args[0].shape),
                     returns="score, x0")


def explain(i: int, **_) -> str:
    """No listed mistake: the formula of the part that differs."""
    return ("score", "tweedie")[i]
