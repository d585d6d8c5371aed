"""Participant notebooks from the book's own MyST source: reference solutions become ``todo()``.

One source, two products. The chapters under ``book/`` are MyST Markdown notebooks; the site
shows each exercise's reference solution hidden until clicked. This module turns every chapter
that has exercises into a Jupyter notebook (``.ipynb``, converted with jupytext) for the hands-on
workshop, in two variants:

- ``participant``: every solution region is replaced by a ``todo("...")`` stub that raises
  "not implemented yet", so running the notebook stops at the first exercise;
- ``solutions``: the same notebook with the reference solutions in place (for testing and for
  instructors).

Marking convention (the one documented way; CONTRIBUTING.md, "Workshop edition")
--------------------------------------------------------------------------------
In a chapter, an exercise is::

    ```{exercise-start} Title
    :label: ex-...
    ```
    What to implement, with the rules the check applies.
    ```{exercise-end}
    ```

    ```{solution-start} ex-...
    :class: dropdown
    ```

    ```{code-cell} ipython3
    :tags: [solution]

    def get_loss(model, x0s, eps, alpha_bars, ts):
        \"\"\"Docstring the participant sees.\"\"\"
        # BEGIN SOLUTION
        ...reference implementation...
        # END SOLUTION
    ```

    ```{solution-end}
    ```

    ```{code-cell} ipython3
    from diffusion2d.exercises import check_get_loss
    check_get_loss(get_loss)
    ```

Rules, all enforced (a violation raises :class:`ConversionError`; the book's extension turns it
into a build warning, which fails the strict build):

1. Solution code sits in code cells tagged ``solution``, between a line ``# BEGIN SOLUTION`` and a
   line ``# END SOLUTION`` (same indentation, no nesting). Lines outside the markers (the ``def``
   line, the docstring) stay, so participants see the signature. ``# BEGIN SOLUTION: some hint``
   sets the stub's message; by default it names the enclosing function. The stub is
   ``todo("...")`` at the marker's indentation. A ``solution`` cell without markers is a
   solution in full (a free-form exercise): the whole cell becomes one ``todo("...")`` line.
2. Every ``solution`` cell sits between ``{solution-start}`` and ``{solution-end}`` (so the site
   hides it until clicked), and every code cell between them is tagged ``solution``.
3. Markers appear in no other cell.

What else the conversion does:

- MyST that Jupyter cannot render becomes plain Markdown: exercise directives become a bold
  "Exercise: title" line with their text; solution directives and any text inside them are
  dropped (kept, under a bold "Solution", in the solutions variant); admonitions become block
  quotes; ``{math}`` becomes ``$$``; roles become their text (``{math}`` -> ``$..$``, glued
  numbers -> the glue name in code font, references -> their text); labels ``(name)=`` and
  ``%`` comments disappear. Code cells are kept as they are (including hidden plotting cells).
- A first code cell installs the package from the repository (``pip install
  "git+<repository.url from _config.yml>[@ref]"``) when ``diffusion2d`` is missing, so the
  notebook runs on Colab or Binder, imports ``todo``, and, when the chapter uses myst-nb's
  ``glue``, provides a stand-in that simply displays the value outside the book build.

Command line (no dependency on the rest of the package: the notebook workflow runs it as
``python src/diffusion2d/notebooks.py`` with only jupytext installed)::

    python -m diffusion2d.notebooks book/ OUTDIR [--variant participant|solutions|both]
                                                 [--ref GIT_REF] [--binder]

Participant notebooks are named after their chapter (``02_forward.ipynb``), solutions variants
``02_forward.solutions.ipynb``. ``--binder`` also writes the Binder environment
(``requirements.txt``, ``runtime.txt``) and a README for the published ``notebooks`` branch.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import yaml

# jupytext and nbformat are imported where they are used: finding the exercise chapters needs
# neither, so a book build with nothing to regenerate does not pay for importing them.

__all__ = [
    "BEGIN",
    "END",
    "SOLUTION_TAG",
    "ConversionError",
    "convert_chapter",
    "exercise_chapters",
    "has_exercises",
    "main",
    "config_repository_url",
    "format_glue",
    "label_titles",
    "launch_urls",
    "notebook_name",
    "notebook_text",
    "read_glue_values",
    "stub_solutions",
    "write_binder_files",
    "write_notebooks",
]

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"  # the tag a stubbed cell carries in the participant notebook
SETUP_TAG = "workshop-setup"
VARIANTS = ("participant", "solutions")
WHOLE_CELL_HINT = "write your solution to this exercise in place of this todo(...) line"

_BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:\s*:\s*(?P<hint>.*?))?\s*$")
_END_RE = re.compile(r"^(?P<indent>[ \t]*)# END SOLUTION\s*$")
_ANY_MARKER_RE = re.compile(r"^[ \t]*#[ \t]*(BEGIN|END)[ \t_-]*SOLUTION", re.M | re.I)
_DEF_RE = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")


class ConversionError(ValueError):
    """A chapter breaks the marking convention (see the module docstring)."""


# --------------------------------------------------------------------------------------------
# Code: solution regions -> todo() stubs
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Markdown: MyST -> Markdown that Jupyter renders
# --------------------------------------------------------------------------------------------

_DIRECTIVE_RE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})\{(?P<name>[^}\s]+)\}[ \t]*(?P<arg>.*?)\s*$"
)
_FENCE_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_ROLE_RE = re.compile(r"\{(?P<name>[A-Za-z][\w:+.-]*)\}`(?P<content>[^`]*)`")
_TARGET_RE = re.compile(r"^[ \t]*\((?P<label>[^()\s]+)\)=[ \t]*$")
_MATH_LABEL_RE = re.compile(r"^(?P<math>.*\$\$)[ \t]*\([^()\s]+\)[ \t]*$")
_OPTION_RE = re.compile(r"^[ \t]*:(?P<key>[\w-]+):(?P<value>.*)$")
_REF_TEXT_RE = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)

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


def _directive_block(lines: Sequence[str], start: int) -> tuple[list[str], int]:
    """Body lines of the directive opened on ``lines[start]`` and the index after its close."""
    match = _DIRECTIVE_RE.match(lines[start])
    assert match is not None
    fence = match["fence"]
    char, size = fence[0], len(fence)
    close = re.compile(rf"^[ \t]*{re.escape(char)}{{{size},}}[ \t]*$")
    body: list[str] = []
    depth = 0  # nested directives that use the same fence length (not valid MyST, but tolerated)
    i = start + 1
    while i < len(lines):
        line = lines[i]
        inner = _DIRECTIVE_RE.match(line)
        if inner and inner["fence"][0] == char and len(inner["fence"]) == size:
            depth += 1
        elif close.match(line):
            if depth == 0:
                return body, i + 1
            depth -= 1
        body.append(line)
        i += 1
    return body, i  # unclosed: MyST closes at the end of the cell


def _split_options(body: list[str]) -> tuple[dict[str, str], list[str]]:
    options: dict[str, str] = {}
    i = 0
    if body and body[0].strip() == "---":  # YAML block of options
        end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), None)
        if end is not None:
            try:
                loaded = yaml.safe_load("\n".join(body[1:end])) or {}
            except yaml.YAMLError:
                loaded = {}
            options = (
                {str(k): str(v) for k, v in loaded.items()} if isinstance(loaded, dict) else {}
            )
            i = end + 1
    else:
        while i < len(body) and (match := _OPTION_RE.match(body[i])):
            options[match["key"]] = match["value"].strip()
            i += 1
    rest = body[i:]
    while rest and not rest[0].strip():
        rest = rest[1:]
    while rest and not rest[-1].strip():
        rest = rest[:-1]
    return options, rest


def _humanise(label: str) -> str:
    return re.sub(r"[-_:]+", " ", label).strip()


_HEADING_RE = re.compile(r"^#{1,6}[ \t]+(?P<title>.+?)[ \t]*#*[ \t]*$")


def label_titles(book_dir: str | Path) -> dict[str, str]:
    """What references render as: ``(label)=`` targets and document names -> *their heading*,
    exercise labels -> "the exercise *title*" (or "the exercise")."""
    book_dir = Path(book_dir)
    titles: dict[str, str] = {}
    for path in sorted(book_dir.rglob("*.md")):
        if any(p.startswith(("_", ".")) for p in path.relative_to(book_dir).parts[:-1]):
            continue
        lines = path.read_text(encoding="utf-8").split("\n")
        pending: list[str] = []
        first_heading = None
        for number, line in enumerate(lines):
            if target := _TARGET_RE.match(line):
                pending.append(target["label"])
                continue
            if heading := _HEADING_RE.match(line):
                title = _ROLE_RE.sub(lambda m: m["content"], heading["title"])
                first_heading = first_heading or title
                for label in pending:
                    titles[label] = f"*{title}*"
                pending = []
            elif line.strip():
                pending = []
            directive = _DIRECTIVE_RE.match(line)
            if directive and directive["name"] in ("exercise", "exercise-start"):
                for option in lines[number + 1 : number + 6]:
                    if match := _OPTION_RE.match(option):
                        if match["key"] == "label":
                            arg = directive["arg"]
                            titles[match["value"].strip()] = (
                                f"the exercise *{arg}*" if arg else "the exercise"
                            )
                    else:
                        break
        if first_heading:
            titles.setdefault(path.stem, f"*{first_heading}*")
    return titles


def read_glue_values(path: str | Path) -> dict[str, str]:
    """``name -> text/plain`` from a myst-nb ``<doc>.glue.json`` (in ``_build/jupyter_execute``)."""
    path = Path(path)
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    values = {}
    for name, output in data.items():
        text = (output.get("data") or {}).get("text/plain")
        if isinstance(text, list):
            text = "".join(text)
        if isinstance(text, str):
            values[name] = text
    return values


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
            close = re.compile(rf"^[ \t]*{re.escape(char)}{{{size},}}[ \t]*$")
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


# --------------------------------------------------------------------------------------------
# Chapters -> notebooks
# --------------------------------------------------------------------------------------------


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _read(path: Path):
    import jupytext

    return jupytext.read(path, fmt="md:myst")


_CODE_CELL_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})\{code-cell\}")


def _cell_tags(header: list[str]) -> list[str]:
    """The tags in a code cell's option header (``:tags: [...]`` lines or a YAML block)."""
    if header and header[0].strip() == "---":
        end = next((k for k in range(1, len(header)) if header[k].strip() == "---"), len(header))
        block = "\n".join(header[1:end])
    else:
        block = "\n".join(
            m["key"] + ":" + m["value"] for line in header if (m := _OPTION_RE.match(line))
        )
    try:
        options = yaml.safe_load(block) or {}
    except yaml.YAMLError:
        return []
    tags = options.get("tags", []) if isinstance(options, dict) else []
    return [str(t) for t in tags] if isinstance(tags, list) else [str(tags)]


def has_exercises(path: str | Path) -> bool:
    """Does this MyST chapter have a code cell tagged ``solution``? (Read as text: fast.)"""
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    for number, line in enumerate(lines):
        if _CODE_CELL_RE.match(line):
            header = []
            for option in lines[number + 1 : number + 40]:
                if header and header[0].strip() == "---":
                    header.append(option)
                    if len(header) > 1 and option.strip() == "---":
                        break
                elif option.strip() == "---" or _OPTION_RE.match(option):
                    header.append(option)
                else:
                    break
            if SOLUTION_TAG in _cell_tags(header):
                return True
    return False


def exercise_chapters(book_dir: str | Path) -> list[Path]:
    """The chapters under ``book_dir`` with exercises, sorted (folders ``_*``/``.*`` skipped)."""
    book_dir = Path(book_dir)
    found = []
    for path in sorted(book_dir.rglob("*.md")):
        parts = path.relative_to(book_dir).parts
        if any(p.startswith(("_", ".")) for p in parts[:-1]):
            continue
        if has_exercises(path):
            found.append(path)
    return found


def _find_config(book_dir: Path) -> Path | None:
    for folder in (book_dir, *book_dir.resolve().parents):
        candidate = folder / "_config.yml"
        if candidate.is_file():
            return candidate
    return None


def config_repository_url(book_dir: str | Path) -> str | None:
    """``repository.url`` from the book's ``_config.yml`` (searched upwards from book_dir)."""
    config = _find_config(Path(book_dir))
    if config is None:
        return None
    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    url = (data.get("repository") or {}).get("url")
    return str(url).rstrip("/") if url else None


def _pip_target(url: str | None, ref: str | None) -> str:
    if not url:
        return "diffusion2d"
    return f"git+{url}@{ref}" if ref else f"git+{url}"


def _setup_source(title: str, source_name: str, pip_target: str, uses_glue: bool) -> str:
    lines = [
        f"# Workshop notebook: {title}",
        f"# Generated from the book's source ({source_name}); do not edit the book through it.",
        "# How it works: each exercise cell calls todo(...), which raises 'not implemented yet'",
        "# until you write your code in its place; the cell after it checks your function and",
        "# explains in plain words what (if anything) is wrong.",
        "# This first cell installs the diffusion2d package when it is missing (Colab, Binder).",
        "import importlib",
        "import importlib.util",
        "import subprocess",
        "import sys",
        "",
        'if importlib.util.find_spec("diffusion2d") is None:',
        f'    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", '
        f'"{pip_target}"])',
        "    importlib.invalidate_caches()",
        "",
        "from diffusion2d.exercises import todo  # noqa: F401 (the exercise stubs call it)",
    ]
    if uses_glue:
        lines += [
            "",
            "try:  # the book records numbers with myst-nb's glue; outside the book, show them",
            "    import myst_nb  # noqa: F401",
            "except ImportError:",
            "    import types",
            "",
            "    from IPython.display import display as _display",
            "",
            "    def _glue(name, variable, display=True):",
            "        if display:",
            "            _display(variable)",
            "",
            '    sys.modules["myst_nb"] = types.ModuleType("myst_nb")',
            '    sys.modules["myst_nb"].glue = _glue',
        ]
    return "\n".join(lines)


def _title(cells) -> str:
    for cell in cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return _ROLE_RE.sub(lambda m: m["content"], line[2:].strip())
    return "exercises"


def convert_chapter(
    path: str | Path,
    variant: str = "participant",
    *,
    repository_url: str | None = None,
    ref: str | None = None,
    glue_values: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
):
    """The notebook (an ``nbformat`` v4 node) for one chapter, in the given variant.

    ``glue_values`` (name -> text/plain, see :func:`read_glue_values`) fills glued numbers into
    the text; without them a glued number shows as its name. ``labels`` (see
    :func:`label_titles`, default: the chapter's folder) renders references as titles.
    """
    import nbformat

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    path = Path(path)
    source = _read(path)
    if labels is None:
        labels = label_titles(path.parent)
    state = _State(variant=variant, glue_values=dict(glue_values or {}), labels=dict(labels))
    cells = []
    uses_glue = False
    solution_cells = 0
    for index, cell in enumerate(source.cells):
        where = f"{path.name}, cell {index + 1}"
        tags = _tags(cell)
        if cell.cell_type == "markdown":
            try:
                text = _tidy(_convert_lines(cell.source.split("\n"), state))
            except ConversionError as err:
                raise ConversionError(f"{where}: {err}") from None
            if text:
                cells.append(nbformat.v4.new_markdown_cell(text))
            continue
        if cell.cell_type != "code":
            continue
        code = cell.source
        uses_glue = uses_glue or "myst_nb" in code
        is_solution = SOLUTION_TAG in tags
        if is_solution and not state.in_solution and variant == "participant":
            raise ConversionError(
                f"{where}: a cell tagged '{SOLUTION_TAG}' outside "
                "'{solution-start}'/'{solution-end}': the site would show the solution"
            )
        if state.in_solution and not is_solution:
            raise ConversionError(
                f"{where}: a code cell inside '{{solution-start}}'/'{{solution-end}}' must be "
                f"tagged '{SOLUTION_TAG}' (with '{BEGIN}'/'{END}' around the solution)"
            )
        metadata = {k: v for k, v in cell.metadata.items() if k != "tags"}
        if is_solution:
            solution_cells += 1
            code = stub_solutions(code, keep=variant == "solutions", where=where)
            new_tags = [t for t in tags if t != SOLUTION_TAG] + [EXERCISE_TAG]
        else:
            if _ANY_MARKER_RE.search(code):
                raise ConversionError(
                    f"{where}: solution markers in a cell not tagged '{SOLUTION_TAG}'"
                )
            new_tags = tags
        if new_tags:
            metadata["tags"] = new_tags
        cells.append(nbformat.v4.new_code_cell(code, metadata=metadata))
    if state.in_solution:
        raise ConversionError(f"{path.name}: '{{solution-start}}' is never closed")
    if solution_cells == 0:
        raise ConversionError(f"{path.name}: no code cell tagged '{SOLUTION_TAG}'")
    setup = nbformat.v4.new_code_cell(
        _setup_source(
            _title(source.cells), _source_name(path), _pip_target(repository_url, ref), uses_glue
        ),
        metadata={"tags": [SETUP_TAG]},
    )
    notebook = nbformat.v4.new_notebook(cells=[setup, *cells])
    kernelspec = source.metadata.get("kernelspec") or {
        "name": "python3",
        "display_name": "Python 3",
    }
    notebook.metadata = {
        "kernelspec": {
            "name": kernelspec.get("name", "python3"),
            "display_name": kernelspec.get("display_name", "Python 3"),
            "language": "python",
        },
        "language_info": {"name": "python"},
    }
    stem = re.sub(r"[^A-Za-z0-9_-]", "-", path.stem)[:40]
    for number, cell in enumerate(notebook.cells):
        cell["id"] = f"{stem}-{number:03d}"
    nbformat.validate(notebook)
    return notebook


def _source_name(path: Path) -> str:
    parts = path.resolve().parts
    if "book" in parts:
        return "/".join(parts[len(parts) - 1 - parts[::-1].index("book") :])
    return path.name


def notebook_text(notebook) -> str:
    """The ``.ipynb`` file's text (nbformat's JSON with sorted keys, a final newline)."""
    import nbformat

    return nbformat.writes(notebook) + "\n"


def notebook_name(path: str | Path, variant: str = "participant") -> str:
    """``02_forward.ipynb`` (participant) or ``02_forward.solutions.ipynb``."""
    stem = Path(path).stem
    return f"{stem}.ipynb" if variant == "participant" else f"{stem}.{variant}.ipynb"


def write_notebooks(
    book_dir: str | Path,
    outdir: str | Path,
    variants: Iterable[str] = ("participant",),
    *,
    repository_url: str | None = None,
    ref: str | None = None,
    chapters: Iterable[str | Path] | None = None,
    executed_dir: str | Path | None = None,
) -> list[Path]:
    """Write the notebooks of every chapter with exercises; return their paths.

    ``repository_url`` defaults to ``repository.url`` in the book's ``_config.yml``.
    ``executed_dir`` (e.g. ``_build/jupyter_execute``) supplies glued numbers from a build. A file
    is rewritten only when its content changes (so incremental site builds stay incremental).
    """
    book_dir, outdir = Path(book_dir), Path(outdir)
    labels = label_titles(book_dir)
    url = repository_url if repository_url is not None else config_repository_url(book_dir)
    paths = [Path(p) for p in chapters] if chapters is not None else exercise_chapters(book_dir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in paths:
        for variant in variants:
            glue = {}
            if executed_dir is not None:
                relative = chapter.resolve().relative_to(book_dir.resolve()).with_suffix("")
                glue = read_glue_values(Path(executed_dir) / f"{relative}.glue.json")
            notebook = convert_chapter(
                chapter, variant, repository_url=url, ref=ref, glue_values=glue, labels=labels
            )
            target = outdir / notebook_name(chapter, variant)
            text = notebook_text(notebook)
            if not target.is_file() or target.read_text(encoding="utf-8") != text:
                target.write_text(text, encoding="utf-8")
            written.append(target)
    return written


def launch_urls(url: str, name: str, branch: str = "notebooks") -> dict[str, str]:
    """Colab and Binder links that open the published notebook ``name`` on ``branch``."""
    org_repo = url.rstrip("/").split("github.com/", 1)[-1]
    return {
        "colab": f"https://colab.research.google.com/github/{org_repo}/blob/{branch}/{name}",
        "binder": f"https://mybinder.org/v2/gh/{org_repo}/{branch}?labpath={name}",
    }


def write_binder_files(
    outdir: str | Path,
    repository_url: str | None,
    ref: str | None,
    notebooks: Sequence[str | Path] = (),
    branch: str = "notebooks",
) -> list[Path]:
    """The Binder environment and a README for the published ``notebooks`` branch."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    requirements = outdir / "requirements.txt"
    requirements.write_text(
        "# Binder environment of the participant notebooks (written by diffusion2d.notebooks).\n"
        "# torch comes from PyTorch's CPU wheel index, not the multi-GB CUDA build.\n"
        "--extra-index-url https://download.pytorch.org/whl/cpu\n"
        f"diffusion2d @ {_pip_target(repository_url, ref)}\n",
        encoding="utf-8",
    )
    runtime = outdir / "runtime.txt"
    runtime.write_text("python-3.11\n", encoding="utf-8")
    lines = [
        "# Participant notebooks",
        "",
        "Generated from the book's MyST chapters by `diffusion2d.notebooks`"
        + (f" at commit `{ref}`" if ref else "")
        + "; this branch is rewritten after every successful deploy of `main`: do not edit it.",
        "",
        "Each exercise cell raises *not implemented yet* until you write your code in place of",
        "its `todo(...)` line; the cell after it checks your function in plain words.",
        "",
    ]
    for nb in notebooks:
        name = Path(nb).name
        if repository_url and "github.com/" in repository_url:
            links = launch_urls(repository_url, name, branch)
            lines.append(f"- `{name}`: [Colab]({links['colab']}) · [Binder]({links['binder']})")
        else:
            lines.append(f"- `{name}`")
    readme = outdir / "README.md"
    readme.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [requirements, runtime, readme]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m diffusion2d.notebooks",
        description="Write participant notebooks (todo() stubs) from the book's MyST chapters.",
    )
    parser.add_argument("book", type=Path, help="the book folder (e.g. book/)")
    parser.add_argument("outdir", type=Path, help="where to write the .ipynb files")
    parser.add_argument("--variant", choices=[*VARIANTS, "both"], default="participant")
    parser.add_argument("--ref", default=None, help="git ref the install cell pins (a commit)")
    parser.add_argument("--repository-url", default=None, help="default: repository.url")
    parser.add_argument(
        "--binder", action="store_true", help="also write requirements.txt, runtime.txt, README"
    )
    parser.add_argument(
        "--executed",
        type=Path,
        default=None,
        help="a build's jupyter_execute folder, for glued numbers (default: names)",
    )
    args = parser.parse_args(argv)
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    url = args.repository_url or config_repository_url(args.book)
    try:
        written = write_notebooks(
            args.book,
            args.outdir,
            variants,
            repository_url=url,
            ref=args.ref,
            executed_dir=args.executed,
        )
    except ConversionError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if not written:
        print(f"error: no chapter under {args.book} has a cell tagged '{SOLUTION_TAG}'",
              file=sys.stderr)  # fmt: skip
        return 1
    if args.binder:
        participant = [p for p in written if p.name.count(".") == 1]
        written += write_binder_files(args.outdir, url, args.ref, participant)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
