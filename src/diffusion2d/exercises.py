"""Automatic feedback for the workshop's four exercises (the participant notebooks call these).

Each ``check_*`` function runs the participant's function on small cases, compares it with the
library's own reference implementation and returns a :class:`CheckResult`: ``passed`` (a bool)
and ``message`` (plain words, also the result's printed form and its display in a notebook).
No traceback ever escapes a check: an exception raised by the participant's function (including
the ``todo()`` stub's "not implemented yet"), a wrong return type or a wrong shape becomes the
verdict, with the line of the participant's code that raised when it can be found.

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
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import torch
from torch import nn

from . import loss as _loss
from . import samplers as _samplers
from . import schedules as _schedules
from . import trajectories as _trajectories

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

SEED = 2020  # the seed of every generator the checks hand out
GLOBAL_SEED = 4242  # the global torch seed while a participant's function runs (differs from SEED)
RTOL, ATOL = 1e-4, 1e-5
STAT_PARTICLES = 4000  # particles of the draw-order-independent (statistical) checks
STAT_TOL = 0.1  # tolerance of those checks on mean, standard deviation - 1 and correlation
PASS_MARK, FAIL_MARK = "\u2714", "\u2718"  # heavy check mark, heavy ballot x


# --------------------------------------------------------------------------------------------
# todo() and the result object
# --------------------------------------------------------------------------------------------


class NotImplementedYet(NotImplementedError):
    """Raised by :func:`todo`: the exercise has not been filled in yet."""


def todo(hint: str = "") -> NoReturn:
    """Stand in for code the participant still has to write: raise "not implemented yet: hint"."""
    raise NotImplementedYet(f"not implemented yet: {hint}" if hint else "not implemented yet")


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check; it prints (and displays in a notebook) as its ``message``.

    ``status`` is one of "passed", "failed", "not implemented"; ``mistake`` names the typical
    mistake recognised (a key of the check's hint table) or is None; ``case`` is the failing case.
    """

    exercise: str
    passed: bool
    message: str
    status: str = "passed"
    mistake: str | None = None
    case: str | None = None

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        colour = "#2e7d32" if self.passed else "#c62828"
        return (
            f'<div class="diffusion2d-check diffusion2d-check-{self.status.replace(" ", "-")}" '
            f'style="border-left: 4px solid {colour}; padding: 0.4em 0.8em; '
            f'white-space: pre-wrap; font-family: var(--pst-font-family-monospace, monospace);">'
            f"{html.escape(self.message)}</div>"
        )


class _Failure(Exception):
    """Internal: a case failed; carries what the message needs."""

    def __init__(
        self,
        what: str,
        *,
        expected: str | None = None,
        got: str | None = None,
        hint: str | None = None,
        mistake: str | None = None,
    ):
        super().__init__(what)
        self.what, self.expected, self.got = what, expected, got
        self.hint, self.mistake = hint, mistake


class _NotImplemented(Exception):
    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


# --------------------------------------------------------------------------------------------
# The stand-in model
# --------------------------------------------------------------------------------------------


class ModelInputError(ValueError):
    """The stand-in model was called with inputs the real model would reject or misread."""


class FakeModel(nn.Module):
    """A stand-in for ``DenoisingMLP``: ``eps_theta(x_t, t)`` is a fixed, cheap formula.

    ``eps_theta = scale * ((0.4 + 0.6 s) tanh(x_t) + 0.3 s (1, -0.5))`` with ``s = (t + 1) / T``;
    ``scale`` is a parameter (1.0), so a loss computed from it has a gradient. Every call's steps
    are recorded in ``calls`` (the check uses them to spot steps taken in the wrong order).
    """

    def __init__(self, beta_min: float, beta_max: float, T: int):
        super().__init__()
        betas, alphas, alpha_bars = _schedules.get_diffusion_parameters(beta_min, beta_max, T)
        self.T = T
        self.register_buffer("betas", betas)
        self.register_buffer("alphas", alphas)
        self.register_buffer("alpha_bars", alpha_bars)
        self.scale = nn.Parameter(torch.ones(()))
        self.calls: list[torch.Tensor] = []

    def forward(self, xt: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        xt = self._check_x(xt, t)
        steps = self._check_t(t, xt.shape[0])
        self.calls.append(steps.detach().clone())
        s = ((steps.to(xt.dtype) + 1.0) / self.T)[:, None]  # (N, 1)
        shift = torch.tensor([1.0, -0.5], dtype=xt.dtype)
        return self.scale.to(xt.dtype) * ((0.4 + 0.6 * s) * torch.tanh(xt) + 0.3 * s * shift)

    def _check_x(self, xt: object, t: object) -> torch.Tensor:
        if not isinstance(xt, torch.Tensor):
            raise ModelInputError(
                f"the model was called with x_t of type {type(xt).__name__}; it takes a torch "
                "tensor of shape (N, 2), then the steps: model(x_t, t)"
            )
        if not torch.is_floating_point(xt):
            if isinstance(t, torch.Tensor) and torch.is_floating_point(t):
                raise ModelInputError(
                    "the model takes the points first and the steps second: model(x_t, t)"
                )
            raise ModelInputError(
                f"the model received x_t with dtype {xt.dtype}; points must be floating point"
            )
        if xt.ndim == 3 and xt.shape[-1] == 2:
            raise ModelInputError(
                f"the model received x_t of shape {tuple(xt.shape)} instead of (N, 2): a "
                "coefficient such as alpha_bars[t] was broadcast wrongly against the (N, 2) "
                "points. Give it shape (N, 1), e.g. alpha_bars[t].unsqueeze(1) or "
                "alpha_bars[t][:, None], so that it multiplies both coordinates of each point"
            )
        if xt.ndim != 2 or xt.shape[1] != 2:
            raise ModelInputError(
                f"the model received x_t of shape {tuple(xt.shape)}; expected (N, 2): one row "
                "per point, two coordinates"
            )
        return xt

    def _check_t(self, t: object, n: int) -> torch.Tensor:
        T = self.T
        if isinstance(t, bool) or isinstance(t, float):
            raise ModelInputError(
                f"the model received the step t = {t!r}; steps are integers (an int, or a "
                f"torch.long tensor of shape (N,), e.g. torch.full((N,), t, dtype=torch.long))"
            )
        if isinstance(t, int):
            t = torch.tensor(t)
        if not isinstance(t, torch.Tensor):
            raise ModelInputError(
                f"the model received steps of type {type(t).__name__}; pass an int or a "
                "torch.long tensor of shape (N,)"
            )
        if torch.is_floating_point(t):
            raise ModelInputError(
                f"the model received steps with dtype {t.dtype}; steps are integers: use "
                "dtype=torch.long (e.g. torch.full((N,), t, dtype=torch.long))"
            )
        if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != n):
            raise ModelInputError(
                f"the model received steps of shape {tuple(t.shape)} for {n} points; pass one "
                f"int, or a tensor of shape ({n},)"
            )
        if t.numel() and int(t.max()) >= T:
            raise ModelInputError(
                f"the model received the step t = {int(t.max())}, out of range for T = {T}: "
                f"steps are 0-based, from T-1 = {T - 1} down to 0 (array index t is the paper's "
                "step t+1)"
            )
        if t.numel() and int(t.min()) < 0:
            raise ModelInputError(
                f"the model received the negative step t = {int(t.min())}; steps run from "
                f"T-1 = {T - 1} down to 0"
            )
        t = t.long()
        return t.expand(n) if t.ndim == 0 else t


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

_LIBRARY_DIRS = (Path(__file__).resolve().parent, Path(torch.__file__).resolve().parent)


def _your_line(err: BaseException) -> str:
    """' (in your code, line 7: `x = ...`)' for the deepest frame outside torch and diffusion2d."""
    frames = traceback.extract_tb(err.__traceback__)
    for frame in reversed(frames):
        path = Path(frame.filename).resolve() if frame.filename else None
        if path is not None and any(d in path.parents for d in _LIBRARY_DIRS):
            continue
        if frame.filename and frame.filename.startswith("<frozen"):
            continue
        line = (frame.line or "").strip()
        if line:
            return f" (in your code, line {frame.lineno}: `{line}`)"
        return ""
    return ""


def _call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run the participant's function with a fixed global seed; translate exceptions."""
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(GLOBAL_SEED)
            return fn(*args, **kwargs)
    except NotImplementedError as err:
        raise _NotImplemented(str(err) or "not implemented yet") from None
    except ModelInputError as err:
        raise _Failure(
            f"the model was called wrongly{_your_line(err)}",
            hint=str(err)[0].upper() + str(err)[1:] + ".",
            mistake="model_input",
        ) from None
    except TypeError as err:
        text = str(err)
        hint = None
        mistake = None
        if "unexpected keyword argument" in text or "positional argument" in text:
            hint = "Keep the signature given in the exercise (names and defaults of the arguments)."
            mistake = "signature"
        raise _Failure(
            f"your function raised TypeError: {text}{_your_line(err)}", hint=hint, mistake=mistake
        ) from None
    except Exception as err:  # noqa: BLE001 - any error becomes a plain-language verdict
        text = str(err)
        hint = None
        mistake = None
        if "must match the size of tensor" in text or "expanded size" in text:
            hint = _HINT_BROADCAST
            mistake = "broadcast"
        raise _Failure(
            f"your function raised {type(err).__name__}: {text}{_your_line(err)}",
            hint=hint,
            mistake=mistake,
        ) from None


def _as_tensor(name: str, value: object, shape: tuple[int, ...]) -> torch.Tensor:
    """The value as a float64 tensor of the given shape, or a _Failure saying what is wrong."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    else:
        try:
            import numpy as np

            if isinstance(value, np.ndarray):
                tensor = torch.from_numpy(value)
            else:
                raise TypeError
        except TypeError:
            raise _Failure(
                f"{name} is a {type(value).__name__}; expected a torch tensor of shape {shape}",
                hint="Return torch tensors (torch.linspace, torch.cumprod, ... all return one).",
                mistake="type",
            ) from None
    if tensor.is_complex() or not (torch.is_floating_point(tensor) or tensor.dtype.is_signed):
        raise _Failure(f"{name} has dtype {tensor.dtype}; expected floating-point numbers")
    if tuple(tensor.shape) != shape:
        raise _Failure(
            f"{name} has shape {tuple(tensor.shape)}; expected {shape}",
            expected=str(shape),
            got=str(tuple(tensor.shape)),
            mistake="shape",
        )
    return tensor.double()


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = RTOL, atol: float = ATOL) -> bool:
    a, b = a.detach().double(), b.detach().double()
    if a.shape != b.shape or not torch.isfinite(a).all():
        return False
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def _same_list(xs: Sequence[torch.Tensor], ys: Sequence[torch.Tensor]) -> bool:
    return len(xs) == len(ys) and all(_close(a, b) for a, b in zip(xs, ys, strict=True))


def _fmt(x: torch.Tensor | float, rows: int = 3) -> str:
    """A short human-readable rendering: a number, or the first rows of a tensor."""
    if not isinstance(x, torch.Tensor):
        return f"{x:.6g}"
    x = x.detach().double()
    if x.numel() == 1:
        return f"{x.item():.6g}"
    if x.ndim == 1:
        shown = ", ".join(f"{v:.5g}" for v in x[:6].tolist())
        more = f", ... ({x.numel()} values)" if x.numel() > 6 else ""
        return f"[{shown}{more}]"
    lines = [
        "[" + ", ".join(f"{v:.4f}" for v in row) + "]" for row in x.reshape(x.shape[0], -1)[:rows]
    ]
    more = f", ... (shape {tuple(x.shape)})" if x.shape[0] > rows else ""
    return "[" + ", ".join(lines) + more + "]"


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(SEED)


def _result(exercise: str, cases: Sequence[str], run: Callable[[], str | None]) -> CheckResult:
    """Run ``run`` (which raises _Failure/_NotImplemented) and turn the outcome into a verdict."""
    try:
        note = run()
    except _NotImplemented as err:
        text = err.text
        return CheckResult(
            exercise,
            False,
            f"{FAIL_MARK} {exercise}: {text}.\n"
            + (
                "Then run that cell again, and this check."
                if "todo(" in text
                else f"Write your code in place of the todo(...) line in your {exercise}, run "
                "that cell again, then this check."
            ),
            status="not implemented",
        )
    except _CaseFailure as failure:
        lines = [f"{FAIL_MARK} {exercise}: failed on {failure.case}.", f"  {failure.what}"]
        if failure.expected is not None:
            lines.append(f"  expected: {failure.expected}")
        if failure.got is not None:
            lines.append(f"  got:      {failure.got}")
        if failure.hint:
            lines.append(f"Hint: {failure.hint}")
        return CheckResult(
            exercise,
            False,
            "\n".join(lines),
            status="failed",
            mistake=failure.mistake,
            case=failure.case,
        )
    except Exception as err:  # noqa: BLE001 - a safety net: never a traceback from a check
        return CheckResult(
            exercise,
            False,
            f"{FAIL_MARK} {exercise}: the check could not evaluate your function's output "
            f"({type(err).__name__}: {err}). Compare its return value with the exercise text.",
            status="failed",
            mistake="unreadable",
        )
    summary = "; ".join(cases)
    message = f"{PASS_MARK} {exercise}: passed. It agrees with the reference on {summary}."
    if note:
        message += f"\nNote: {note}"
    return CheckResult(exercise, True, message)


class _CaseFailure(_Failure):
    def __init__(self, case: str, failure: _Failure):
        super().__init__(
            failure.what,
            expected=failure.expected,
            got=failure.got,
            hint=failure.hint,
            mistake=failure.mistake,
        )
        self.case = case


def _in_case(case: str, body: Callable[[], Any]) -> Any:
    try:
        return body()
    except _Failure as failure:
        if isinstance(failure, _CaseFailure):
            raise
        raise _CaseFailure(case, failure) from None


def _not_callable(exercise: str, fn: object) -> CheckResult | None:
    if callable(fn):
        return None
    return CheckResult(
        exercise,
        False,
        f"{FAIL_MARK} {exercise}: the check needs your function itself, e.g. "
        f"check_{exercise}({exercise}); it received a {type(fn).__name__}.",
        status="failed",
        mistake="not_callable",
    )


_HINT_BROADCAST = (
    "alpha_bars[t] for a batch has shape (B,) while the points have shape (B, 2): reshape the "
    "coefficient to (B, 1), e.g. alpha_bars[t].unsqueeze(1) or alpha_bars[t][:, None], so that "
    "each point's two coordinates are multiplied by its own coefficient."
)


# --------------------------------------------------------------------------------------------
# Exercise 1 (chapter 02): the schedule
# --------------------------------------------------------------------------------------------

_SCHEDULE_CASES = [
    ("the workshop schedule (beta_min = 1e-4, beta_max = 0.05, T = 50)", (1e-4, 0.05, 50)),
    ("the gentler schedule (beta_min = 1e-4, beta_max = 0.02, T = 50)", (1e-4, 0.02, 50)),
    ("a short schedule (beta_min = 0.1, beta_max = 0.3, T = 5)", (0.1, 0.3, 5)),
]

SCHEDULE_HINTS = {
    "not_tuple": "Return the three tensors as a tuple: return betas, alphas, alpha_bars.",
    "length": (
        "One value per step: T values, with index t holding the paper's step t+1 "
        "(torch.linspace(beta_min, beta_max, T) has exactly T)."
    ),
    "beta_max_excluded": (
        "The last beta must equal beta_max: the schedule runs from beta_min to beta_max "
        "inclusive. torch.linspace(beta_min, beta_max, T) includes both ends; torch.arange or "
        "linspace(..., T + 1)[:-1] stops one step short."
    ),
    "beta_min_excluded": (
        "The first beta must equal beta_min: torch.linspace(beta_min, beta_max, T) starts there."
    ),
    "betas": (
        "betas rise linearly from beta_min to beta_max: torch.linspace(beta_min, beta_max, T)."
    ),
    "alphas_sqrt": "alpha_t = 1 - beta_t, without a square root.",
    "alphas": "alphas = 1 - betas (DDPM Sec. 2: alpha_t := 1 - beta_t).",
    "alpha_bars_sum": (
        "alpha_bar_t is the product alpha_1 * alpha_2 * ... * alpha_t, not the sum: use "
        "torch.cumprod(alphas, dim=0)."
    ),
    "alpha_bars_total": (
        "alpha_bar_t is the running product up to step t (torch.cumprod(alphas, dim=0)), not the "
        "product of all the alphas."
    ),
    "alpha_bars_shifted": (
        "alpha_bars[0] is already alpha_1 = 1 - beta_1: index t holds the product up to the "
        "paper's step t+1, so do not start the product with 1."
    ),
    "alpha_bars_of_betas": "alpha_bars is the running product of the alphas, not of the betas.",
    "alpha_bars": (
        "alpha_bars is the running product of the alphas: torch.cumprod(alphas, dim=0) "
        "(the notation above DDPM eq. 4)."
    ),
}


def check_get_diffusion_parameters(fn: Callable) -> CheckResult:
    """Check ``get_diffusion_parameters(beta_min, beta_max, T) -> (betas, alphas, alpha_bars)``."""
    exercise = "get_diffusion_parameters"
    bad = _not_callable(exercise, fn)
    if bad is not None:
        return bad

    def run() -> None:
        for desc, (beta_min, beta_max, T) in _SCHEDULE_CASES:
            _in_case(desc, lambda a=beta_min, b=beta_max, n=T: _schedule_case(fn, a, b, n))

    return _result(exercise, ["three schedules (betas, alphas and alpha_bars)"], run)


def _schedule_case(fn: Callable, beta_min: float, beta_max: float, T: int) -> None:
    ref = [v.double() for v in _schedules.get_diffusion_parameters(beta_min, beta_max, T)]
    ref_betas, ref_alphas, ref_bars = ref
    got = _call(fn, beta_min, beta_max, T)
    hints = SCHEDULE_HINTS
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        what = (
            f"it returned one {type(got).__name__}"
            if not isinstance(got, (tuple, list))
            else f"it returned {len(got)} values"
        )
        raise _Failure(
            what + "; expected three: (betas, alphas, alpha_bars)",
            hint=hints["not_tuple"],
            mistake="not_tuple",
        )
    for name, value in zip(("betas", "alphas", "alpha_bars"), got, strict=True):
        if isinstance(value, torch.Tensor) and value.ndim == 1 and value.shape[0] != T:
            raise _Failure(
                f"{name} has {value.shape[0]} values; expected T = {T}",
                expected=f"{T} values",
                got=f"{value.shape[0]} values",
                hint=hints["length"],
                mistake="length",
            )
    betas, alphas, bars = (
        _as_tensor(name, value, (T,))
        for name, value in zip(("betas", "alphas", "alpha_bars"), got, strict=True)
    )
    if not _close(betas, ref_betas):
        if _close(betas[:1], ref_betas[:1]) and not _close(betas[-1:], ref_betas[-1:]):
            key = "beta_max_excluded"
        elif not _close(betas[:1], ref_betas[:1]) and _close(betas[-1:], ref_betas[-1:]):
            key = "beta_min_excluded"
        else:
            key = "betas"
        raise _Failure(
            "betas differ from the reference",
            expected=_fmt(ref_betas[[0, 1, -2, -1]]) + " (first two, last two)",
            got=_fmt(betas[[0, 1, -2, -1]]) + " (first two, last two)",
            hint=hints[key],
            mistake=key,
        )
    if not _close(alphas, ref_alphas):
        key = "alphas_sqrt" if _close(alphas, ref_alphas.sqrt()) else "alphas"
        raise _Failure(
            "alphas differ from the reference",
            expected=_fmt(ref_alphas),
            got=_fmt(alphas),
            hint=hints[key],
            mistake=key,
        )
    if not _close(bars, ref_bars):
        candidates = {
            "alpha_bars_sum": torch.cumsum(ref_alphas, 0),
            "alpha_bars_total": torch.full_like(ref_alphas, float(ref_alphas.prod())),
            "alpha_bars_shifted": _schedules.alpha_bars_prev(ref_bars),
            "alpha_bars_of_betas": torch.cumprod(ref_betas, 0),
        }
        key = next((k for k, v in candidates.items() if _close(bars, v)), "alpha_bars")
        raise _Failure(
            "alpha_bars differ from the reference",
            expected=_fmt(ref_bars),
            got=_fmt(bars),
            hint=hints[key],
            mistake=key,
        )


# --------------------------------------------------------------------------------------------
# Exercise 2 (chapter 04): the loss L_simple
# --------------------------------------------------------------------------------------------

LOSS_HINTS = {
    "variance": (
        "x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (DDPM eq. 4): both coefficients "
        "are standard deviations, so take square roots; you used a variance (alpha_bar_t or "
        "1 - alpha_bar_t) itself."
    ),
    "alpha": (
        "Use alpha_bars[t] (alpha_bar_t = alpha_1 * ... * alpha_t), not alphas[t]: eq. 4 jumps "
        "from x_0 to x_t in one go, through all t steps."
    ),
    "index_shift": (
        "Index alpha_bars with the steps directly, alpha_bars[ts]: steps are 0-based and index t "
        "already is the paper's step t+1."
    ),
    "x0_target": (
        "The model predicts the noise: the target of L_simple is eps, not x_0 "
        "(DDPM eq. 14: || eps - eps_theta(x_t, t) ||^2)."
    ),
    "clean_input": (
        "Feed the model the noised points x_t (with the steps ts), not the clean x_0: "
        "eps_theta(x_t, t)."
    ),
    "sum": (
        "Average, do not sum: this book's L_simple is the mean over the batch and both "
        "coordinates, ((eps - eps_pred) ** 2).mean(). A sum has the same minimiser but a scale "
        "that grows with the batch size."
    ),
    "sum_coordinates": (
        "Your value is exactly twice the reference: you summed the squared error over the two "
        "coordinates (the squared norm of eq. 14). This book averages over both coordinates "
        "too: ((eps - eps_pred) ** 2).mean(), so your numbers match the training curves."
    ),
    "rmse": "Do not take a square root at the end: L_simple is the mean *squared* error.",
    "broadcast": _HINT_BROADCAST,
    "random": (
        "Your function returns different values for the same inputs: use the eps and ts it is "
        "given (they are the random draws); do not draw new noise or steps inside."
    ),
    "no_model": "Call the model on the noised points: eps_pred = model(x_t, ts).",
    "detached": (
        "Keep the loss connected to the model's parameters so that loss.backward() can train "
        "it: no torch.no_grad(), .detach(), .item() or conversion to numpy."
    ),
    "not_scalar": (
        "Return one number: the mean over the batch and both coordinates, "
        "((eps - eps_pred) ** 2).mean()."
    ),
    "generic": (
        "L_simple (DDPM eq. 14, Algorithm 1): x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - "
        "alpha_bar_t) eps with alpha_bar_t = alpha_bars[ts] shaped (B, 1), then "
        "((eps - model(x_t, ts)) ** 2).mean(). Typical slips: a variance instead of a standard "
        "deviation, alphas instead of alpha_bars, x_0 as the target, a wrong broadcast."
    ),
}

_LOSS_CASES = [
    ("a batch of 6 points (T = 10)", (0.02, 0.3, 10), [0, 3, 9, 5, 7, 1]),
    ("a batch of 2 points at different steps (T = 10)", (0.02, 0.3, 10), [1, 8]),
    (
        "the workshop schedule (beta_max = 0.05, T = 50), 16 points",
        (1e-4, 0.05, 50),
        [49, 0, 12, 25, 6, 37, 44, 3, 18, 30, 9, 49, 21, 1, 33, 40],
    ),
]


def _mse(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return ((a - b) ** 2).mean()


def _loss_variants(model: FakeModel, x0s, eps, alpha_bars, ts) -> dict[str, torch.Tensor]:
    """The listed mistakes, evaluated on one case (for naming the participant's slip)."""
    ab = alpha_bars[ts][:, None]  # (B, 1)
    a = model.alphas[ts][:, None]
    ab_shift = alpha_bars[ts - 1][:, None]  # wraps at t = 0, like the slip it mimics
    ab_row = alpha_bars[ts][None, :]  # (1, B): broadcasts over the coordinates when B == 2
    ref = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    out: dict[str, list[torch.Tensor]] = {
        "variance": [
            _mse(eps, model(ab * x0s + (1 - ab) * eps, ts)),
            _mse(eps, model(ab * x0s + (1 - ab).sqrt() * eps, ts)),
            _mse(eps, model(ab.sqrt() * x0s + (1 - ab) * eps, ts)),
        ],
        "alpha": [
            _mse(eps, model(a.sqrt() * x0s + (1 - a).sqrt() * eps, ts)),
            _mse(eps, model(a.sqrt() * x0s + (1 - ab).sqrt() * eps, ts)),
        ],
        "index_shift": [_mse(eps, model(ab_shift.sqrt() * x0s + (1 - ab_shift).sqrt() * eps, ts))],
        "x0_target": [_mse(x0s, model(ref, ts))],
        "clean_input": [_mse(eps, model(x0s, ts))],
        "sum": [((eps - model(ref, ts)) ** 2).sum()],
        "sum_coordinates": [((eps - model(ref, ts)) ** 2).sum(1).mean()],
        "rmse": [_mse(eps, model(ref, ts)).sqrt()],
    }
    if x0s.shape[0] == 2:
        wrong = ab_row.sqrt() * x0s + (1 - ab_row).sqrt() * eps
        out["broadcast"] = [_mse(eps, model(wrong, ts))]
    return {k: torch.stack([v.detach() for v in vs]) for k, vs in out.items()}


def check_get_loss(fn: Callable) -> CheckResult:
    """Check ``get_loss(model, x0s, eps, alpha_bars, ts)`` (L_simple, the mean; see module doc)."""
    exercise = "get_loss"
    bad = _not_callable(exercise, fn)
    if bad is not None:
        return bad

    def run() -> None:
        gen = _generator()
        for desc, schedule, steps in _LOSS_CASES:
            model = FakeModel(*schedule)
            B = len(steps)
            x0s = torch.randn(B, 2, generator=gen) * torch.tensor([1.0, 0.7]) + 0.3
            eps = torch.randn(B, 2, generator=gen)
            ts = torch.tensor(steps, dtype=torch.long)
            _in_case(desc, lambda m=model, x=x0s, e=eps, t=ts: _loss_case(fn, m, x, e, t))

    return _result(exercise, ["three batches (6 and 2 points for T = 10, 16 for T = 50)"], run)


def _loss_case(fn: Callable, model: FakeModel, x0s, eps, ts) -> None:
    alpha_bars = model.alpha_bars
    expected = _loss.get_loss(model, x0s, eps, alpha_bars, ts).detach()
    model.calls.clear()
    got = _call(fn, model, x0s.clone(), eps.clone(), alpha_bars.clone(), ts.clone())
    hints = LOSS_HINTS
    if not model.calls:
        raise _Failure("your get_loss never called the model", hint=hints["no_model"],
                       mistake="no_model")  # fmt: skip
    if not isinstance(got, torch.Tensor):
        if isinstance(got, (float, int)) and not isinstance(got, bool):
            raise _Failure(
                f"it returned a Python {type(got).__name__}; expected a tensor",
                expected=_fmt(expected),
                got=_fmt(float(got)),
                hint=hints["detached"],
                mistake="detached",
            )
        raise _Failure(
            f"it returned a {type(got).__name__}; expected a scalar tensor",
            hint=hints["not_scalar"],
            mistake="type",
        )
    if got.numel() != 1:
        raise _Failure(
            f"it returned a tensor of shape {tuple(got.shape)}; expected one number",
            expected=_fmt(expected),
            got=_fmt(got),
            hint=hints["not_scalar"],
            mistake="not_scalar",
        )
    value = got.detach().reshape(())
    if not _close(value, expected):
        variants = _loss_variants(model, x0s, eps, alpha_bars, ts)
        key = next((k for k, v in variants.items() if any(_close(value, w) for w in v)), None)
        if key is None:
            try:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(GLOBAL_SEED + 1)
                    again = fn(model, x0s.clone(), eps.clone(), alpha_bars.clone(), ts.clone())
            except Exception:  # noqa: BLE001 - only asking whether a second run differs
                again = None
            if isinstance(again, torch.Tensor) and not _close(
                again.detach().reshape(-1), value.reshape(-1)
            ):
                key = "random"
        key = key or "generic"
        raise _Failure(
            "the loss differs from the reference",
            expected=_fmt(expected),
            got=_fmt(value),
            hint=hints[key],
            mistake=key,
        )
    if not got.requires_grad:
        raise _Failure(
            "the value is right but the loss carries no gradient",
            hint=hints["detached"],
            mistake="detached",
        )


# --------------------------------------------------------------------------------------------
# Exercise 3 (chapter 05): the DDPM sampler
# --------------------------------------------------------------------------------------------

SAMPLE_HINTS = {
    "not_list": (
        "Return the whole list [x_T, x_{T-1}, ..., x_0]: T+1 tensors of shape (num_samples, 2), "
        "x_T first and x_0 last."
    ),
    "only_x0": (
        "Return the whole list [x_T, x_{T-1}, ..., x_0] (T+1 tensors), not only the final x_0: "
        "start with xs = [x] and append after every step."
    ),
    "length": (
        "The list holds T+1 tensors: x_T (the starting noise) first, then one after each of the "
        "T steps, x_0 last."
    ),
    "reversed": "Keep the list in sampling order: x_T first, x_0 last (do not reverse it).",
    "ascending": (
        "Go backwards in time: t = T-1, T-2, ..., 0 (0-based), starting from x_T, e.g. "
        "for t in reversed(range(T))."
    ),
    "last_noise": (
        "No noise at the last step: at t = 0 (the paper's t = 1) the result is the mean itself "
        "(Algorithm 2: z = 0 if t = 1). Add sigma_t z only when t > 0."
    ),
    "mean_alpha_bar": (
        "The mean divides by sqrt(alpha_t), not sqrt(alpha_bar_t): "
        "mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_t) (DDPM eq. 11)."
    ),
    "mean_variance": (
        "In eq. 11 eps_theta is scaled by beta_t / sqrt(1 - alpha_bar_t): a standard deviation "
        "in the denominator, not the variance 1 - alpha_bar_t."
    ),
    "sigma_beta": (
        "sigma_t is a standard deviation: with sigma_t^2 = beta_t, add sqrt(beta_t) z, not "
        "beta_t z."
    ),
    "sigma_tilde": (
        "This exercise uses sigma_t^2 = beta_t (DDPM Sec. 3.2 also allows the posterior "
        "variance beta_tilde_t; we fix beta_t): add sqrt(beta_t) z."
    ),
    "draws": (
        "Draw the random numbers with the generator you are given, in this order: x_T = "
        "torch.randn(num_samples, 2, generator=generator) first, then one z = "
        "torch.randn(num_samples, 2, generator=generator) per step with t > 0."
    ),
    "generic": (
        "DDPM (eq. 11, Algorithm 2): x = torch.randn(num_samples, 2, generator=generator); for t "
        "= T-1 down to 0: eps = model(x, t); mean = (x - beta_t / sqrt(1 - alpha_bar_t) eps) / "
        "sqrt(alpha_t); x = mean + sqrt(beta_t) z for t > 0 (z = torch.randn(..., "
        "generator=generator)), x = mean at t = 0; keep every x in a list."
    ),
}

_SAMPLE_CASES = [
    ("5 samples with a short schedule (beta 0.05 to 0.4, T = 6)", (0.05, 0.4, 6), 5),
    ("3 samples with the workshop schedule (beta_max = 0.05, T = 50)", (1e-4, 0.05, 50), 3),
]
_STAT_SCHEDULE = (0.1, 0.5, 5)


def _ddpm_variant(
    num_samples: int,
    model: FakeModel,
    generator: torch.Generator,
    *,
    mean: str = "ddpm",
    sigma: str = "sqrt_beta",
    last_noise: bool = False,
    ascending: bool = False,
) -> list[torch.Tensor]:
    """The DDPM sampler with one of the typical mistakes switched on (same draw order)."""
    T = model.T
    betas, alphas, bars = model.betas, model.alphas, model.alpha_bars
    bars_prev = _schedules.alpha_bars_prev(bars)
    x = torch.randn(num_samples, 2, generator=generator)
    xs = [x]
    steps = range(T) if ascending else range(T - 1, -1, -1)
    for t in steps:
        with torch.no_grad():
            eps = model(x, torch.full((num_samples,), t, dtype=torch.long))
        b, a, ab = betas[t], alphas[t], bars[t]
        if mean == "alpha_bar":
            mu = (x - b / (1 - ab).sqrt() * eps) / ab.sqrt()
        elif mean == "variance":
            mu = (x - b / (1 - ab) * eps) / a.sqrt()
        else:
            mu = (x - b / (1 - ab).sqrt() * eps) / a.sqrt()
        last = t == (T - 1 if ascending else 0)
        if last and not last_noise:
            x = mu
        else:
            z = torch.randn(num_samples, 2, generator=generator)
            if sigma == "beta":
                s = b
            elif sigma == "tilde":
                s = (b * (1 - bars_prev[t]) / (1 - ab)).sqrt()
            else:
                s = b.sqrt()
            x = mu + s * z
        xs.append(x)
    return xs


def _sample_variants(num_samples: int, model: FakeModel) -> dict[str, list[torch.Tensor]]:
    out = {}
    for key, kw in {
        "last_noise": {"last_noise": True},
        "mean_alpha_bar": {"mean": "alpha_bar"},
        "mean_variance": {"mean": "variance"},
        "sigma_beta": {"sigma": "beta"},
        "sigma_tilde": {"sigma": "tilde"},
        "ascending": {"ascending": True},
    }.items():
        out[key] = _ddpm_variant(num_samples, model, _generator(), **kw)
    model.calls.clear()
    return out


def _as_trajectory(got: object, T: int, N: int) -> list[torch.Tensor]:
    """The participant's return value as a list of T+1 (N, 2) tensors, or a _Failure."""
    hints = SAMPLE_HINTS
    if isinstance(got, torch.Tensor):
        if tuple(got.shape) == (N, 2):
            raise _Failure(
                "it returned one tensor of shape (num_samples, 2); expected a list of T+1",
                hint=hints["only_x0"],
                mistake="only_x0",
            )
        raise _Failure(
            f"it returned a tensor of shape {tuple(got.shape)}; expected a list of T+1 = {T + 1} "
            f"tensors of shape ({N}, 2)",
            hint=hints["not_list"],
            mistake="not_list",
        )
    if not isinstance(got, (list, tuple)):
        raise _Failure(
            f"it returned a {type(got).__name__}; expected a list of T+1 = {T + 1} tensors",
            hint=hints["not_list"],
            mistake="not_list",
        )
    if len(got) != T + 1:
        key = "only_x0" if len(got) == 1 else "length"
        raise _Failure(
            f"the list has {len(got)} entries; expected T+1 = {T + 1}",
            expected=f"{T + 1} tensors",
            got=f"{len(got)}",
            hint=hints[key],
            mistake=key,
        )
    return [_as_tensor(f"entry {k} of the list", x, (N, 2)) for k, x in enumerate(got)]


def _call_order(model: FakeModel) -> list[int | None]:
    order: list[int | None] = []
    for steps in model.calls:
        values = steps.unique()
        order.append(int(values[0]) if values.numel() == 1 else None)
    return order


def check_sample(fn: Callable) -> CheckResult:
    """Check ``sample(num_samples, model, generator=None)``: DDPM, sigma_t^2 = beta_t."""
    exercise = "sample"
    bad = _not_callable(exercise, fn)
    if bad is not None:
        return bad
    notes: list[str] = []

    def run() -> str | None:
        for desc, schedule, N in _SAMPLE_CASES:
            model = FakeModel(*schedule)
            _in_case(desc, lambda m=model, n=N: _sample_case(fn, m, n, notes))
        return notes[0] if notes else None

    return _result(exercise, ["a short schedule and the workshop schedule"], run)


def _sample_case(fn: Callable, model: FakeModel, N: int, notes: list[str]) -> None:
    T = model.T
    expected = [x.double() for x in _samplers.sample(N, model, "ddpm", generator=_generator())]
    model.calls.clear()
    xs = _as_trajectory(_call(fn, N, model, generator=_generator()), T, N)
    if _same_list(xs, expected):
        return
    order = _call_order(model)
    hints = SAMPLE_HINTS
    variants = _sample_variants(N, model)
    key = None
    if _same_list(xs, expected[::-1]):
        key = "reversed"
    elif order == list(range(T)):
        key = "ascending"
    else:
        key = next((k for k, v in variants.items() if _same_list(xs, v)), None)
    if key is not None:
        first_bad = next(k for k in range(T + 1) if not _close(xs[k], expected[k]))
        raise _Failure(
            f"entry {first_bad} of the list (x_{T - first_bad} in the paper's numbering) "
            "differs from the reference",
            expected=_fmt(expected[first_bad]),
            got=_fmt(xs[first_bad]),
            hint=hints[key],
            mistake=key,
        )
    # Not one of the listed mistakes with the prescribed draws: maybe the draws differ.
    note = _sample_statistical(fn)
    notes.append(note)


def _residual_ok(
    r: torch.Tensor, xt: torch.Tensor, sigma: torch.Tensor | float
) -> tuple[bool, str]:
    """Is r distributed as sigma z (z standard normal, independent of x_t)? And the numbers."""
    z = r / sigma
    mean = z.mean(0)
    std = z.std()
    xc = xt - xt.mean(0)
    zc = z - mean
    corr = (xc * zc).sum(0) / (xc.norm(dim=0) * zc.norm(dim=0)).clamp_min(1e-12)
    ok = bool(
        (mean.abs() < STAT_TOL).all() and abs(float(std) - 1.0) < STAT_TOL
        and (corr.abs() < STAT_TOL).all()
    )  # fmt: skip
    measured = (
        f"the random part of your update has mean ({_fmt(r.mean(0)[0])}, {_fmt(r.mean(0)[1])}) "
        f"and standard deviation {_fmt(r.std())}"
    )
    return ok, measured


def _sample_statistical(fn: Callable) -> str:
    """Draw-order-independent check of a sampler on many particles; returns the pass note."""
    model = FakeModel(*_STAT_SCHEDULE)
    T, N = model.T, STAT_PARTICLES
    hints = SAMPLE_HINTS
    model.calls.clear()
    xs = _as_trajectory(_call(fn, N, model, generator=_generator()), T, N)
    if _call_order(model) == list(range(T)):
        raise _Failure("the model was called at steps 0, 1, ..., T-1", hint=hints["ascending"],
                       mistake="ascending")  # fmt: skip
    betas, alphas, bars = (v.double() for v in (model.betas, model.alphas, model.alpha_bars))
    bars_prev = _schedules.alpha_bars_prev(bars)

    def analyse(mean_kind: str, sigma_kind: str, last_noise: bool) -> tuple[int, str] | None:
        """None when the trajectory fits this sampler; else (failing step t, measurement)."""
        for k in range(T):
            t = T - 1 - k
            x = xs[k]
            with torch.no_grad():
                eps = model(x.float(), t).double()
            b, a, ab = betas[t], alphas[t], bars[t]
            if mean_kind == "alpha_bar":
                mu = (x - b / (1 - ab).sqrt() * eps) / ab.sqrt()
            elif mean_kind == "variance":
                mu = (x - b / (1 - ab) * eps) / a.sqrt()
            else:
                mu = (x - b / (1 - ab).sqrt() * eps) / a.sqrt()
            r = xs[k + 1] - mu
            if sigma_kind == "beta":
                s = b
            elif sigma_kind == "tilde":
                s = (b * (1 - bars_prev[t]) / (1 - ab)).sqrt()
            else:
                s = b.sqrt()
            if t == 0 and not last_noise:
                if float(r.abs().max()) > 1e-4:
                    return t, f"x_0 differs from the mean by up to {_fmt(r.abs().max())}"
                continue
            ok, measured = _residual_ok(r, x, s)
            if not ok:
                return t, measured + f"; expected mean 0 and standard deviation {_fmt(s)}"
        return None

    found = analyse("ddpm", "sqrt_beta", False)
    if found is None:
        model.calls.clear()
        return (
            "your random draws differ from the prescribed order (x_T = torch.randn(num_samples, "
            "2, generator=generator) first, then one z per step t > 0, all from the generator), "
            "so the same seed does not give the reference's samples. The update itself is right "
            f"(checked on {N} particles: the noise added at each step has the right size and "
            "none is added at the last step)."
        )
    mistakes = {
        "last_noise": ("ddpm", "sqrt_beta", True),
        "sigma_beta": ("ddpm", "beta", False),
        "sigma_tilde": ("ddpm", "tilde", False),
        "mean_alpha_bar": ("alpha_bar", "sqrt_beta", False),
        "mean_variance": ("variance", "sqrt_beta", False),
    }
    key = next((k for k, args in mistakes.items() if analyse(*args) is None), "generic")
    t, measured = found
    raise _Failure(
        f"on {N} particles with T = {T} (beta from {_STAT_SCHEDULE[0]} to {_STAT_SCHEDULE[1]}), "
        f"the step from t = {t} does not match DDPM: {measured}",
        hint=hints[key],
        mistake=key,
    )


# --------------------------------------------------------------------------------------------
# Exercise 4 (chapter 06): one reverse step, with its parts
# --------------------------------------------------------------------------------------------

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
    mu = (xt - b / (1 - ab).sqrt() * eps) / a.sqrt()
    x0_pred = (xt - (1 - ab).sqrt() * eps) / ab.sqrt()
    ddim = ab_prev.sqrt() * x0_pred + (1 - ab_prev).sqrt() * eps
    noise = b.sqrt() * z if t > 0 else torch.zeros_like(xt)

    def ddim_to(prev: torch.Tensor, x0: torch.Tensor = x0_pred) -> torch.Tensor:
        return prev.sqrt() * x0 + (1 - prev).sqrt() * eps - xt

    return {
        "ddpm": mu - xt,
        "ddim": ddim - xt,
        "mean_alpha_bar": (xt - b / (1 - ab).sqrt() * eps) / ab.sqrt() - xt,
        "mean_variance": (xt - b / (1 - ab) * eps) / a.sqrt() - xt,
        "ddpm_absolute": mu,
        "ddim_absolute": ddim,
        "ddpm_with_noise": mu - xt + noise,
        "ddim_wraparound": ddim_to(bars[t - 1]),  # bars[-1] at t = 0
        "ddim_no_shift": ddim_to(ab),
        "ddim_x0_alpha": ddim_to(ab_prev, (xt - (1 - a).sqrt() * eps) / a.sqrt()),
    }


def check_trajectory_step(fn: Callable) -> CheckResult:
    """Check ``trajectory_step(model, xt, t, deterministic=False, generator=None)``."""
    exercise = "trajectory_step"
    bad = _not_callable(exercise, fn)
    if bad is not None:
        return bad
    notes: list[str] = []

    def run() -> str | None:
        gen = torch.Generator().manual_seed(SEED + 7)
        for desc, schedule, t, det in _STEP_CASES:
            model = FakeModel(*schedule)
            xt = torch.randn(5, 2, generator=gen) * 1.2
            _in_case(desc, lambda m=model, x=xt, s=t, d=det: _step_case(fn, m, x, s, d, notes))
        return notes[0] if notes else None

    return _result(
        exercise,
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
        raise _Failure(
            "drift differs from the reference",
            expected=_fmt(ref.drift),
            got=_fmt(drift),
            hint=hints[key],
            mistake=key,
        )
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
        if _close(noise, b * z):
            key = "sigma_beta"
        elif _close(noise, (b * (1 - ab_prev) / (1 - ab)).sqrt() * z):
            key = "sigma_tilde"
        else:
            key = None
        if key is not None:
            raise _Failure(
                "added_noise differs from the reference",
                expected=_fmt(ref.added_noise),
                got=_fmt(noise),
                hint=hints[key],
                mistake=key,
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
