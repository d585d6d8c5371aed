"""Shared machinery of the exercise checks: ``todo()``, the result type and the runner.

- :func:`todo` and :class:`NotImplementedYet`: the stub participants replace;
- :class:`CheckResult`: the verdict a check returns (prints and displays as its message);
- the runner: :func:`_call` runs the participant's function under a fixed seed and turns any
  exception into a :class:`_Failure`; :func:`_in_case` names the failing case; :func:`_run_check`
  turns a check's cases into a :class:`CheckResult`; the seeded :func:`_generator`.

Comparing and formatting values is in :mod:`._compare`.

The constants (seeds, tolerances, marks) are described in the package docstring.
"""

from __future__ import annotations

import html
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import torch

from ._model import ModelInputError

SEED = 2020  # the seed of every generator the checks hand out
GLOBAL_SEED = 4242  # the global torch seed while a participant's function runs (differs from SEED)
RTOL, ATOL = 1e-4, 1e-5
STAT_PARTICLES = 4000  # particles of the draw-order-independent (statistical) checks
STAT_TOL = 0.1  # tolerance of those checks on mean, standard deviation - 1 and correlation
PASS_MARK, FAIL_MARK = "\u2714", "\u2718"  # heavy check mark, heavy ballot x


class NotImplementedYet(NotImplementedError):
    """Raised by :func:`todo`: the exercise has not been filled in yet."""


def todo(hint: str = "") -> NoReturn:
    """Stand in for code the participant still has to write: raise "not implemented yet: hint"."""
    raise NotImplementedYet(f"not implemented yet: {hint}" if hint else "not implemented yet")


@dataclass(frozen=True)
class CheckResult:
    """The verdict of a check; it prints (and displays in a notebook) as its ``message``.

    ``status`` is "passed" or "failed" (a ``todo()`` stub raises instead); ``mistake`` names the
    typical mistake recognised (a key of the check's hint table) or is None; ``case`` is the
    failing case.
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


# diffusion2d itself (this package is one folder below it) and torch: frames there are not "yours"
_LIBRARY_DIRS = (Path(__file__).resolve().parents[1], Path(torch.__file__).resolve().parent)


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


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(SEED)


def _result(exercise: str, cases: Sequence[str], run: Callable[[], str | None]) -> CheckResult:
    """Run ``run`` (which raises _Failure/_NotImplemented) and turn the outcome into a verdict.

    A function that is still a ``todo()`` stub is no verdict: the check raises
    :class:`NotImplementedYet` with the plain-words message, so a notebook stops at it.
    """
    try:
        note = run()
    except _NotImplemented as err:
        # Stop here, as the workshop's todo() cells do: "Run all" halts at the first unfinished
        # exercise with the plain-words message instead of running on.
        text = err.text
        raise NotImplementedYet(
            f"{FAIL_MARK} {exercise}: {text}.\n"
            + (
                "Then run that cell again, and this check."
                if "todo(" in text
                else f"Write your code in place of the todo(...) line in your {exercise}, run "
                "that cell again, then this check."
            )
        ) from None
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


def _run_check(
    exercise: str, fn: object, cases: Sequence[str], run_cases: Callable[[list[str]], None]
) -> CheckResult:
    """The frame of every check: refuse a non-callable ``fn``, else run the cases as one verdict.

    ``run_cases(notes)`` runs the cases (raising _Failure/_NotImplemented); a note it appends
    (e.g. "your draws differ but the update is right") is added to the pass message, the first one.
    """
    bad = _not_callable(exercise, fn)
    if bad is not None:
        return bad
    notes: list[str] = []

    def run() -> str | None:
        run_cases(notes)
        return notes[0] if notes else None

    return _result(exercise, cases, run)


_HINT_BROADCAST = (
    "alpha_bars[t] for a batch has shape (B,) while the points have shape (B, 2): reshape the "
    "coefficient to (B, 1), e.g. alpha_bars[t].unsqueeze(1) or alpha_bars[t][:, None], so that "
    "each point's two coordinates are multiplied by its own coefficient."
)
