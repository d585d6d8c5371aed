"""Automatic feedback for the workshop's four exercises (the participant notebooks call these).

Each ``check_*`` function runs the participant's function on small cases, compares it with the
library's own reference implementation and returns a :class:`CheckResult`: ``passed`` (a bool)
and ``message`` (plain words, also the result's printed form and its display in a notebook).
An exception raised by the participant's function, a wrong return type or a wrong shape becomes
the verdict, with the line of the participant's code that raised when it can be found. The one
exception that escapes is the ``todo()`` stub's: a check of a function that is not written yet
raises :class:`NotImplementedYet` with the same plain words, so that running a participant
notebook stops at the first unfinished exercise, as the workshop's ``todo()`` cells did.

=================================  ==============================================  ==========
participant function               reference                                       chapter
=================================  ==============================================  ==========
``get_diffusion_parameters``       :func:`diffusion2d.schedules.get_diffusion_parameters`   02
``get_loss``                       :func:`diffusion2d.loss.get_loss`                         04
``sample`` (DDPM)                  :func:`diffusion2d.samplers.sample` (``sampler='ddpm'``)  05
``trajectory_step``                :func:`diffusion2d.trajectories.trajectory_step`          06
=================================  ==============================================  ==========

The cases use a stand-in model, :class:`FakeModel`: it has the attributes of
:class:`~diffusion2d.model.DenoisingMLP` (``T, betas, alphas, alpha_bars``) and predicts
``eps_theta(x_t, t)`` with a fixed formula, so expected values are exact and every check runs in
well under a second. It also explains misuse in plain words (x_t of shape (N, N, 2) after a wrong
broadcast of ``alpha_bars[t]``, steps out of range, arguments swapped).

When a case fails, the check replays the typical mistakes on the same inputs (and the same
random seed) and names the one that reproduces the participant's output exactly; otherwise it
gives a general hint. Tolerances: relative 1e-4 and absolute 1e-5 (float32 arithmetic in a
different order passes; every listed mistake is off by far more).

Rules the exercise texts state (what "the same as the reference" means):

- ``get_loss(model, x0s, eps, alpha_bars, ts)`` draws nothing: it uses the given ``eps`` and
  ``ts``. The loss is the **mean** over the batch and both coordinates (the library's
  ``get_loss`` and the DDPM reference code's ``mean_flat``). A sum, or the squared norm summed
  over the two coordinates (2x the mean), has the same minimiser but fails, with a hint naming the
  factor, so that the participant's numbers match the book's training curves.
- ``sample(num_samples, model, generator=None)``: DDPM (eq. 11, Algorithm 2) with
  sigma_t^2 = beta_t and no noise at the last step. Prescribed draw order: first
  ``x_T = torch.randn(num_samples, 2, generator=generator)``, then for each step t = T-1 .. 1
  (0-based) one ``z = torch.randn(num_samples, 2, generator=generator)``; none at t = 0. With this
  order the samples equal the reference's for the same seed and the check can name the exact
  mistake. A participant who draws differently (another order, or ``torch.randn_like``, which
  ignores the generator) is checked without depending on the draws: on 4000 particles, what each
  step adds beyond the DDPM mean must be exactly zero at t = 0 and, for t > 0, have mean within
  0.1 of 0, standard deviation within 10 % of sqrt(beta_t) and correlation with x_t below 0.1
  (after dividing by sqrt(beta_t)); then the check passes with a note about reproducibility.
- ``trajectory_step(model, xt, t, deterministic=False, generator=None)``: one
  ``z = torch.randn(xt.shape, generator=generator)`` when ``deterministic`` is False and t > 0,
  ``added_noise = sqrt(beta_t) z``; otherwise ``added_noise`` is zeros. ``x_prev``, ``eps_pred``
  and ``drift`` are always compared exactly; ``added_noise`` falls back to the statistical test
  above when the draws differ.

Global random state: every call of the participant's function runs inside
``torch.random.fork_rng`` with a fixed seed, so checks are reproducible and leave the caller's
random state untouched.

Layout: :mod:`._common` (``todo()``, :class:`CheckResult`, the runner and the comparison and
formatting helpers, the constants above), :mod:`._model` (:class:`FakeModel`), :mod:`._ddpm`
(the DDPM update and the statistical test shared by the last two checks), and one module per
check with its hint table: :mod:`.schedule`, :mod:`.loss`, :mod:`.sampler`, :mod:`.trajectory`.
"""

from __future__ import annotations

from ._common import ATOL as ATOL
from ._common import FAIL_MARK as FAIL_MARK
from ._common import GLOBAL_SEED as GLOBAL_SEED
from ._common import PASS_MARK as PASS_MARK
from ._common import RTOL as RTOL
from ._common import SEED as SEED
from ._common import STAT_PARTICLES as STAT_PARTICLES
from ._common import STAT_TOL as STAT_TOL
from ._common import CheckResult, NotImplementedYet, todo
from ._model import FakeModel, ModelInputError
from .loss import LOSS_HINTS as LOSS_HINTS
from .loss import check_get_loss
from .sampler import SAMPLE_HINTS as SAMPLE_HINTS
from .sampler import check_sample
from .schedule import SCHEDULE_HINTS as SCHEDULE_HINTS
from .schedule import check_get_diffusion_parameters
from .trajectory import STEP_HINTS as STEP_HINTS
from .trajectory import check_trajectory_step

__all__ = [
    "CheckResult",
    "FakeModel",
    "ModelInputError",
    "NotImplementedYet",
    "check_get_diffusion_parameters",
    "check_get_loss",
    "check_sample",
    "check_trajectory_step",
    "todo",
]
