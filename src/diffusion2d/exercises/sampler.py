"""Exercise 3 (chapter 05): :func:`check_sample`, the DDPM sampler.

Compares ``sample(num_samples, model, generator=None)`` with :func:`diffusion2d.samplers.sample`
(``sampler='ddpm'``, sigma_t^2 = beta_t) for the same seed; a wrong trajectory is replayed against
the typical mistakes (``SAMPLE_HINTS``: noise at the last step, a wrong mean or sigma, steps in
the wrong order, ...). When the draws differ from the prescribed order, the statistical check
(4000 particles) decides, and a pass carries a note about reproducibility.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import samplers as _samplers
from .. import schedules as _schedules
from ._common import STAT_PARTICLES, CheckResult, _call, _Failure, _generator, _in_case, _run_check
from ._compare import _as_tensor, _close, _fmt, _mismatch, _same_list
from ._ddpm import _ddpm_mean, _noise_scale, _residual_ok
from ._model import FakeModel

__all__ = ["SAMPLE_HINTS", "check_sample"]

SAMPLE_HINTS = {
    "not_list": (
        "Return the whole list [x_T, x_{T-1}, ..., x_0]: T+1 tensors of shape (num_samples, 2), "
        "x_T first and x_0 last."
    ),
    "only_x0": (
        "Return the whole list [x_T, x_{T-1}, ..., x_0] (T+1 tensors), not only the final x_0: "
        "start with xs = [x] and append after every step."
    ),
    "length": (
        "The list holds T+1 tensors: x_T (the starting noise) first, then one after each of the "
        "T steps, x_0 last."
    ),
    "reversed": "Keep the list in sampling order: x_T first, x_0 last (do not reverse it).",
    "ascending": (
        "Go backwards in time: t = T-1, T-2, ..., 0 (0-based), starting from x_T, e.g. "
        "for t in reversed(range(T))."
    ),
    "last_noise": (
        "No noise at the last step: at t = 0 (the paper's t = 1) the result is the mean itself "
        "(Algorithm 2: z = 0 if t = 1). Add sigma_t z only when t > 0."
    ),
    "mean_alpha_bar": (
        "The mean divides by sqrt(alpha_t), not sqrt(alpha_bar_t): "
        "mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_t) (DDPM eq. 11)."
    ),
    "mean_variance": (
        "In eq. 11 eps_theta is scaled by beta_t / sqrt(1 - alpha_bar_t): a standard deviation "
        "in the denominator, not the variance 1 - alpha_bar_t."
    ),
    "sigma_beta": (
        "sigma_t is a standard deviation: with sigma_t^2 = beta_t, add sqrt(beta_t) z, not "
        "beta_t z."
    ),
    "sigma_tilde": (
        "This exercise uses sigma_t^2 = beta_t (DDPM Sec. 3.2 also allows the posterior "
        "variance beta_tilde_t; we fix beta_t): add sqrt(beta_t) z."
    ),
    "draws": (
        "Draw the random numbers with the generator you are given, in this order: x_T = "
        "torch.randn(num_samples, 2, generator=generator) first, then one z = "
        "torch.randn(num_samples, 2, generator=generator) per step with t > 0."
    ),
    "generic": (
        "DDPM (eq. 11, Algorithm 2): x = torch.randn(num_samples, 2, generator=generator); for t "
        "= T-1 down to 0: eps = model(x, t); mean = (x - beta_t / sqrt(1 - alpha_bar_t) eps) / "
        "sqrt(alpha_t); x = mean + sqrt(beta_t) z for t > 0 (z = torch.randn(..., "
        "generator=generator)), x = mean at t = 0; keep every x in a list."
    ),
}

_SAMPLE_CASES = [
    ("5 samples with a short schedule (beta 0.05 to 0.4, T = 6)", (0.05, 0.4, 6), 5),
    ("3 samples with the workshop schedule (beta_max = 0.05, T = 50)", (1e-4, 0.05, 50), 3),
]
_STAT_SCHEDULE = (0.1, 0.5, 5)


def _ddpm_variant(
    num_samples: int,
    model: FakeModel,
    generator: torch.Generator,
    *,
    mean: str = "ddpm",
    sigma: str = "sqrt_beta",
    last_noise: bool = False,
    ascending: bool = False,
) -> list[torch.Tensor]:
    """The DDPM sampler with one of the typical mistakes switched on (same draw order)."""
    T = model.T
    betas, alphas, bars = model.betas, model.alphas, model.alpha_bars
    bars_prev = _schedules.alpha_bars_prev(bars)
    x = torch.randn(num_samples, 2, generator=generator)
    xs = [x]
    steps = range(T) if ascending else range(T - 1, -1, -1)
    for t in steps:
        with torch.no_grad():
            eps = model(x, torch.full((num_samples,), t, dtype=torch.long))
        b, a, ab = betas[t], alphas[t], bars[t]
        mu = _ddpm_mean(x, eps, b, a, ab, mean)
        last = t == (T - 1 if ascending else 0)
        if last and not last_noise:
            x = mu
        else:
            z = torch.randn(num_samples, 2, generator=generator)
            x = mu + _noise_scale(b, ab, bars_prev[t], sigma) * z
        xs.append(x)
    return xs


def _sample_variants(num_samples: int, model: FakeModel) -> dict[str, list[torch.Tensor]]:
    out = {}
    for key, kw in {
        "last_noise": {"last_noise": True},
        "mean_alpha_bar": {"mean": "alpha_bar"},
        "mean_variance": {"mean": "variance"},
        "sigma_beta": {"sigma": "beta"},
        "sigma_tilde": {"sigma": "tilde"},
        "ascending": {"ascending": True},
    }.items():
        out[key] = _ddpm_variant(num_samples, model, _generator(), **kw)
    model.calls.clear()
    return out


def _as_trajectory(got: object, T: int, N: int) -> list[torch.Tensor]:
    """The participant's return value as a list of T+1 (N, 2) tensors, or a _Failure."""
    hints = SAMPLE_HINTS
    if isinstance(got, torch.Tensor):
        if tuple(got.shape) == (N, 2):
            raise _Failure(
                "it returned one tensor of shape (num_samples, 2); expected a list of T+1",
                hint=hints["only_x0"],
                mistake="only_x0",
            )
        raise _Failure(
            f"it returned a tensor of shape {tuple(got.shape)}; expected a list of T+1 = {T + 1} "
            f"tensors of shape ({N}, 2)",
            hint=hints["not_list"],
            mistake="not_list",
        )
    if not isinstance(got, (list, tuple)):
        raise _Failure(
            f"it returned a {type(got).__name__}; expected a list of T+1 = {T + 1} tensors",
            hint=hints["not_list"],
            mistake="not_list",
        )
    if len(got) != T + 1:
        key = "only_x0" if len(got) == 1 else "length"
        raise _Failure(
            f"the list has {len(got)} entries; expected T+1 = {T + 1}",
            expected=f"{T + 1} tensors",
            got=f"{len(got)}",
            hint=hints[key],
            mistake=key,
        )
    return [_as_tensor(f"entry {k} of the list", x, (N, 2)) for k, x in enumerate(got)]


def _call_order(model: FakeModel) -> list[int | None]:
    order: list[int | None] = []
    for steps in model.calls:
        values = steps.unique()
        order.append(int(values[0]) if values.numel() == 1 else None)
    return order


def check_sample(fn: Callable) -> CheckResult:
    """Check ``sample(num_samples, model, generator=None)``: DDPM, sigma_t^2 = beta_t."""

    def run(notes: list[str]) -> None:
        for desc, schedule, N in _SAMPLE_CASES:
            model = FakeModel(*schedule)
            _in_case(desc, lambda m=model, n=N: _sample_case(fn, m, n, notes))

    return _run_check("sample", fn, ["a short schedule and the workshop schedule"], run)


def _sample_case(fn: Callable, model: FakeModel, N: int, notes: list[str]) -> None:
    T = model.T
    expected = [x.double() for x in _samplers.sample(N, model, "ddpm", generator=_generator())]
    model.calls.clear()
    xs = _as_trajectory(_call(fn, N, model, generator=_generator()), T, N)
    if _same_list(xs, expected):
        return
    order = _call_order(model)
    hints = SAMPLE_HINTS
    variants = _sample_variants(N, model)
    key = None
    if _same_list(xs, expected[::-1]):
        key = "reversed"
    elif order == list(range(T)):
        key = "ascending"
    else:
        key = next((k for k, v in variants.items() if _same_list(xs, v)), None)
    if key is not None:
        first_bad = next(k for k in range(T + 1) if not _close(xs[k], expected[k]))
        raise _mismatch(
            f"entry {first_bad} of the list (x_{T - first_bad} in the paper's numbering) "
            "differs from the reference",
            expected[first_bad],
            xs[first_bad],
            hints,
            key,
        )
    # Not one of the listed mistakes with the prescribed draws: maybe the draws differ.
    note = _sample_statistical(fn)
    notes.append(note)


def _sample_statistical(fn: Callable) -> str:
    """Draw-order-independent check of a sampler on many particles; returns the pass note."""
    model = FakeModel(*_STAT_SCHEDULE)
    T, N = model.T, STAT_PARTICLES
    hints = SAMPLE_HINTS
    model.calls.clear()
    xs = _as_trajectory(_call(fn, N, model, generator=_generator()), T, N)
    if _call_order(model) == list(range(T)):
        raise _Failure("the model was called at steps 0, 1, ..., T-1", hint=hints["ascending"],
                       mistake="ascending")  # fmt: skip
    betas, alphas, bars = (v.double() for v in (model.betas, model.alphas, model.alpha_bars))
    bars_prev = _schedules.alpha_bars_prev(bars)

    def analyse(mean_kind: str, sigma_kind: str, last_noise: bool) -> tuple[int, str] | None:
        """None when the trajectory fits this sampler; else (failing step t, measurement)."""
        for k in range(T):
            t = T - 1 - k
            x = xs[k]
            with torch.no_grad():
                eps = model(x.float(), t).double()
            b, a, ab = betas[t], alphas[t], bars[t]
            r = xs[k + 1] - _ddpm_mean(x, eps, b, a, ab, mean_kind)
            s = _noise_scale(b, ab, bars_prev[t], sigma_kind)
            if t == 0 and not last_noise:
                if float(r.abs().max()) > 1e-4:
                    return t, f"x_0 differs from the mean by up to {_fmt(r.abs().max())}"
                continue
            ok, measured = _residual_ok(r, x, s)
            if not ok:
                return t, measured + f"; expected mean 0 and standard deviation {_fmt(s)}"
        return None

    found = analyse("ddpm", "sqrt_beta", False)
    if found is None:
        model.calls.clear()
        return (
            "your random draws differ from the prescribed order (x_T = torch.randn(num_samples, "
            "2, generator=generator) first, then one z per step t > 0, all from the generator), "
            "so the same seed does not give the reference's samples. The update itself is right "
            f"(checked on {N} particles: the noise added at each step has the right size and "
            "none is added at the last step)."
        )
    mistakes = {
        "last_noise": ("ddpm", "sqrt_beta", True),
        "sigma_beta": ("ddpm", "beta", False),
        "sigma_tilde": ("ddpm", "tilde", False),
        "mean_alpha_bar": ("alpha_bar", "sqrt_beta", False),
        "mean_variance": ("variance", "sqrt_beta", False),
    }
    key = next((k for k, args in mistakes.items() if analyse(*args) is None), "generic")
    t, measured = found
    raise _Failure(
        f"on {N} particles with T = {T} (beta from {_STAT_SCHEDULE[0]} to {_STAT_SCHEDULE[1]}), "
        f"the step from t = {t} does not match DDPM: {measured}",
        hint=hints[key],
        mistake=key,
    )
