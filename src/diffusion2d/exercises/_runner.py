"""The one runner of the exercise checks, :func:`run`, the same for every catalogue.

A catalogue is a module with ``NAME``, ``SUMMARY`` (what a pass agrees on), ``CASES``
(``(description, make)``, ``make()`` giving fresh ``(args, kwargs)``), ``reference``, ``HINTS``,
``MISTAKES`` (``(key, buggy function)`` pairs), ``view(output, args)`` (the compared parts, or a
:class:`Failure` naming the structural slip) and ``explain(i, ...)`` (for a first difference at
part ``i`` that no mistake reproduces: the hint key, or None to accept it with a note in
``notes``). On a difference, :func:`run` replays the mistakes on the same case and seed and names
the first that agrees with the participant's output up to the first differing part.
"""

import html
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple, NoReturn

import numpy as np
import torch

from ._model import ModelInputError

SEED, GLOBAL_SEED = 2020, 4242  # of every generator handed out; of torch while a function runs
RTOL, ATOL = 1e-4, 1e-5
STAT_PARTICLES = 4000  # points of the statistical (draw-order independent) checks
STAT_TOL = 0.1  # their tolerance on mean, standard deviation - 1 and correlation
PASS_MARK, FAIL_MARK = "\u2714", "\u2718"  # heavy check mark, heavy ballot x

RUNNER_HINTS = {  # slips any exercise can make (the stand-in model's errors are hints too)
    "broadcast": "alpha_bars[t] for a batch has shape (B,) while the points have shape (B, 2): "
        "reshape the coefficient to (B, 1), e.g. alpha_bars[t].unsqueeze(1) or alpha_bars[t][:, "
        "None], so that each point's two coordinates are multiplied by its own coefficient.",
    "signature": "Keep the signature given in the exercise (names and defaults of the arguments).",
    "type": "Return torch tensors (torch.linspace, torch.cumprod, ... all return one).",
}  # fmt: skip


class NotImplementedYet(NotImplementedError):
    """Raised by :func:`todo`: the exercise has not been filled in yet."""


def todo(hint: str = "") -> NoReturn:
    """Stand in for code the participant still has to write: raise "not implemented yet: hint"."""
    raise NotImplementedYet(f"not implemented yet: {hint}" if hint else "not implemented yet")


@dataclass(frozen=True)
class CheckResult:
    """A verdict, shown as its ``message``; ``mistake``: the slip's key, ``case``: where."""

    passed: bool
    message: str
    status: str = "passed"
    mistake: str | None = None
    case: str | None = None

    def __str__(self) -> str:
        return self.message

    __repr__ = __str__

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        return (f'<div class="diffusion2d-check diffusion2d-check-{self.status}" style="border-'
                f'left: 4px solid {"#2e7d32" if self.passed else "#c62828"}; padding: 0.4em 0.8em;'
                " white-space: pre-wrap; font-family: var(--pst-font-family-monospace, "
                f'monospace);">{html.escape(self.message)}</div>')  # fmt: skip


class Failure(Exception):
    """A case failed: what happened, expected and got, the mistake's key and (if not its) hint."""

    def __init__(self, what, expected=None, got=None, mistake=None, hint=None):
        super().__init__(what)
        self.what, self.expected, self.got, self.mistake, self.hint = (
            what, expected, got, mistake, hint)  # fmt: skip


class Part(NamedTuple):
    """A compared part of an output: the sentence if it differs, and its value."""

    what: str
    value: torch.Tensor


def run(ex: ModuleType, fn: object) -> CheckResult:
    """Check ``fn`` against the catalogue ``ex``: one :class:`CheckResult` for all its cases."""
    name, notes = ex.NAME, []
    if not callable(fn):
        return CheckResult(False, f"{FAIL_MARK} {name}: the check needs your function itself, e.g."
                           f" check_{name}({name}); it received a {type(fn).__name__}.", "failed",
                           "not_callable")  # fmt: skip
    try:
        for desc, make in ex.CASES:  # noqa: B007 - desc names the failing case
            _run_case(ex, fn, make, notes)
    except NotImplementedError as err:  # a todo() stub: stop here, as the workshop's cells do
        then = ("Then run that cell again, and this check." if "todo(" in str(err) else
                f"Write your code in place of the todo(...) line in your {name}, run that cell "
                "again, then this check.")  # fmt: skip
        stub = str(err) or "not implemented yet"
        raise NotImplementedYet(f"{FAIL_MARK} {name}: {stub}.\n{then}") from None
    except Failure as f:
        hint = f.hint or ex.HINTS.get(f.mistake) or RUNNER_HINTS.get(f.mistake)
        lines = [f"{FAIL_MARK} {name}: failed on {desc}.", f"  {f.what}"]
        lines += [f"  expected: {f.expected}"] if f.expected is not None else []
        lines += [f"  got:      {f.got}"] if f.got is not None else []
        lines += [f"Hint: {hint}"] if hint else []
        return CheckResult(False, "\n".join(lines), "failed", f.mistake, desc)
    except Exception as err:  # noqa: BLE001 - a safety net: never a traceback from a check
        return CheckResult(False, f"{FAIL_MARK} {name}: the check could not evaluate your "
                           f"function's output ({type(err).__name__}: {err}). Compare its return"
                           " value with the exercise text.", "failed", "unreadable")  # fmt: skip
    message = f"{PASS_MARK} {name}: passed. It agrees with the reference on {ex.SUMMARY}."
    return CheckResult(True, message + (f"\nNote: {notes[0]}" if notes else ""))


def _run_case(ex: ModuleType, fn: Callable, make: Callable, notes: list[str]) -> None:
    """One case: at the first differing part, name the first mistake agreeing up to there."""
    args, kwargs = make()
    parts = ex.view(call(fn, *args, **kwargs), args)  # an unreadable output fails here
    expected = _replay(ex, ex.reference, make)
    i = _first_difference(parts, expected)
    if i == len(parts):
        return
    key = next((key for key, wrong in ex.MISTAKES
                if _first_difference(parts, _replay(ex, wrong, make) or []) > i), None)
    key = key or ex.explain(i=i, fn=fn, make=make, args=args, kwargs=kwargs, got=parts,
                            expected=expected, notes=notes)  # fmt: skip
    if key is not None:
        raise Failure(parts[i].what, fmt(expected[i].value), fmt(parts[i].value), key)


def _first_difference(parts: list[Part], others: list[Part]) -> int:
    """The index of the first part that ``others`` does not match (``len(parts)`` if none)."""
    pairs = enumerate(zip(parts, others, strict=False))
    return next((j for j, (p, q) in pairs if not close(p.value, q.value)), len(others))


def _replay(ex: ModuleType, fn: Callable, make: Callable) -> list[Part] | None:
    """The parts of ``fn``'s output on a fresh case, or None if it fails (reproducing nothing)."""
    args, kwargs = make()
    try:
        return ex.view(_seeded(fn, *args, **kwargs), args)
    except Exception:  # noqa: BLE001
        return None


def _seeded(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    with torch.random.fork_rng(devices=[]):  # reproducible, and the caller's state untouched
        torch.manual_seed(GLOBAL_SEED)
        return fn(*args, **kwargs)


# frames in diffusion2d (this package is one folder below it) and torch are not "your code"
_NOT_YOURS = (str(Path(__file__).parents[1]), str(Path(torch.__file__).parent), "<frozen")


def _your_line(err: BaseException) -> str:
    """' (in your code, line 7: `x = ...`)' for the deepest frame outside torch and diffusion2d."""
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if f.line and not f.filename.startswith(_NOT_YOURS)]  # fmt: skip
    return f" (in your code, line {frames[-1].lineno}: `{frames[-1].line}`)" if frames else ""


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run the participant's function under the fixed seed; its exceptions become Failures."""
    try:
        return _seeded(fn, *args, **kwargs)
    except NotImplementedError:
        raise
    except ModelInputError as err:  # the stand-in model's own words are the hint
        raise Failure(f"the model was called wrongly{_your_line(err)}", mistake="model_input",
                      hint=str(err)[0].upper() + str(err)[1:] + ".") from None  # fmt: skip
    except Exception as err:  # noqa: BLE001 - any error becomes a plain-language verdict
        text, key = str(err), None
        if isinstance(err, TypeError) and ("unexpected keyword" in text or "positional" in text):
            key = "signature"
        elif "must match the size of tensor" in text or "expanded size" in text:
            key = "broadcast"
        raise Failure(f"your function raised {type(err).__name__}: {text}{_your_line(err)}",
                      mistake=key) from None


def generator(offset: int = 0) -> torch.Generator:
    """A fresh generator seeded with SEED (+ ``offset``)."""
    return torch.Generator().manual_seed(SEED + offset)


def as_tensor(name: str, value: object, shape: tuple[int, ...], slip="shape") -> torch.Tensor:
    """The value as a float64 tensor of ``shape``, or a Failure (a wrong shape: ``slip``)."""
    value = torch.from_numpy(value) if isinstance(value, np.ndarray) else value
    if not isinstance(value, torch.Tensor):
        raise Failure(f"{name} is a {type(value).__name__}; expected a torch tensor of shape "
                      f"{shape}", mistake="type")  # fmt: skip
    if value.is_complex() or not (torch.is_floating_point(value) or value.dtype.is_signed):
        raise Failure(f"{name} has dtype {value.dtype}; expected floating-point numbers")
    if tuple(value.shape) != shape:
        raise Failure(f"{name} has shape {tuple(value.shape)}; expected {shape}", str(shape),
                      str(tuple(value.shape)), slip)  # fmt: skip
    return value.detach().double()


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal within the checks' tolerances (and finite)."""
    a, b = a.detach().double(), b.detach().double()
    return a.shape == b.shape and bool(torch.isfinite(a).all()) and torch.allclose(
        a, b, rtol=RTOL, atol=ATOL)  # fmt: skip


def fmt(x: torch.Tensor | float) -> str:
    """A short rendering: a number, a 1-D tensor's ends, or the first rows of a tensor."""
    x = torch.as_tensor(x).detach().double()
    if x.numel() == 1:
        return f"{x.item():.6g}"
    if x.ndim == 1:
        values = [f"{v:.5g}" for v in x.tolist()]
        shown = values if len(values) <= 6 else [*values[:3], "...", *values[-2:]]
        return f"[{', '.join(shown)}]" + (f" ({len(values)} values)" if len(values) > 6 else "")
    rows = ["[" + ", ".join(f"{v:.4f}" for v in row) + "]" for row in x.reshape(len(x), -1)[:3]]
    return "[" + ", ".join(rows) + (f", ... (shape {tuple(x.shape)})" if len(x) > 3 else "") + "]"
