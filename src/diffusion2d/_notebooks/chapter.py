"""One MyST chapter -> one notebook (``nbformat`` v4), participant or solutions variant.

Scope: :func:`convert_chapter`, which reads the chapter with jupytext, converts its Markdown
(:mod:`.markdown`) and stubs its solution cells (:mod:`.stubs`), enforces rules 2 and 3 of the
marking convention, and prepends the setup cell (install from the repository, ``todo``, a
``glue`` stand-in).
"""

from __future__ import annotations

import re
from pathlib import Path

from .book import label_titles
from .markdown import _convert_lines, _State, _tidy
from .myst import _ROLE_RE
from .stubs import (
    _ANY_MARKER_RE,
    BEGIN,
    END,
    EXERCISE_TAG,
    SOLUTION_TAG,
    ConversionError,
    stub_solutions,
)

# jupytext and nbformat are imported where they are used: finding the exercise chapters needs
# neither, so a book build with nothing to regenerate does not pay for importing them.

SETUP_TAG = "workshop-setup"
VARIANTS = ("participant", "solutions")


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def _read(path: Path):
    import jupytext

    return jupytext.read(path, fmt="md:myst")


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
