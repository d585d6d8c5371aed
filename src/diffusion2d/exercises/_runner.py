"""The one runner of the exercise checks, :func:`run`, the same for every catalogue.

A catalogue is a module with ``NAME``, ``SUMMARY`` (what a pass agrees on), ``CASES`` (from
:func:`cases`), ``reference``, ``HINTS``, ``MISTAKES`` (``(key, buggy function)`` pairs),
``view(output, args)`` (the compared parts, or a :class:`Failure` naming the structural slip) and
``explain(i, ...)`` (for a first difference at part ``i`` that no mistake reproduces: the hint key,
or None to accept it with a note in ``notes``). ``HINTS``, the advice per mistake key, is the
catalogue's table of ``hints.toml`` (``ALL_HINTS``). :func:`run` names the first mistake that, on
the same case and seed, agrees with the participant's output beyond its first differing part.
"""

import html
import tomllib
import traceback
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import numpy as np
import torch

from ._model import ModelInputError

SEED, GLOBAL_SEED = 2020, 4242  # of every generator handed out; of torch while a function runs
RTOL, ATOL = 1e-4, 1e-5
STAT_PARTICLES = 4000  # points of the statistical (draw-order independent) checks
STAT_TOL = 0.1  # their tolerance on mean, standard deviation - 1 and correlation
PASS_MARK, FAIL_MARK = "\u2714", "\u2718"  # heavy check mark, heavy ballot x

ALL_HINTS = tomllib.loads(files(__package__).joinpath("hints.toml").read_text("utf-8"))
RUNNER_HINTS = ALL_HINTS["runner"]  # slips any exercise can make (the stand-in model's errors too)


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
    mistake: str | None = None
    case: str | None = None

    status = property(lambda self: "passed" if self.passed else "failed")

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
        self.shown, self.mistake, self.hint = (what, expected, got), mistake, hint


Part = namedtuple("Part", "what value")  # a compared tensor and the sentence if it differs


def cases(make: Callable, *rows: tuple) -> list[tuple[str, Callable]]:
    """CASES from rows ``(description, *arguments)``; ``make(k, *arguments)`` gives case k."""
    return [(desc, partial(make, k, *arguments)) for k, (desc, *arguments) in enumerate(rows)]


def run(ex: ModuleType, fn: object) -> CheckResult:
    """Check ``fn`` against the catalogue ``ex``: one :class:`CheckResult` for all its cases."""
    name, notes = ex.NAME, []
    if not callable(fn):
        return CheckResult(False, f"{FAIL_MARK} {name}: the check needs your function itself, e.g."
                           f" check_{name}({name}); it received a {type(fn).__name__}.",
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
        labels = ("  ", "  expected: ", "  got:      ")
        lines = [f"{FAIL_MARK} {name}: failed on {desc}."]
        lines += [label + text for label, text in zip(labels, f.shown, strict=True) if text]
        lines += [f"Hint: {hint}"] if hint else []
        return CheckResult(False, "\n".join(lines), f.mistake, desc)
    except Exception as err:  # noqa: BLE001 - a safety net: never a traceback from a check
        return CheckResult(False, f"{FAIL_MARK} {name}: the check could not evaluate your "
                           f"function's output ({type(err).__name__}: {err}). Compare its return"
                           " value with the exercise text.", "unreadable")  # fmt: skip
    message = f"{PASS_MARK} {name}: passed. It agrees with the reference on {ex.SUMMARY}."
    return CheckResult(True, message + (f"\nNote: {notes[0]}" if notes else ""))


def _run_case(ex: ModuleType, fn: Callable, make: Callable, notes: list[str]) -> None:
    """One case: at the first differing part, name the first mistake agreeing beyond there."""
    args, kwargs = make()
    parts = ex.view(call(fn, *args, **kwargs), args)  # an unreadable output fails here
    expected = _replay(ex, ex.reference, make)
    i = _first_difference(parts, expected)
    if i == len(parts):
        return
    key = next((key for key, wrong in ex.MISTAKES
                if _first_difference(parts, _replay(ex, wrong, make)) > i), None)
    key = key or ex.explain(i=i, fn=fn, make=make, args=args, kwargs=kwargs, got=parts,
                            expected=expected, notes=notes)  # fmt: skip
    if key is not None:
        raise Failure(parts[i].what, fmt(expected[i].value), fmt(parts[i].value), key)


def _replay(ex: ModuleType, fn: Callable, make: Callable) -> list[Part]:
    """The parts of ``fn``'s output on a fresh case; none if it fails (it reproduces nothing)."""
    args, kwargs = make()
    try:
        return ex.view(call(fn, *args, **kwargs), args)
    except Exception:  # noqa: BLE001
        return []


def _first_difference(parts: list[Part], others: list[Part]) -> int:
    pairs = enumerate(zip(parts, others, strict=False))
    return next((j for j, (p, q) in pairs if not close(p.value, q.value)), len(others))


# frames in diffusion2d (this package is one folder below it) and torch are not "your code"
_NOT_YOURS = (str(Path(__file__).parents[1]), str(Path(torch.__file__).parent), "<frozen")


def call(fn: Callable, *args: Any, seed: int = GLOBAL_SEED, **kwargs: Any) -> Any:
    """Run the participant's function with torch seeded (the caller's random state untouched);
    its exceptions become Failures, pointing at the deepest line outside torch and diffusion2d."""
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return fn(*args, **kwargs)
    except NotImplementedError:  # a todo() stub: run() stops the check
        raise
    except Exception as err:  # noqa: BLE001 - any error becomes a plain-language verdict
        frames = [f for f in traceback.extract_tb(err.__traceback__)
                  if f.line and not f.filename.startswith(_NOT_YOURS)]  # fmt: skip
        where = f" (in your code, line {frames[-1].lineno}: `{frames[-1].line}`)" if frames else ""
        text, key = str(err), None
        if isinstance(err, ModelInputError):  # the stand-in model's own words are the hint
            raise Failure(f"the model was called wrongly{where}", mistake="model_input",
                          hint=text[0].upper() + text[1:] + ".") from None  # fmt: skip
        if isinstance(err, TypeError) and ("unexpected keyword" in text or "positional" in text):
            key = "signature"
        elif "must match the size of tensor" in text or "expanded size" in text:
            key = "broadcast"
        raise Failure(f"your function raised {type(err).__name__}: {text}{where}",
                      mistake=key) from None


def generator(offset: int = 0) -> torch.Generator:
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


def two_parts(out: object, names: tuple[str, str], shape: tuple[int, ...], what: str = "",
              returns: str | None = None) -> list[Part]:
    """The two tensors of ``shape`` an exercise returns as a tuple, named ``names`` (a Failure
    "not_tuple" for anything but two values, which names the tuple ``returns``, default the
    names); ``what`` qualifies the names in the verdict."""
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        got = (f"{len(out)} values" if isinstance(out, (tuple, list))
               else f"one {type(out).__name__}")  # fmt: skip
        raise Failure(f"it returned {got}; expected two: ({returns or ', '.join(names)})",
                      mistake="not_tuple")
    return [Part(f"the {what}{name} differs from the reference", as_tensor(name, x, shape))
            for name, x in zip(names, out, strict=True)]  # fmt: skip
