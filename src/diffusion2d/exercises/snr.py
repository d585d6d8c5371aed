"""Catalogue of the exercise of chapter "noise_schedules": ``rescale_zero_terminal_snr(betas) ->
betas``, Lin et al. 2024, Algorithm 1: shift and scale sqrt(alpha_bar_t) so that its last value is
0 and its first unchanged, then back to betas (1 - the ratios of consecutive alpha_bars, the first
alpha being alpha_bar_0 itself), against :func:`schedules.rescale_zero_terminal_snr`. Rules:
``betas`` is a float64 (T,) tensor; the result has its shape; nothing is drawn."""

import torch

from ..schedules import rescale_zero_terminal_snr
from . import _runner
from ._runner import Failure, Part, as_tensor, cases

NAME = "rescale_zero_terminal_snr"
SUMMARY = "three schedules (the workshop's, the gentler one and a short one of 4 steps)"


def _make(k: int, beta_min: float, beta_max: float, T: int) -> tuple[tuple, dict]:
    return (torch.linspace(beta_min, beta_max, T, dtype=torch.float64),), {}  # (T,)


CASES = cases(_make, ("the workshop schedule (linear, beta 1e-4 to 0.05, T = 50)", 1e-4, 0.05, 50),
              ("the gentler schedule (linear, beta 1e-4 to 0.02, T = 50)", 1e-4, 0.02, 50),
              ("a short schedule (linear, beta 0.1 to 0.3, T = 4)", 0.1, 0.3, 4))

HINTS = _runner.ALL_HINTS["snr"]


def rescale(betas: torch.Tensor, *, slip=None) -> torch.Tensor:
    """The reference (Algorithm 1), or with ``slip`` a typical mistake: "no_sqrt" (alpha_bar
    shifted and scaled, not its square root), "shift_only" (no rescaling: the first step
    changes), "ratio_of_sqrt" (alphas as ratios of sqrt(alpha_bar), not squared first),
    "first_alpha_one" (the first alpha set to 1, so beta_0 = 0), "alpha_bars" (alpha_bar
    returned) and "alphas" (alpha returned)."""
    ab = torch.cumprod(1.0 - betas, 0)  # (T,)
    a = ab if slip == "no_sqrt" else ab.sqrt()  # Algorithm 1, step 1: sqrt(alpha_bar)
    first, last = a[0].clone(), a[-1].clone()
    a = a - last  # step 2: the last becomes 0 ...
    if slip != "shift_only":
        a = a * first / (first - last)  # ... and the first keeps its value
    ab_new = a if slip in ("no_sqrt", "ratio_of_sqrt") else a**2  # step 3: back to alpha_bar
    head = torch.ones(1, dtype=ab.dtype) if slip == "first_alpha_one" else ab_new[:1]
    alphas = torch.cat([head, ab_new[1:] / ab_new[:-1]])  # (T,)
    return {"alpha_bars": ab_new, "alphas": alphas}.get(slip, 1.0 - alphas)


def reference(betas: torch.Tensor) -> torch.Tensor:
    return rescale_zero_terminal_snr(betas)


def _slipped(key: str):
    def fn(betas):
        return rescale(betas, slip=key)
    return fn  # fmt: skip


MISTAKES = [(key, _slipped(key)) for key in (
    "no_sqrt", "shift_only", "ratio_of_sqrt", "first_alpha_one", "alpha_bars", "alphas")]


def view(out: object, args: tuple) -> list[Part]:
    """The rescaled betas (T,); a tuple, as returned by get_diffusion_parameters, is named."""
    if isinstance(out, (tuple, list)):
        raise Failure(f"it returned {len(out)} values; expected one tensor, the betas",
                      mistake="not_tensor")  # fmt: skip
    betas = as_tensor("the returned betas", out, tuple(args[0].shape))
    return [Part("the betas differ from the reference", betas)]


def explain(**_) -> str:
    """No listed mistake reproduces the output: the general advice."""
    return "generic"
