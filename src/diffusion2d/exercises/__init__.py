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
check_get_diffusion_parameters = partial(run, schedule)
check_get_loss = partial(run, loss)
check_sample = partial(run, sampler)
check_trajectory_step = partial(run, trajectory)

__all__ = ["CATALOGUE", "CheckResult", "FakeModel", "ModelInputError", "NotImplementedYet",
           "check_get_diffusion_parameters", "check_get_loss", "check_sample",
           "check_trajectory_step", "todo"]  # fmt: skip
