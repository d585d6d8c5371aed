"""Automatic feedback for the workshop's four exercises (the participant notebooks call these).

Each ``check_*`` runs the participant's function on small cases with a stand-in model
(:class:`FakeModel`) and returns a :class:`CheckResult`, ``passed`` and a ``message`` in plain
words naming the slip, with expected and got values. A function that is still a ``todo()`` stub
makes the check raise :class:`NotImplementedYet`, so a notebook stops at its first unfinished
exercise. Every call runs under ``torch.random.fork_rng`` with a fixed seed: checks are
reproducible and leave the caller's random state alone (seeds, tolerances: :mod:`._runner`).

Each exercise is a catalogue (its cases, reference, hints, and typical mistakes as small buggy
functions; the format is in :mod:`._runner`): :mod:`.schedule` (chapter 02), :mod:`.loss` (04),
:mod:`.sampler` (05) and :mod:`.trajectory` (06); their docstrings state the rules the exercise
texts must state too (what the function draws, and in which order). One runner
(:func:`._runner.run`) compares the participant's output with the reference under the same seed
and, on a mismatch, names the mistake that reproduces it, else gives the catalogue's fallback
hint or runs its statistical check (another draw order passes, with a note).
"""

from __future__ import annotations

from . import loss, sampler, schedule, trajectory
from ._model import FakeModel, ModelInputError
from ._runner import CheckResult, NotImplementedYet, run, todo

CATALOGUE = (schedule, loss, sampler, trajectory)


def check_get_diffusion_parameters(fn) -> CheckResult:
    """Check ``get_diffusion_parameters(beta_min, beta_max, T) -> (betas, alphas, alpha_bars)``."""
    return run(schedule, fn)


def check_get_loss(fn) -> CheckResult:
    """Check ``get_loss(model, x0s, eps, alpha_bars, ts)`` (L_simple, the mean)."""
    return run(loss, fn)


def check_sample(fn) -> CheckResult:
    """Check ``sample(num_samples, model, generator=None)``: DDPM, sigma_t^2 = beta_t."""
    return run(sampler, fn)


def check_trajectory_step(fn) -> CheckResult:
    """Check ``trajectory_step(model, xt, t, deterministic=False, generator=None)``."""
    return run(trajectory, fn)


__all__ = ["CATALOGUE", "CheckResult", "FakeModel", "ModelInputError", "NotImplementedYet",
           "check_get_diffusion_parameters", "check_get_loss", "check_sample",
           "check_trajectory_step", "todo"]  # fmt: skip
