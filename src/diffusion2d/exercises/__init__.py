"""Automatic feedback for the book's coded exercises (the participant notebooks call these).

``check_<name>(fn)`` runs the participant's function through the catalogue of that exercise
(:func:`._runner.run`) and returns a :class:`CheckResult` naming the slip, with expected and got
values; a ``todo()`` stub raises :class:`NotImplementedYet`. Catalogues: :mod:`.schedule` (chapter
02), :mod:`.loss` (04), :mod:`.sampler` (05), :mod:`.trajectory` (06), :mod:`.score` (scores),
:mod:`.heun` (probability flow), :mod:`.snr` (noise schedules), :mod:`.conversions`
(prediction), :mod:`.flowloss` (flow matching), :mod:`.logdet` (likelihood) and :mod:`.cfg`
(guidance).
"""

from functools import partial

from . import (
    cfg,
    conversions,
    flowloss,
    heun,
    logdet,
    loss,
    sampler,
    schedule,
    score,
    snr,
    trajectory,
)
from ._model import FakeModel, ModelInputError
from ._runner import CheckResult, NotImplementedYet, run, todo

CATALOGUE = (schedule, loss, sampler, trajectory, score, heun, snr, conversions, flowloss, logdet,
             cfg)


def _check(catalogue) -> partial:
    """``run(catalogue, fn)``, with a docstring of its own for ``check_<name>?`` in Jupyter."""
    check = partial(run, catalogue)
    check.__doc__ = (f"Check your {catalogue.NAME}(...) on {catalogue.SUMMARY}: a CheckResult "
                     "naming the slip, with expected and got (a todo() stub: NotImplementedYet).")
    return check


check_get_diffusion_parameters = _check(schedule)  # (beta_min, beta_max, T), chapter 2
check_get_loss = _check(loss)  # get_loss(model, x0s, eps, alpha_bars, ts), chapter 4
check_sample = _check(sampler)  # sample(num_samples, model, generator=None), chapter 5
check_trajectory_step = _check(trajectory)  # (model, xt, t, deterministic, generator), ch. 6
check_score_and_x0 = _check(score)  # score_and_x0(xt, eps, alpha_bar), the scores chapter
check_heun_step = _check(heun)  # (model, xt, t, t_prev, alpha_bars), probability flow
check_rescale_zero_terminal_snr = _check(snr)  # rescale_zero_terminal_snr(betas), schedules
check_convert = _check(conversions)  # convert(prediction, output, xt, alpha_bar), prediction
check_flow_loss = _check(flowloss)  # flow_loss(model, x1, z, t), flow matching
check_euler_log_det = _check(logdet)  # euler_log_det(f, y, h), likelihood
check_guided_eps = _check(cfg)  # guided_eps(model, xt, t, y, guidance_scale), guidance

__all__ = ["CATALOGUE", "CheckResult", "FakeModel", "ModelInputError", "NotImplementedYet",
           "check_convert", "check_euler_log_det", "check_flow_loss",
           "check_get_diffusion_parameters", "check_get_loss", "check_guided_eps",
           "check_heun_step",
           "check_rescale_zero_terminal_snr", "check_sample", "check_score_and_x0",
           "check_trajectory_step", "todo"]  # fmt: skip
