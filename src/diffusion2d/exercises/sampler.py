"""Catalogue of exercise 3 (chapter 05): ``sample(num_samples, model, generator=None)`` against
:func:`diffusion2d.samplers.sample` (``'ddpm'``) for the same seed (the format: :mod:`._runner`).

Rules: DDPM, sigma_t^2 = beta_t, no noise at the last step; draw ``x_T = torch.randn(num_samples,
2, generator=generator)`` first, then one ``z`` of that shape per step t = T-1 .. 1 (0-based).
Another draw order (or ``torch.randn_like``) is checked on 4000 particles instead: what each step
adds beyond the DDPM mean must be zero at t = 0, else have mean within 0.1 of 0, standard
deviation within 10 % of sqrt(beta_t) and correlation with x_t below 0.1; it passes with a note.
"""

from __future__ import annotations

from functools import partial

import torch

from .. import samplers
from . import _ddpm
from ._model import FakeModel
from ._runner import STAT_PARTICLES, Failure, Part, as_tensor, call, generator

NAME, SUMMARY = "sample", "a short schedule and the workshop schedule"
CASES = [(desc, lambda s=schedule, n=n: ((n, FakeModel(*s)), {"generator": generator()}))
         for desc, schedule, n in [
    ("5 samples with a short schedule (beta 0.05 to 0.4, T = 6)", (0.05, 0.4, 6), 5),
    ("3 samples with the workshop schedule (beta_max = 0.05, T = 50)", (1e-4, 0.05, 50), 3)]]
_STAT_SCHEDULE = (0.1, 0.5, 5)  # fmt: skip

HINTS = {
    "not_list": "Return the whole list [x_T, x_{T-1}, ..., x_0]: T+1 tensors of shape "
        "(num_samples, 2), x_T first and x_0 last.",
    "only_x0": "Return the whole list [x_T, x_{T-1}, ..., x_0] (T+1 tensors), not only the final "
        "x_0: start with xs = [x] and append after every step.",
    "length": "The list holds T+1 tensors: x_T (the starting noise) first, then one after each of "
        "the T steps, x_0 last.",
    "reversed": "Keep the list in sampling order: x_T first, x_0 last (do not reverse it).",
    "ascending": "Go backwards in time: t = T-1, T-2, ..., 0 (0-based), starting from x_T, e.g. "
        "for t in reversed(range(T)).",
    "last_noise": "No noise at the last step: at t = 0 (the paper's t = 1) the result is the mean "
        "itself (Algorithm 2: z = 0 if t = 1). Add sigma_t z only when t > 0.",
    "mean_alpha_bar": "The mean divides by sqrt(alpha_t), not sqrt(alpha_bar_t): mu = (x_t - "
        "beta_t / sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_t) (DDPM eq. 11).",
    "mean_variance": "In eq. 11 eps_theta is scaled by beta_t / sqrt(1 - alpha_bar_t): a standard "
        "deviation in the denominator, not the variance 1 - alpha_bar_t.",
    "sigma_beta": "sigma_t is a standard deviation: with sigma_t^2 = beta_t, add sqrt(beta_t) z, "
        "not beta_t z.",
    "sigma_tilde": "This exercise uses sigma_t^2 = beta_t (DDPM Sec. 3.2 also allows the "
        "posterior variance beta_tilde_t; we fix beta_t): add sqrt(beta_t) z.",
    "draws": "Draw the random numbers with the generator you are given, in this order: x_T = "
        "torch.randn(num_samples, 2, generator=generator) first, then one z = "
        "torch.randn(num_samples, 2, generator=generator) per step with t > 0.",
    "generic": "DDPM (eq. 11, Algorithm 2): x = torch.randn(num_samples, 2, generator=generator); "
        "for t = T-1 down to 0: eps = model(x, t); mean = (x - beta_t / sqrt(1 - alpha_bar_t) "
        "eps) / sqrt(alpha_t); x = mean + sqrt(beta_t) z for t > 0 (z = torch.randn(..., "
        "generator=generator)), x = mean at t = 0; keep every x in a list.",
}  # fmt: skip


reference = partial(samplers.sample, sampler="ddpm")  # (num_samples, model, generator=None)
MISTAKES = [
    *((key, partial(_ddpm.sample, slip=key)) for key in _ddpm.STAT_SLIPS),
    ("model_input", partial(_ddpm.sample, slip="paper_steps")),  # model(x, t + 1)
    ("only_x0", lambda *args, **kwargs: reference(*args, **kwargs)[-1]),
    ("reversed", lambda *args, **kwargs: reference(*args, **kwargs)[::-1]),
    ("length", lambda *args, **kwargs: reference(*args, **kwargs)[1:]),
    ("not_list", lambda *args, **kwargs: torch.stack(reference(*args, **kwargs))),
    ("signature", lambda num_samples, model: reference(num_samples, model)),  # no generator
]


def view(out: object, args: tuple) -> list[Part]:
    """The T+1 entries of the returned list, each (num_samples, 2)."""
    n, T = args[0], args[1].T
    if isinstance(out, torch.Tensor) and tuple(out.shape) == (n, 2):
        raise Failure("it returned one tensor of shape (num_samples, 2); expected a list of T+1",
                      hint=HINTS["only_x0"], mistake="only_x0")  # fmt: skip
    if not isinstance(out, (list, tuple)):
        shape = f" of shape {tuple(out.shape)}" if isinstance(out, torch.Tensor) else ""
        raise Failure(f"it returned a {type(out).__name__}{shape}; expected a list of T+1 = "
                      f"{T + 1} tensors of shape ({n}, 2)", hint=HINTS["not_list"],
                      mistake="not_list")  # fmt: skip
    if len(out) != T + 1:
        key = "only_x0" if len(out) == 1 else "length"
        raise Failure(f"the list has {len(out)} entries; expected T+1 = {T + 1}",
                      expected=f"{T + 1} tensors", got=f"{len(out)}", hint=HINTS[key],
                      mistake=key)  # fmt: skip
    return [Part(f"entry {k} of the list (x_{T - k} in the paper's numbering) differs from the "
                 "reference", as_tensor(f"entry {k} of the list", x, (n, 2)))
            for k, x in enumerate(out)]  # fmt: skip


def explain(diff) -> None:
    """Maybe the draws differ: decide on many particles, without depending on them."""
    if diff.notes:  # an earlier case passed it: the verdict does not depend on the case
        return None
    model, n = FakeModel(*_STAT_SCHEDULE), STAT_PARTICLES
    xs = [p.value for p in view(call(diff.fn, n, model, generator=generator()), (n, model))]
    if [int(steps[0]) for steps in model.calls] == list(range(model.T)):
        raise Failure("the model was called at steps 0, 1, ..., T-1", hint=HINTS["ascending"],
                      mistake="ascending")  # fmt: skip
    found = _ddpm.fits(model, xs)
    if found is None:
        diff.notes.append(
            "your random draws differ from the prescribed order, so the same seed does not give "
            f"the reference's samples. The update itself is right (checked on {n} particles: the "
            "noise added at each step has the right size and none is added at the last step). "
            + HINTS["draws"])
        return None
    key = next((k for k in _ddpm.STAT_SLIPS if _ddpm.fits(model, xs, k) is None), "generic")
    key = "reversed" if key == "generic" and _ddpm.fits(model, xs[::-1]) is None else key
    (t, measured), (low, high, T) = found, _STAT_SCHEDULE
    raise Failure(f"on {n} particles with T = {T} (beta from {low} to {high}), the step from "
                  f"t = {t} does not match DDPM: {measured}", hint=HINTS[key], mistake=key)
