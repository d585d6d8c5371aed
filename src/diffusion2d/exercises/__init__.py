"""Automatic feedback for the workshop's four exercises (the participant notebooks call these).

``check_<name>(fn)`` runs the participant's function through the catalogue of that exercise
(:func:`._runner.run`) and returns a :class:`CheckResult` naming the slip, with expected and got
values; a ``todo()`` stub raises :class:`NotImplementedYet`. Catalogues: :mod:`.schedule` (chapter
02), :mod:`.loss` (04), :mod:`.sampler` (05) and :mod:`.trajectory` (06).
"""

from functools import partial

from . import loss, sampler, schedule, trajectory
from ._model import FakeModel, ModelInputError
from ._runner import CheckResult, NotImplementedYet, run, todo

CATALOGUE = (schedule, loss, sampler, trajectory)
check_get_diffusion_parameters = partial(run, schedule)  # (beta_min, beta_max, T), chapter 2
check_get_loss = partial(run, loss)  # get_loss(model, x0s, eps, alpha_bars, ts), chapter 4
check_sample = partial(run, sampler)  # sample(num_samples, model, generator=None), chapter 5
check_trajectory_step = partial(run, trajectory)  # (model, xt, t, deterministic, generator), ch. 6

__all__ = ["CATALOGUE", "CheckResult", "FakeModel", "ModelInputError", "NotImplementedYet",
           "check_get_diffusion_parameters", "check_get_loss", "check_sample",
           "check_trajectory_step", "todo"]  # fmt: skip
