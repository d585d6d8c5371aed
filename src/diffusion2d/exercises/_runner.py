"""The one runner of the exercise checks, :func:`run`, the same for every catalogue.

A catalogue is a module of this package with ``NAME``, ``SUMMARY`` (what a pass agrees on),
``CASES`` (``(description, make)``; ``make()`` returns fresh ``(args, kwargs)``), ``reference``,
``HINTS``, ``MISTAKES`` (``(key, buggy function)`` pairs), ``view(output, args)`` (the output's
compared :class:`Part` list, or a :class:`Failure` naming what makes it unreadable: the
structural slips) and ``explain(diff)`` (the hint key for a difference no mistake reproduces, or
None to accept it after appending a note to ``diff.notes``; or it raises its own Failure). On a
difference, :func:`run` replays every mistake on the same case and seed and names the first
whose output agrees with the participant's up to the first differing part.
"""

from __future__ import annotations

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

SEED = 2020  # the seed of every generator the checks hand out
GLOBAL_SEED = 4242  # the global torch seed while a function runs (differs from SEED)
RTOL, ATOL = 1e-4, 1e-5
STAT_PARTICLES = 4000  # particles of the draw-order-independent (statistical) checks
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
    """A verdict, printed and displayed as its ``message``; ``status`` "passed" or "failed",
    ``mistake`` the key of the mistake recognised (or None), ``case`` the failing case."""

    exercise: str
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
    """A case failed: what happened, expected and got, the hint and the mistake's key."""

    def __init__(self, what, *, expected=None, got=None, hint=None, mistake=None):
        super().__init__(what)
        self.what, self.expected, self.got, self.hint = what, expected, got, hint
        self.mistake, self.case = mistake, None


class _Stub(Exception):
    """The participant's function (or code it calls) is still a ``todo()`` stub."""


class Part(NamedTuple):
    """A compared part of an output: the sentence if it differs, its value, and whether the
    verdict shows the expected and got values."""

    what: str
    value: torch.Tensor
    shown: bool = True


class Diff(NamedTuple):
    """What ``explain`` gets: the function and case, the parts got and expected (``i`` is the
    first that differs), and the notes of the check."""

    fn: Callable
    make: Callable
    args: tuple
    kwargs: dict
    got: list[Part]
    expected: list[Part]
    i: int
    notes: list[str]


def run(ex: ModuleType, fn: object) -> CheckResult:
    """Check ``fn`` against the catalogue ``ex``: one :class:`CheckResult` for all its cases."""
    name = ex.NAME
    if not callable(fn):
        return CheckResult(name, False, f"{FAIL_MARK} {name}: the check needs your function "
                           f"itself, e.g. check_{name}({name}); it received a "
                           f"{type(fn).__name__}.", "failed", "not_callable")  # fmt: skip
    notes: list[str] = []
    try:
        for desc, make in ex.CASES:
            try:
                _run_case(ex, fn, make, notes)
            except Failure as failure:
                failure.case = desc
                raise
    except _Stub as err:  # stop here, as the workshop's todo() cells do ("Run all" halts)
        then = ("Then run that cell again, and this check." if "todo(" in str(err) else
                f"Write your code in place of the todo(...) line in your {name}, run that cell "
                "again, then this check.")  # fmt: skip
        raise NotImplementedYet(f"{FAIL_MARK} {name}: {err}.\n{then}") from None
    except Failure as f:
        lines = [f"{FAIL_MARK} {name}: failed on {f.case}.", f"  {f.what}"]
        lines += [f"  expected: {f.expected}"] if f.expected is not None else []
        lines += [f"  got:      {f.got}"] if f.got is not None else []
        lines += [f"Hint: {f.hint}"] if f.hint else []
        return CheckResult(name, False, "\n".join(lines), "failed", f.mistake, f.case)
    except Exception as err:  # noqa: BLE001 - a safety net: never a traceback from a check
        return CheckResult(name, False, f"{FAIL_MARK} {name}: the check could not evaluate your "
                           f"function's output ({type(err).__name__}: {err}). Compare its return"
                           " value with the exercise text.", "failed", "unreadable")  # fmt: skip
    message = f"{PASS_MARK} {name}: passed. It agrees with the reference on {ex.SUMMARY}."
    return CheckResult(name, True, message + (f"\nNote: {notes[0]}" if notes else ""))


def _run_case(ex: ModuleType, fn: Callable, make: Callable, notes: list[str]) -> None:
    """One case: compare part by part; name the first mistake that agrees up to the first
    differing part, else ask the catalogue's ``explain``."""
    args, kwargs = make()
    parts = ex.view(call(fn, *args, **kwargs), args)  # an unreadable output fails here
    ref_args, ref_kwargs = make()
    expected = ex.view(_seeded(ex.reference, *ref_args, **ref_kwargs), ref_args)
    differs = [not close(p.value, q.value) for p, q in zip(parts, expected, strict=True)]
    if not any(differs):
        return
    i = differs.index(True)
    agreeing = (key for key, mistake in ex.MISTAKES if _agrees(ex, mistake, make, parts[: i + 1]))
    diff = Diff(fn, make, args, kwargs, parts, expected, i, notes)
    key = next(agreeing, None) or ex.explain(diff)
    if key is not None:
        got, shown = parts[i], parts[i].shown
        raise Failure(got.what, expected=fmt(expected[i].value) if shown else None,
                      got=fmt(got.value) if shown else None, hint=ex.HINTS[key], mistake=key)


def _agrees(ex: ModuleType, mistake: Callable, make: Callable, parts: list[Part]) -> bool:
    """Does the mistake's output on the case (same seed) agree with these first parts?"""
    args, kwargs = make()
    try:
        theirs = ex.view(_seeded(mistake, *args, **kwargs), args)
    except Exception:  # noqa: BLE001 - a mistake that fails on this case reproduces nothing
        return False
    return all(close(theirs[j].value, part.value) for j, part in enumerate(parts))


def _seeded(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    with torch.random.fork_rng(devices=[]):  # reproducible, and the caller's state untouched
        torch.manual_seed(GLOBAL_SEED)
        return fn(*args, **kwargs)


# frames in diffusion2d (this package is one folder below it) and torch are not "your code"
_LIBRARY_DIRS = (Path(__file__).resolve().parents[1], Path(torch.__file__).resolve().parent)


def _your_line(err: BaseException) -> str:
    """' (in your code, line 7: `x = ...`)' for the deepest frame outside torch and diffusion2d."""
    for frame in reversed(traceback.extract_tb(err.__traceback__)):
        path = Path(frame.filename).resolve() if frame.filename else None
        if path is None or any(d in path.parents for d in _LIBRARY_DIRS):
            continue
        if not frame.filename.startswith("<frozen"):
            line = (frame.line or "").strip()
            return f" (in your code, line {frame.lineno}: `{line}`)" if line else ""
    return ""


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Run the participant's function under the fixed seed; its exceptions become Failures."""
    try:
        return _seeded(fn, *args, **kwargs)
    except NotImplementedError as err:
        raise _Stub(str(err) or "not implemented yet") from None
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
                      hint=RUNNER_HINTS.get(key), mistake=key) from None  # fmt: skip


def generator(offset: int = 0) -> torch.Generator:
    """A fresh generator seeded with SEED (+ ``offset``)."""
    return torch.Generator().manual_seed(SEED + offset)


def as_tensor(name: str, value: object, shape: tuple[int, ...]) -> torch.Tensor:
    """The value as a float64 tensor of the given shape, or a Failure saying what is wrong."""
    value = torch.from_numpy(value) if isinstance(value, np.ndarray) else value
    if not isinstance(value, torch.Tensor):
        raise Failure(f"{name} is a {type(value).__name__}; expected a torch tensor of shape "
                      f"{shape}", hint=RUNNER_HINTS["type"], mistake="type")  # fmt: skip
    if value.is_complex() or not (torch.is_floating_point(value) or value.dtype.is_signed):
        raise Failure(f"{name} has dtype {value.dtype}; expected floating-point numbers")
    if tuple(value.shape) != shape:
        raise Failure(f"{name} has shape {tuple(value.shape)}; expected {shape}", mistake="shape",
                      expected=str(shape), got=str(tuple(value.shape)))  # fmt: skip
    return value.detach().double()


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal within the checks' tolerances (and finite)."""
    a, b = a.detach().double(), b.detach().double()
    return a.shape == b.shape and bool(torch.isfinite(a).all()) and torch.allclose(
        a, b, rtol=RTOL, atol=ATOL)  # fmt: skip


def fmt(x: torch.Tensor | float) -> str:
    """A short rendering: a number, a 1-D tensor's ends, or the first rows of a tensor."""
    x = x.detach().double() if isinstance(x, torch.Tensor) else torch.tensor(float(x))
    if x.numel() == 1:
        return f"{x.item():.6g}"
    if x.ndim == 1:
        values = [f"{v:.5g}" for v in x.tolist()]
        shown = values if len(values) <= 6 else [*values[:3], "...", *values[-2:]]
        return f"[{', '.join(shown)}]" + (f" ({len(values)} values)" if len(values) > 6 else "")
    rows = ["[" + ", ".join(f"{v:.4f}" for v in row) + "]" for row in x.reshape(len(x), -1)[:3]]
    return "[" + ", ".join(rows) + (f", ... (shape {tuple(x.shape)})" if len(x) > 3 else "") + "]"
