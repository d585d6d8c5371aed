"""MyST Markdown cells -> Markdown that Jupyter renders.

Scope: the Markdown half of the conversion (see "What else the conversion does" in
:mod:`diffusion2d.notebooks`): directives become plain Markdown (exercises a bold title, solutions
dropped or kept, admonitions block quotes, ``{math}`` ``$$``), roles become their text, glued
numbers their value (:func:`format_glue`) or name, references their title; ``_State`` carries what
one cell tells the next (inside a solution or an exercise).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

from .myst import (
    _DIRECTIVE_RE,
    _FENCE_RE,
    _MATH_LABEL_RE,
    _REF_TEXT_RE,
    _ROLE_RE,
    _TARGET_RE,
    _closing_fence,
    _directive_block,
    _split_options,
)
from .stubs import ConversionError

ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
    "admonition": "",
    "dropdown": "",
    "margin": "",
    "sidebar": "",
    "topic": "",
    "epigraph": "",
}
_DROPPED_DIRECTIVES = {
    "glue",
    "glue:",
    "glue:any",
    "glue:figure",
    "glue:math",
    "glue:md",
    "image",
    "index",
    "toctree",
    "tableofcontents",
    "bibliography",
    "raw-cell",
}


class _State:
    """What the Markdown conversion carries from one cell to the next.

    (A plain class, not a dataclass: the module must also load standalone, outside the package.)
    """

    def __init__(
        self,
        variant: str,
        glue_values: dict[str, str] | None = None,  # name -> text/plain
        labels: dict[str, str] | None = None,  # label or document name -> title
    ):
        self.variant = variant
        self.glue_values = dict(glue_values or {})
        self.labels = dict(labels or {})
        self.in_solution = False
        self.in_exercise = False


def format_glue(text: str, fmt_spec: str) -> str:
    """A glued text/plain value formatted like myst-nb's ``{glue:text}`name:spec``` role."""
    try:
        value: object = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        value = text
    if not fmt_spec:
        return str(value)
    kind = fmt_spec[-1]
    if kind in "bcdoxX":
        value = int(value)  # type: ignore[arg-type]
    elif kind in "eEfFgGn%":
        value = float(value)  # type: ignore[arg-type]
    elif kind == "s":
        value = str(value)
    return format(value, fmt_spec)


def _humanise(label: str) -> str:
    return re.sub(r"[-_:]+", " ", label).strip()


def _role(match: re.Match, state: _State) -> str:
    name, content = match["name"], match["content"]
    if name == "math":
        return f"${content}$"
    if name.startswith("glue"):
        key, fmt = content, ""
        if name == "glue:text" and ":" in content:
            key, fmt = content.rsplit(":", 1)
        key = key.split("::")[-1]
        if key in state.glue_values:
            try:
                return format_glue(state.glue_values[key], fmt)
            except (TypeError, ValueError):
                return state.glue_values[key]
        return f"`{key}`"
    if name in ("eq",):
        return f"({content})"
    if name in ("ref", "numref", "doc", "any", "term", "download", "prf:ref", "std:ref"):
        explicit = _REF_TEXT_RE.match(content)
        if explicit and explicit["text"]:
            text = explicit["text"]
            return re.sub(r"%s|\{number\}|\{name\}", "", text).strip() or text
        target = explicit["target"] if explicit else content
        if name == "doc":
            target = target.rsplit("/", 1)[-1]
        if target in state.labels:
            return state.labels[target]
        prefix = target.split("-", 1)[0].lower()
        generic = {"fig": "the figure", "tab": "the table", "eq": "the equation"}
        if name == "numref" and prefix in generic:
            return generic[prefix]
        return _humanise(target)
    if name in ("code", "literal", "kbd", "samp", "file", "command", "envvar"):
        return f"`{content}`"
    if name.startswith("cite"):
        return f"[{content}]"
    if name == "abbr":
        return re.sub(r"\s*\(.*\)\s*$", "", content)
    return content


def _convert_text_line(line: str, state: _State) -> str | None:
    if _TARGET_RE.match(line) or line.startswith("%") or line.strip() == "+++":
        return None
    if match := _MATH_LABEL_RE.match(line):
        line = match["math"]
    return _ROLE_RE.sub(lambda m: _role(m, state), line)


def _blockquote(title: str, body: list[str]) -> list[str]:
    out = [f"> **{title}**" if title else ">"]
    if body:
        out.append(">")
        out.extend(f"> {line}" if line.strip() else ">" for line in body)
    return out


def _list_table(options: dict[str, str], body: list[str], title: str) -> list[str]:
    rows: list[list[str]] = []
    for line in body:
        stripped = line.strip()
        if stripped.startswith("* -"):
            rows.append([stripped[3:].strip()])
        elif stripped.startswith("-") and rows:
            rows[-1].append(stripped[1:].strip())
        elif stripped and rows:
            rows[-1][-1] += " " + stripped
    if not rows:
        return []
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    out = [f"**{title}**", ""] if title else []
    out.append("| " + " | ".join(rows[0]) + " |")
    out.append("|" + "---|" * width)
    out.extend("| " + " | ".join(r) + " |" for r in rows[1:])
    return out


def _convert_lines(lines: Sequence[str], state: _State) -> list[str]:
    """Convert the lines of one Markdown cell (or a directive's body)."""
    out: list[str] = []
    participant = state.variant == "participant"
    i = 0
    while i < len(lines):
        line = lines[i]
        directive = _DIRECTIVE_RE.match(line)
        if directive:
            name, arg = directive["name"], directive["arg"]
            body, i = _directive_block(lines, i)
            options, content = _split_options(body)
            if name == "solution-end":
                if not state.in_solution and participant:
                    raise ConversionError("'{solution-end}' without '{solution-start}'")
                state.in_solution = False
                continue
            if participant and state.in_solution:
                continue
            if name == "solution-start":
                state.in_solution = True
                if not participant:
                    out.extend(["**Solution**", ""])
                continue
            if name == "solution":
                if not participant:
                    out.extend(["**Solution**", "", *_convert_lines(content, state), ""])
                continue
            if name in ("exercise", "exercise-start"):
                title = f"Exercise: {arg}" if arg else "Exercise"
                out.extend([f"**{title}**", ""])
                if name == "exercise":
                    out.extend([*_convert_lines(content, state), ""])
                else:
                    state.in_exercise = True
                continue
            if name == "exercise-end":
                state.in_exercise = False
                continue
            if name in _DROPPED_DIRECTIVES:
                continue
            if name in ADMONITIONS:
                title = arg or ADMONITIONS[name]
                out.extend([*_blockquote(title, _convert_lines(content, state)), ""])
                continue
            if name == "math":
                out.extend(["$$", *content, "$$", ""])
                continue
            if name in ("code-block", "code", "sourcecode"):
                out.extend([f"```{arg}", *content, "```", ""])
                continue
            if name == "list-table":
                out.extend([*_list_table(options, content, arg), ""])
                continue
            if name == "figure":
                caption = _convert_lines(content, state)
                if caption:
                    out.extend([f"*Figure: {' '.join(c.strip() for c in caption)}*", ""])
                continue
            if name == "raw":
                if arg.strip().lower() in ("html", "markdown", "md"):
                    out.extend([*content, ""])
                continue
            # any other directive: keep its text
            out.extend([*_convert_lines(content, state), ""])
            continue
        if participant and state.in_solution:
            i += 1
            continue
        fence = _FENCE_RE.match(line)
        if fence:  # a plain code block: copied verbatim
            char, size = fence["fence"][0], len(fence["fence"])
            close = _closing_fence(char, size)
            out.append(line)
            i += 1
            while i < len(lines):
                out.append(lines[i])
                i += 1
                if close.match(lines[i - 1]):
                    break
            continue
        converted = _convert_text_line(line, state)
        if converted is not None:
            out.append(converted)
        i += 1
    return out


def _tidy(lines: list[str]) -> str:
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")
