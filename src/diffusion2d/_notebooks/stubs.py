"""Solution markers in code cells and the ``todo()`` stubs that replace them.

Scope: the marker syntax (``# BEGIN SOLUTION`` / ``# END SOLUTION``, rule 1 of the convention in
:mod:`diffusion2d.notebooks`), the tags a converted cell carries, :class:`ConversionError`, and
:func:`stub_solutions`, which turns one cell's source into its participant (or solutions) form.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"  # the tag a stubbed cell carries in the participant notebook
WHOLE_CELL_HINT = "write your solution to this exercise in place of this todo(...) line"

_BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:\s*:\s*(?P<hint>.*?))?\s*$")
_END_RE = re.compile(r"^(?P<indent>[ \t]*)# END SOLUTION\s*$")
_ANY_MARKER_RE = re.compile(r"^[ \t]*#[ \t]*(BEGIN|END)[ \t_-]*SOLUTION", re.M | re.I)
_DEF_RE = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")


class ConversionError(ValueError):
    """A chapter breaks the marking convention (see :mod:`diffusion2d.notebooks`)."""


def _enclosing_function(lines: Sequence[str], index: int, indent: str) -> str | None:
    for line in reversed(lines[:index]):
        match = _DEF_RE.match(line)
        if match and len(match["indent"].expandtabs()) < len(indent.expandtabs()):
            return match["name"]
    return None


def stub_solutions(source: str, keep: bool = False, where: str = "cell") -> str:
    """Replace each region between the markers by a ``todo()`` stub (or, ``keep``, the code).

    A cell without markers is a solution in full: it becomes a single ``todo()`` line. Raises
    :class:`ConversionError` for unbalanced, nested or misspelt markers.
    """
    lines = source.split("\n")
    out: list[str] = []
    inside: tuple[int, str] | None = None  # (line number, indent) of the open BEGIN
    regions = 0
    for number, line in enumerate(lines):
        begin, end = _BEGIN_RE.match(line), _END_RE.match(line)
        if begin:
            if inside is not None:
                raise ConversionError(
                    f"{where}: '{BEGIN}' on line {number + 1} inside the region opened on line "
                    f"{inside[0] + 1} (regions do not nest)"
                )
            inside = (number, begin["indent"])
            regions += 1
            if not keep:
                name = _enclosing_function(lines, number, begin["indent"])
                hint = begin["hint"] or (
                    f"write the body of {name}() in place of this todo(...) line"
                    if name
                    else "write your code in place of this todo(...) line"
                )
                out.append(f"{begin['indent']}todo({json.dumps(hint)})")
            continue
        if end:
            if inside is None:
                raise ConversionError(f"{where}: '{END}' on line {number + 1} without '{BEGIN}'")
            if end["indent"] != inside[1]:
                raise ConversionError(
                    f"{where}: '{END}' on line {number + 1} is not indented like its '{BEGIN}' "
                    f"on line {inside[0] + 1}"
                )
            inside = None
            continue
        if _ANY_MARKER_RE.match(line):
            raise ConversionError(
                f"{where}: line {number + 1} looks like a marker but is not exactly "
                f"'{BEGIN}' or '{END}': {line.strip()!r}"
            )
        if inside is None or keep:
            out.append(line)
    if inside is not None:
        raise ConversionError(f"{where}: '{BEGIN}' on line {inside[0] + 1} is never closed")
    if regions == 0:  # no markers: the whole cell is the solution
        return source if keep else f"todo({json.dumps(WHOLE_CELL_HINT)})"
    return "\n".join(out)
