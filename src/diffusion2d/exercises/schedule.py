"""Catalogue of exercise 1 (chapter 02): ``get_diffusion_parameters(beta_min, beta_max, T) ->
(betas, alphas, alpha_bars)`` against :func:`diffusion2d.schedules.get_diffusion_parameters`."""

import torch

from ..schedules import alpha_bars_prev, get_diffusion_parameters
from ._runner import Failure, Part, as_tensor, cases, close

NAME, SUMMARY = "get_diffusion_parameters", "three schedules (betas, alphas and alpha_bars)"
reference = get_diffusion_parameters
CASES = cases(lambda k, *args: (args, {}),
              ("the workshop schedule (beta_min = 1e-4, beta_max = 0.05, T = 50)", 1e-4, 0.05, 50),
              ("the gentler schedule (beta_min = 1e-4, beta_max = 0.02, T = 50)", 1e-4, 0.02, 50),
              ("a short schedule (beta_min = 0.1, beta_max = 0.3, T = 5)", 0.1, 0.3, 5))

HINTS = {
    "not_tuple": "Return the three tensors as a tuple: return betas, alphas, alpha_bars.",
    "length": "One value per step: T values, with index t holding the paper's step t+1 "
        "(torch.linspace(beta_min, beta_max, T) has exactly T).",
    "beta_max_excluded": "The last beta must equal beta_max: the schedule runs from beta_min to "
        "beta_max inclusive. torch.linspace(beta_min, beta_max, T) includes both ends; "
        "torch.arange or linspace(..., T + 1)[:-1] stops one step short.",
    "beta_min_excluded": "The first beta must equal beta_min: torch.linspace(beta_min, beta_max, "
        "T) starts there.",
    "betas": "betas rise linearly from beta_min to beta_max: torch.linspace(beta_min, beta_max, "
        "T).",
    "alphas_sqrt": "alpha_t = 1 - beta_t, without a square root.",
    "alphas": "alphas = 1 - betas (DDPM Sec. 2: alpha_t := 1 - beta_t).",
    "alpha_bars_sum": "alpha_bar_t is the product alpha_1 * alpha_2 * ... * alpha_t, not the "
        "sum: use torch.cumprod(alphas, dim=0).",
    "alpha_bars_total": "alpha_bar_t is the running product up to step t (torch.cumprod(alphas, "
        "dim=0)), not the product of all the alphas.",
    "alpha_bars_shifted": "alpha_bars[0] is already alpha_1 = 1 - beta_1: index t holds the "
        "product up to the paper's step t+1, so do not start the product with 1.",
    "alpha_bars_of_betas": "alpha_bars is the running product of the alphas, not of the betas.",
    "alpha_bars": "alpha_bars is the running product of the alphas: torch.cumprod(alphas, "
        "dim=0) (the notation above DDPM eq. 4).",
}  # fmt: skip


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
