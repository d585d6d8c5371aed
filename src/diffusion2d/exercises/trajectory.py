"""Exercise 4 (chapter 06): :func:`check_trajectory_step`, one reverse step with its parts.

Compares ``trajectory_step(model, xt, t, deterministic=False, generator=None)`` with
:func:`diffusion2d.trajectories.trajectory_step` on DDPM and DDIM steps: ``eps_pred``, ``drift``
and ``x_prev`` exactly, ``added_noise`` exactly for the same seed or else statistically (4000
points). A wrong drift or noise is matched against the typical mistakes (``STEP_HINTS``: a wrong
DDPM mean, the new position as the drift, the modes swapped, DDIM's alpha_bar wrap-around at
t = 0, noise in deterministic mode, ...).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .. import trajectories as _trajectories
from ._common import (
    SEED,
    STAT_PARTICLES,
    CheckResult,
    _call,
    _Failure,
    _generator,
    _in_case,
    _run_check,
)
from ._compare import _as_tensor, _close, _fmt, _mismatch
from ._ddpm import _ddpm_mean, _noise_scale, _residual_ok
from ._model import FakeModel
from .sampler import SAMPLE_HINTS

__all__ = ["STEP_HINTS", "check_trajectory_step"]

STEP_HINTS = {
    "type": (
        "Return StepResult(x_prev, eps_pred, drift, added_noise) (from "
        "diffusion2d.trajectories), or those four tensors in this order."
    ),
    "eps_pred": "eps_pred is the model's prediction at this step: model(xt, t).",
    "mean_alpha_bar": SAMPLE_HINTS["mean_alpha_bar"],
    "mean_variance": SAMPLE_HINTS["mean_variance"],
    "drift_absolute": (
        "drift is the displacement, the new mean minus x_t (mu - x_t), not the new position."
    ),
    "drift_with_noise": (
        "drift is only the deterministic part (mu - x_t); the random part sqrt(beta_t) z goes "
        "into added_noise, and x_prev = xt + drift + added_noise."
    ),
    "mode_swapped": (
        "deterministic=True means the DDIM update (DDIM eq. 12 with sigma = 0); "
        "deterministic=False means DDPM (eq. 11 plus noise). Check which branch runs when."
    ),
    "ddim_wraparound": (
        "At t = 0 the previous alpha_bar is 1 (the clean end, an empty product), not "
        "alpha_bars[t - 1] = alpha_bars[-1], which Python wraps around to the last entry."
    ),
    "ddim_no_shift": (
        "DDIM moves from alpha_bar_t to alpha_bar_{t-1} (alpha_bars[t - 1], and 1 at t = 0), not "
        "to alpha_bars[t] again."
    ),
    "ddim_x0_alpha": (
        "The predicted x_0 uses alpha_bar_t: x0_pred = (x_t - sqrt(1 - alpha_bar_t) eps_theta) / "
        "sqrt(alpha_bar_t) (DDIM eq. 12)."
    ),
    "last_noise": SAMPLE_HINTS["last_noise"],
    "deterministic_noise": (
        "In deterministic (DDIM) mode no noise is added: added_noise must be zeros "
        "(torch.zeros_like(xt))."
    ),
    "sigma_beta": SAMPLE_HINTS["sigma_beta"],
    "sigma_tilde": SAMPLE_HINTS["sigma_tilde"],
    "sum": "x_prev must equal xt + drift + added_noise.",
    "noise_shape": (
        "added_noise is a tensor shaped like xt; when there is none, torch.zeros_like(xt)."
    ),
    "generic_ddpm": (
        "DDPM step (eq. 11): eps_pred = model(xt, t); mu = (xt - beta_t / sqrt(1 - alpha_bar_t) "
        "eps_pred) / sqrt(alpha_t); drift = mu - xt; added_noise = sqrt(beta_t) z for t > 0 "
        "(z = torch.randn(xt.shape, generator=generator)), zeros at t = 0."
    ),
    "generic_ddim": (
        "DDIM step (eq. 12, sigma = 0): x0_pred = (xt - sqrt(1 - alpha_bar_t) eps_pred) / "
        "sqrt(alpha_bar_t); x_prev = sqrt(alpha_bar_prev) x0_pred + sqrt(1 - alpha_bar_prev) "
        "eps_pred with alpha_bar_prev = alpha_bars[t - 1], and 1 at t = 0; drift = x_prev - xt."
    ),
}

_STEP_CASES = [
    ("the DDPM step from t = 5 = T-1 (beta 0.05 to 0.4, T = 6)", (0.05, 0.4, 6), 5, False),
    ("the DDPM step from t = 2 (T = 6)", (0.05, 0.4, 6), 2, False),
    ("the last DDPM step, t = 0 (T = 6)", (0.05, 0.4, 6), 0, False),
    ("the DDIM step from t = 5 = T-1 (T = 6)", (0.05, 0.4, 6), 5, True),
    ("the DDIM step from t = 2 (T = 6)", (0.05, 0.4, 6), 2, True),
    ("the last DDIM step, t = 0 (T = 6)", (0.05, 0.4, 6), 0, True),
    ("the DDPM step from t = 49 (workshop schedule, T = 50)", (1e-4, 0.05, 50), 49, False),
    ("the last DDIM step, t = 0 (workshop schedule, T = 50)", (1e-4, 0.05, 50), 0, True),
]


def _step_parts(got: object, N: int) -> tuple[torch.Tensor, ...]:
    names = ("x_prev", "eps_pred", "drift", "added_noise")
    if all(hasattr(got, n) for n in names):
        values = [getattr(got, n) for n in names]
    elif isinstance(got, (tuple, list)) and len(got) == 4:
        values = list(got)
    else:
        raise _Failure(
            f"it returned a {type(got).__name__}; expected a StepResult with x_prev, eps_pred, "
            "drift and added_noise",
            hint=STEP_HINTS["type"],
            mistake="type",
        )
    if not isinstance(values[3], torch.Tensor):
        raise _Failure(
            f"added_noise is a {type(values[3]).__name__}; expected a tensor of shape ({N}, 2)",
            hint=STEP_HINTS["noise_shape"],
            mistake="noise_shape",
        )
    return tuple(_as_tensor(n, v, (N, 2)) for n, v in zip(names, values, strict=True))


def _drift_variants(model: FakeModel, xt, t: int, eps, z) -> dict[str, torch.Tensor]:
    """Drifts (and one x_prev-like quantity) of the listed mistakes at one step."""
    b, a, ab = (v.double()[t] for v in (model.betas, model.alphas, model.alpha_bars))
    bars = model.alpha_bars.double()
    ab_prev = bars[t - 1] if t > 0 else torch.ones((), dtype=torch.float64)
    mu = _ddpm_mean(xt, eps, b, a, ab)
    x0_pred = (xt - (1 - ab).sqrt() * eps) / ab.sqrt()
    ddim = ab_prev.sqrt() * x0_pred + (1 - ab_prev).sqrt() * eps
    noise = b.sqrt() * z if t > 0 else torch.zeros_like(xt)

    def ddim_to(prev: torch.Tensor, x0: torch.Tensor = x0_pred) -> torch.Tensor:
        return prev.sqrt() * x0 + (1 - prev).sqrt() * eps - xt

    return {
        "ddpm": mu - xt,
        "ddim": ddim - xt,
        "mean_alpha_bar": _ddpm_mean(xt, eps, b, a, ab, "alpha_bar") - xt,
        "mean_variance": _ddpm_mean(xt, eps, b, a, ab, "variance") - xt,
        "ddpm_absolute": mu,
        "ddim_absolute": ddim,
        "ddpm_with_noise": mu - xt + noise,
        "ddim_wraparound": ddim_to(bars[t - 1]),  # bars[-1] at t = 0
        "ddim_no_shift": ddim_to(ab),
        "ddim_x0_alpha": ddim_to(ab_prev, (xt - (1 - a).sqrt() * eps) / a.sqrt()),
    }


def check_trajectory_step(fn: Callable) -> CheckResult:
    """Check ``trajectory_step(model, xt, t, deterministic=False, generator=None)``."""

    def run(notes: list[str]) -> None:
        gen = torch.Generator().manual_seed(SEED + 7)
        for desc, schedule, t, det in _STEP_CASES:
            model = FakeModel(*schedule)
            xt = torch.randn(5, 2, generator=gen) * 1.2
            _in_case(desc, lambda m=model, x=xt, s=t, d=det: _step_case(fn, m, x, s, d, notes))

    return _run_check(
        "trajectory_step",
        fn,
        ["DDPM and DDIM steps at t = T-1, 2 and 0 (x_prev, eps_pred, drift and added_noise)"],
        run,
    )


def _step_case(fn: Callable, model: FakeModel, xt, t: int, det: bool, notes: list[str]) -> None:
    N = xt.shape[0]
    hints = STEP_HINTS
    ref = _trajectories.trajectory_step(model, xt, t, det, _generator())
    z = torch.randn(xt.shape, generator=_generator(), dtype=xt.dtype).double()
    model.calls.clear()
    got = _call(fn, model, xt.clone(), t, deterministic=det, generator=_generator())
    x_prev, eps_pred, drift, noise = _step_parts(got, N)
    if not _close(eps_pred, ref.eps_pred):
        raise _Failure(
            "eps_pred differs from the model's prediction",
            expected=_fmt(ref.eps_pred),
            got=_fmt(eps_pred),
            hint=hints["eps_pred"],
            mistake="eps_pred",
        )
    x64, eps64 = xt.double(), ref.eps_pred.double()
    if not _close(drift, ref.drift):
        variants = _drift_variants(model, x64, t, eps64, z)
        mode_other = "ddpm" if det else "ddim"
        keys = (
            ["ddim_wraparound", "ddim_no_shift", "ddim_x0_alpha", "ddim_absolute"]
            if det
            else ["mean_alpha_bar", "mean_variance", "ddpm_absolute", "ddpm_with_noise"]
        )
        names = {"ddim_absolute": "drift_absolute", "ddpm_absolute": "drift_absolute",
                 "ddpm_with_noise": "drift_with_noise"}  # fmt: skip
        key = next((names.get(k, k) for k in keys if _close(drift, variants[k])), None)
        if key is None and _close(drift, variants[mode_other]):
            key = "mode_swapped"
        if key is None and not det and t > 0 and _close(drift, ref.drift.double() + noise):
            key = "drift_with_noise"
        key = key or ("generic_ddim" if det else "generic_ddpm")
        raise _mismatch("drift differs from the reference", ref.drift, drift, hints, key)
    if det or t == 0:
        if float(noise.abs().max()) > 0.0:
            key = "deterministic_noise" if det else "last_noise"
            raise _Failure(
                "added_noise is not zero" + (" in deterministic mode" if det else " at t = 0"),
                expected="zeros",
                got=_fmt(noise),
                hint=hints[key],
                mistake=key,
            )
    elif not _close(noise, ref.added_noise):
        b = model.betas.double()[t]
        ab, ab_prev = model.alpha_bars.double()[t], model.alpha_bars.double()[t - 1]
        if _close(noise, _noise_scale(b, ab, ab_prev, "beta") * z):
            key = "sigma_beta"
        elif _close(noise, _noise_scale(b, ab, ab_prev, "tilde") * z):
            key = "sigma_tilde"
        else:
            key = None
        if key is not None:
            raise _mismatch(
                "added_noise differs from the reference", ref.added_noise, noise, hints, key
            )
        notes.append(_step_statistical(fn, model, t))
    if not _close(x_prev, x64 + drift + noise):
        raise _Failure(
            "x_prev is not xt + drift + added_noise",
            expected=_fmt(x64 + drift + noise),
            got=_fmt(x_prev),
            hint=hints["sum"],
            mistake="sum",
        )


def _step_statistical(fn: Callable, model: FakeModel, t: int) -> str:
    """Draw-independent check of added_noise for a DDPM step t > 0, on many particles."""
    N = STAT_PARTICLES
    xt = torch.randn(N, 2, generator=torch.Generator().manual_seed(SEED + 11)) * 1.2
    ref = _trajectories.trajectory_step(model, xt, t, False, _generator())
    got = _call(fn, model, xt.clone(), t, deterministic=False, generator=_generator())
    x_prev, eps_pred, drift, noise = _step_parts(got, N)
    if not (_close(eps_pred, ref.eps_pred) and _close(drift, ref.drift)):
        raise _Failure(
            f"on {N} points, eps_pred or drift differs from the reference",
            hint=STEP_HINTS["generic_ddpm"],
            mistake="generic_ddpm",
        )
    b = model.betas.double()[t]
    ok, measured = _residual_ok(noise, xt.double(), b.sqrt())
    if not ok:
        key = "sigma_beta" if _residual_ok(noise, xt.double(), b)[0] else "generic_ddpm"
        raise _Failure(
            f"on {N} points at t = {t}, {measured.replace('your update', 'added_noise')}; "
            f"expected mean 0 and standard deviation sqrt(beta_t) = {_fmt(b.sqrt())}",
            hint=STEP_HINTS[key],
            mistake=key,
        )
    return (
        "your noise is not drawn as torch.randn(xt.shape, generator=generator) (maybe "
        "torch.randn_like, which ignores the generator), so the same seed does not reproduce the "
        f"reference's step. The step itself is right (its noise checked on {N} points)."
    )
