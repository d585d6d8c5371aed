"""Catalogue of exercise 1 (chapter 02): ``get_diffusion_parameters(beta_min, beta_max, T) ->
(betas, alphas, alpha_bars)`` against :func:`diffusion2d.schedules.get_diffusion_parameters`."""

import torch

from ..schedules import alpha_bars_prev, get_diffusion_parameters
from . import _runner
from ._runner import Failure, Part, as_tensor, cases, close

NAME, SUMMARY = "get_diffusion_parameters", "three schedules (betas, alphas and alpha_bars)"
reference = get_diffusion_parameters
CASES = cases(lambda k, *args: (args, {}),
              ("the workshop schedule (beta_min = 1e-4, beta_max = 0.05, T = 50)", 1e-4, 0.05, 50),
              ("the gentler schedule (beta_min = 1e-4, beta_max = 0.02, T = 50)", 1e-4, 0.02, 50),
              ("a short schedule (beta_min = 0.1, beta_max = 0.3, T = 5)", 0.1, 0.3, 5))

HINTS = _runner.ALL_HINTS["schedule"]


def _wrong(betas=torch.linspace, change=lambda *schedule: schedule):
    """A schedule from ``betas(beta_min, beta_max, T)`` returning ``change(betas, alphas, ...)``."""
    def fn(beta_min, beta_max, T):
        b = betas(beta_min, beta_max, T)
        return change(b, 1 - b, torch.cumprod(1 - b, 0))
    return fn  # fmt: skip


MISTAKES = [
    ("beta_max_excluded", _wrong(lambda lo, hi, T: torch.linspace(lo, hi, T + 1)[:-1])),
    ("beta_min_excluded", _wrong(lambda lo, hi, T: torch.linspace(lo, hi, T + 1)[1:])),
    ("length", _wrong(lambda lo, hi, T: torch.linspace(lo, hi, T + 1))),
    ("alphas_sqrt", _wrong(change=lambda b, a, ab: (b, a.sqrt(), ab))),
    ("alpha_bars_sum", _wrong(change=lambda b, a, ab: (b, a, a.cumsum(0)))),
    ("alpha_bars_total", _wrong(change=lambda b, a, ab: (b, a, a.prod().expand(len(a))))),
    ("alpha_bars_shifted", _wrong(change=lambda b, a, ab: (b, a, alpha_bars_prev(ab)))),
    ("alpha_bars_of_betas", _wrong(change=lambda b, a, ab: (b, a, b.cumprod(0)))),
    ("not_tuple", _wrong(change=lambda b, a, ab: b)),
]
_NAMES = ("betas", "alphas", "alpha_bars")


def view(out: object, args: tuple) -> list[Part]:
    """The three tensors, each of shape (T,) (another length is the mistake "length")."""
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        what = (f"{len(out)} values" if isinstance(out, (tuple, list))
                else f"one {type(out).__name__}")  # fmt: skip
        raise Failure(f"it returned {what}; expected three: (betas, alphas, alpha_bars)",
                      mistake="not_tuple")  # fmt: skip
    return [Part(f"{name} differ from the reference", as_tensor(name, x, (args[2],), "length"))
            for name, x in zip(_NAMES, out, strict=True)]  # fmt: skip


def explain(i: int, got: list[Part], expected: list[Part], **_) -> str:
    """No listed mistake: the hint of the part; for betas, of the end that is wrong."""
    if i > 0:
        return _NAMES[i]
    got, expected = got[0].value, expected[0].value
    ends = close(got[:1], expected[:1]), close(got[-1:], expected[-1:])
    return {(True, False): "beta_max_excluded", (False, True): "beta_min_excluded"}.get(
        ends, "betas")  # fmt: skip
