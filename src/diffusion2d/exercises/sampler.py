"""Catalogue of exercise 3 (chapter 05): ``sample(num_samples, model, generator=None)`` against
:func:`diffusion2d.samplers.sample` (DDPM, sigma_t^2 = beta_t), and the DDPM step and sampler with
a ``slip`` (the buggy functions here and in :mod:`.trajectory`; with none, the references). Rules:
draw ``x_T = torch.randn(num_samples, 2, generator=generator)``, then one ``z`` per step t = T-1
.. 1; another draw order passes with a note if right on 4000 particles (:func:`judge`)."""

from functools import partial

import torch

from .. import samplers
from ..schedules import alpha_bars_prev
from ..trajectories import StepResult
from . import _runner
from ._model import FakeModel
from ._runner import STAT_PARTICLES, STAT_TOL, Failure, Part, as_tensor, call, cases, fmt, generator

NAME, SUMMARY = "sample", "a short schedule and the workshop schedule"
CASES = cases(lambda k, schedule, n: ((n, FakeModel(*schedule)), {"generator": generator()}),
              ("5 samples with a short schedule (beta 0.05 to 0.4, T = 6)", (0.05, 0.4, 6), 5),
              ("3 samples with the workshop schedule (beta_max = 0.05, T = 50)", (1e-4, 0.05, 50),
               3))  # fmt: skip
_STAT_SCHEDULE = (0.1, 0.5, 5)

HINTS = _runner.ALL_HINTS["sampler"]

# the slips that many particles reveal whatever the random draws
STAT_SLIPS = ("last_noise", "sigma_beta", "sigma_tilde", "mean_alpha_bar", "mean_variance",
              "ascending")  # fmt: skip


def sigmas(model, slip: str | None = None) -> torch.Tensor:
    """sigma_t per step: beta_t ("sigma_beta"), the posterior std ("sigma_tilde") or sqrt(beta_t);
    0 at t = 0 unless "last_noise"."""
    betas, bars = model.betas, model.alpha_bars
    tilde = (betas * (1 - alpha_bars_prev(bars)) / (1 - bars)).sqrt()
    sigma = {"sigma_beta": betas, "sigma_tilde": tilde}.get(slip, betas.sqrt())
    return sigma if slip == "last_noise" else sigma * (torch.arange(model.T) > 0)  # z = 0 at t = 0


def step(model, xt, t, deterministic=False, generator=None, *, slip=None) -> StepResult:
    """``trajectory_step`` with a slip: the library's eq. 11 or 12, fed what the slip gets wrong."""
    det, bars = deterministic != (slip == "mode_swapped"), model.alpha_bars.clone()
    eps = model(xt, t + (slip == "paper_steps")).detach()
    if det:  # DDIM eq. 12, to alpha_bar_prev (1 at t = 0)
        bars[t] = model.alphas[t] if slip == "ddim_x0_alpha" else bars[t]  # x_0 over sqrt(alpha_t)
        prev = {"ddim_wraparound": (t - 1) % model.T, "ddim_no_shift": t}.get(slip)
        x = samplers.ddim_step(xt, t, eps, bars, t_prev=prev)
    else:  # eq. 11: "mean_alpha_bar" divides by sqrt(alpha_bar_t), "mean_variance" scales eps
        alphas = bars if slip == "mean_alpha_bar" else model.alphas  # by beta_t / (1 - alpha_bar_t)
        betas = model.betas / ((1 - bars).sqrt() if slip == "mean_variance" else 1)
        x = samplers.ddpm_step(xt, t, eps, betas, alphas, bars, None)
    sigma, noise = sigmas(model, slip)[t], torch.zeros_like(xt)
    if sigma > 0 and (not det or slip == "deterministic_noise"):
        noise = sigma * torch.randn(xt.shape, generator=generator, dtype=xt.dtype)
    drift = {"drift_absolute": x, "drift_with_noise": x - xt + noise}.get(slip, x - xt)
    return StepResult(x + noise, eps, drift, noise)


def slipped(num_samples, model, generator=None, *, slip=None) -> list[torch.Tensor]:
    """The DDPM sampler with a slip (also "ascending")."""
    xs = [torch.randn(num_samples, 2, generator=generator)]
    for t in range(model.T) if slip == "ascending" else reversed(range(model.T)):
        xs.append(step(model, xs[-1], t, False, generator, slip=slip).x_prev)
    return xs


reference = partial(samplers.sample, sampler="ddpm")  # (num_samples, model, generator=None)
MISTAKES = [
    *((key, partial(slipped, slip=key)) for key in STAT_SLIPS),
    ("model_input", partial(slipped, slip="paper_steps")),  # model(x, t + 1)
    ("only_x0", lambda *args, **kwargs: reference(*args, **kwargs)[-1]),
    ("reversed", lambda *args, **kwargs: reference(*args, **kwargs)[::-1]),
    ("length", lambda *args, **kwargs: reference(*args, **kwargs)[1:]),
    ("not_list", lambda *args, **kwargs: torch.stack(reference(*args, **kwargs))),
    ("signature", lambda num_samples, model: reference(num_samples, model)),  # no generator
]


def view(out: object, args: tuple) -> list[Part]:
    """The T+1 entries of the returned list, each (num_samples, 2)."""
    n, T = args[0], args[1].T
    if not isinstance(out, (list, tuple)) or len(out) != T + 1:
        listed, tensor = isinstance(out, (list, tuple)), isinstance(out, torch.Tensor)
        got = f"a list of {len(out)}" if listed else f"a {type(out).__name__}" + (
            f" of shape {tuple(out.shape)}" if tensor else "")  # fmt: skip
        x0 = (listed and len(out) == 1) or (tensor and tuple(out.shape) == (n, 2))
        raise Failure(f"it returned {got}; expected a list of T+1 = {T + 1} tensors of shape ({n}, "
                      "2)", mistake="only_x0" if x0 else "length" if listed else "not_list")
    return [Part(f"entry {k} of the list (x_{T - k} in the paper's numbering) differs from the "
                 "reference", as_tensor(f"entry {k} of the list", x, (n, 2)))
            for k, x in enumerate(out)]  # fmt: skip


def fits(model, xs: list[torch.Tensor], slip=None, steps=None) -> tuple[int, str] | None:
    """None if each step of ``xs`` (default: all T; "reversed": the list read backwards) adds to
    the mean under ``slip`` 0 where sigma_t = 0, else sigma_t z, z of mean and correlation with x_t
    below 0.1 and std 1 +- 0.1; else the first step t that does not, and what was measured there."""
    sigma, xs = sigmas(model, slip).double(), xs[::-1] if slip == "reversed" else xs
    steps = steps or (range(model.T) if slip == "ascending" else reversed(range(model.T)))
    for xt, x_prev, t in zip(xs[:-1], xs[1:], steps, strict=True):
        r = x_prev - xt - step(model, xt, t, generator=generator(), slip=slip).drift
        if sigma[t] == 0 and float(r.abs().max()) > 1e-4:
            return t, f"x_{t} differs from the mean by up to {fmt(r.abs().max())}"
        z, m = r / sigma[t], r.mean(0)
        zc, xc = z - z.mean(0), xt - xt.mean(0)
        corr = (xc * zc).sum(0) / (xc.norm(dim=0) * zc.norm(dim=0)).clamp_min(1e-12)
        if sigma[t] > 0 and not ((z.mean(0).abs() < STAT_TOL).all() and (corr.abs() < STAT_TOL)
                                 .all() and abs(float(z.std()) - 1.0) < STAT_TOL):
            return t, (f"the random part of your update has mean ({fmt(m[0])}, {fmt(m[1])}) and "
                       f"standard deviation {fmt(r.std())}; expected mean 0 and standard "
                       f"deviation {fmt(sigma[t])}")  # fmt: skip
    return None


def judge(model, xs: list[torch.Tensor], where: str, slips=(*STAT_SLIPS, "reversed"),
          generic="generic", steps=None) -> None:
    """Nothing if the steps of ``xs`` are DDPM's whatever the draws (:func:`fits`), else a Failure
    naming the first of ``slips`` that fits them, or ``generic``."""
    found = fits(model, xs, steps=steps)
    if found is not None:
        key = next((k for k in slips if fits(model, xs, k, steps) is None), generic)
        raise Failure(f"{where}, the step from t = {found[0]} does not match DDPM: {found[1]}",
                      mistake=key)  # fmt: skip


def explain(fn, notes: list[str], **_) -> None:
    """Maybe the draws differ: decide on many particles, without depending on them."""
    if notes:  # an earlier case passed it: the verdict does not depend on the case
        return
    (low, high, T), n = _STAT_SCHEDULE, STAT_PARTICLES
    model = FakeModel(low, high, T)
    xs = [p.value for p in view(call(fn, n, model, generator=generator()), (n, model))]
    if [int(steps[0]) for steps in model.calls] == list(range(T)):
        raise Failure("the model was called at steps 0, 1, ..., T-1", mistake="ascending")
    judge(model, xs, f"on {n} particles with T = {T} (beta from {low} to {high})")
    notes.append("your random draws differ from the prescribed order, so the same seed does not "
                 f"give the reference's samples. The update itself is right (checked on {n} "
                 "particles: the noise added at each step has the right size and none is added "
                 "at the last step). " + HINTS["draws"])
