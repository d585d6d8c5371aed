"""Catalogue of exercise 4 (chapter 06): ``trajectory_step(model, xt, t, deterministic=False,
generator=None)`` against :func:`diffusion2d.trajectories.trajectory_step`. Rules: one ``z =
torch.randn(xt.shape, generator=generator)`` for a DDPM step with t > 0, ``added_noise =
sqrt(beta_t) z``, else zeros; other draws pass with a note if right on 4000 points."""

from dataclasses import replace
from functools import partial

import torch

from ..trajectories import trajectory_step as reference
from . import _runner, sampler
from ._model import FakeModel
from ._runner import STAT_PARTICLES, Failure, Part, as_tensor, call, cases, close, fmt, generator

NAME = "trajectory_step"
SUMMARY = "DDPM and DDIM steps at t = T-1, 2 and 0 (x_prev, eps_pred, drift and added_noise)"


def _make(k: int, schedule: tuple, t: int, det: bool) -> tuple[tuple, dict]:
    xt = torch.randn(5, 2, generator=generator(7 + k)) * 1.2
    return (FakeModel(*schedule), xt, t), {"deterministic": det, "generator": generator()}


_T6, _T50 = (0.05, 0.4, 6), (1e-4, 0.05, 50)
CASES = cases(_make, ("the DDPM step from t = 5 = T-1 (beta 0.05 to 0.4, T = 6)", _T6, 5, False),
              ("the DDPM step from t = 2 (T = 6)", _T6, 2, False),
              ("the last DDPM step, t = 0 (T = 6)", _T6, 0, False),
              ("the DDIM step from t = 5 = T-1 (T = 6)", _T6, 5, True),
              ("the DDIM step from t = 2 (T = 6)", _T6, 2, True),
              ("the last DDIM step, t = 0 (T = 6)", _T6, 0, True),
              ("the DDPM step from t = 49 (workshop schedule, T = 50)", _T50, 49, False),
              ("the last DDIM step, t = 0 (workshop schedule, T = 50)", _T50, 0, True))

HINTS = _runner.ALL_HINTS["trajectory"] | {key: sampler.HINTS[key] for key in (  # DDPM's slips
    "mean_alpha_bar", "mean_variance", "last_noise", "sigma_beta", "sigma_tilde")}

MISTAKES = [
    *((key, partial(sampler.step, slip=key)) for key in (
        "mean_alpha_bar", "mean_variance", "drift_absolute", "drift_with_noise", "mode_swapped",
        "ddim_wraparound", "ddim_no_shift", "ddim_x0_alpha", "last_noise", "deterministic_noise",
        "sigma_beta", "sigma_tilde")),
    ("type", lambda *args, **kwargs: {"x_prev": reference(*args, **kwargs).x_prev}),
    ("noise_shape", lambda *args, **kwargs: replace(reference(*args, **kwargs), added_noise=None)),
]  # fmt: skip
_NAMES = ("x_prev", "eps_pred", "drift", "added_noise")


def view(out: object, args: tuple) -> list[Part]:
    """eps_pred, drift, added_noise, and x_prev - drift - added_noise (which must be xt)."""
    n = args[1].shape[0]
    if all(hasattr(out, name) for name in _NAMES):
        out = [getattr(out, name) for name in _NAMES]
    elif not isinstance(out, (tuple, list)) or len(out) != 4:
        raise Failure(f"it returned a {type(out).__name__}; expected a StepResult with x_prev, "
                      "eps_pred, drift and added_noise", mistake="type")
    if not isinstance(out[3], torch.Tensor):
        raise Failure(f"added_noise is a {type(out[3]).__name__}; expected a tensor of shape "
                      f"({n}, 2)", mistake="noise_shape")
    x_prev, eps, drift, noise = (as_tensor(k, v, (n, 2)) for k, v in zip(_NAMES, out, strict=True))
    return [Part("eps_pred differs from the model's prediction", eps),
            Part("drift differs from the reference", drift),
            Part("added_noise differs from the reference", noise),
            Part("x_prev is not xt + drift + added_noise", x_prev - drift - noise)]  # fmt: skip


def explain(i: int, fn, args: tuple, kwargs: dict, got: list[Part], expected: list[Part],
            notes: list[str], **_) -> str | None:
    """The hint of the first differing part; for added_noise, the statistical check."""
    (model, xt, t), det = args, kwargs["deterministic"]
    _, drift, noise, rest = (part.value for part in got)
    if i == 1 and not det and t > 0 and close(drift, expected[1].value + noise):
        return "drift_with_noise"
    if i < 2:
        return ["eps_pred", "generic_ddim" if det else "generic_ddpm"][i]
    if i == 2 and (det or t == 0):
        return "deterministic_noise" if det else "last_noise"
    if i == 2:  # maybe the draws differ: decide on many points, without depending on them
        n, x = STAT_PARTICLES, torch.randn(STAT_PARTICLES, 2, generator=generator(11)) * 1.2
        out = view(call(fn, model, x.clone(), t, deterministic=False, generator=generator()),
                   (model, x, t))  # fmt: skip
        sampler.judge(model, [x.double(), x.double() + out[1].value + out[2].value],
                      f"on {n} points", ("sigma_beta", "sigma_tilde"), "generic_ddpm", [t])
        notes.append("your noise is not drawn as torch.randn(xt.shape, generator=generator) "
                     "(maybe torch.randn_like, which ignores the generator), so the same seed does "
                     "not reproduce the reference's step. The step itself is right (its noise "
                     f"checked on {n} points).")
    if not close(rest, xt):
        raise Failure("x_prev is not xt + drift + added_noise", fmt(xt + drift + noise),
                      fmt(rest + drift + noise), "sum")  # fmt: skip
    return None
