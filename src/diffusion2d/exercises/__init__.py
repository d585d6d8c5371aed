"""Automatic feedback for the workshop's four exercises (the participant notebooks call these).

``check_<name>(fn)`` runs the participant's function through the catalogue of that exercise
(:func:`._runner.run`) and returns a :class:`CheckResult` naming the slip, with expected and got
values; a ``todo()`` stub raises :class:`NotImplementedYet`. Catalogues: :mod:`.schedule` (chapter
02), :mod:`.loss` (04), :mod:`.sampler` (05) and :mod:`.trajectory` (06).
"""

from . import loss, sampler, schedule, trajectory
from ._model import FakeModel, ModelInputError
from ._runner import CheckResult, NotImplementedYet, run, todo

CATALOGUE = (schedule, loss, sampler, trajectory)


def check_get_diffusion_parameters(fn) -> CheckResult:
    """Check your ``get_diffusion_parameters(beta_min, beta_max, T)`` (exercise of chapter 2)."""
    return run(schedule, fn)


def check_get_loss(fn) -> CheckResult:
    """Check your ``get_loss(model, x0s, eps, alpha_bars, ts)`` (exercise of chapter 4)."""
    return run(loss, fn)


def check_sample(fn) -> CheckResult:
    """Check your ``sample(num_samples, model, generator=None)`` (exercise of chapter 5)."""
    return run(sampler, fn)


def check_trajectory_step(fn) -> CheckResult:
    """Check your ``trajectory_step(model, xt, t, deterministic, generator)`` (chapter 6)."""
    return run(trajectory, fn)


__all__ = ["CATALOGUE", "CheckResult", "FakeModel", "ModelInputError", "NotImplementedYet",
           "check_get_diffusion_parameters", "check_get_loss", "check_sample",
           "check_trajectory_step", "todo"]  # fmt: skip
