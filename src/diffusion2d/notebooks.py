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

Code: the command line and the API live here; the implementation, one concept a module, in
``diffusion2d/_notebooks/`` (``stubs``, ``myst``, ``markdown``, ``book``, ``chapter``, ``output``).
Run as a script or loaded by path (the book's extension), this file loads that folder by itself,
without ``diffusion2d/__init__.py`` (which imports torch).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path

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

_PARTS = Path(__file__).resolve().with_name("_notebooks")
_STANDALONE = "_diffusion2d_notebooks_parts"  # the parts' package name when loaded by path
SOURCE_FILES = (Path(__file__).resolve(), *sorted(_PARTS.glob("*.py")))  # all the converter


def _load_parts():
    """``diffusion2d._notebooks``; outside the package (script, loaded by path): its folder."""
    if __package__:
        return importlib.import_module("._notebooks", __package__)
    for name in [n for n in sys.modules if n == _STANDALONE or n.startswith(_STANDALONE + ".")]:
        del sys.modules[name]  # a fresh load, as for this file
    spec = importlib.util.spec_from_file_location(
        _STANDALONE, _PARTS / "__init__.py", submodule_search_locations=[str(_PARTS)]
    )
    parts = importlib.util.module_from_spec(spec)
    sys.modules[_STANDALONE] = parts
    spec.loader.exec_module(parts)
    return parts


_parts = _load_parts()

# the API (and the names the tests look at), re-exported from the parts
BEGIN = _parts.BEGIN
END = _parts.END
SOLUTION_TAG = _parts.SOLUTION_TAG
EXERCISE_TAG = _parts.EXERCISE_TAG
SETUP_TAG = _parts.SETUP_TAG
VARIANTS = _parts.VARIANTS
WHOLE_CELL_HINT = _parts.WHOLE_CELL_HINT
_BEGIN_RE = _parts._BEGIN_RE
_END_RE = _parts._END_RE
_ANY_MARKER_RE = _parts._ANY_MARKER_RE
ConversionError = _parts.ConversionError
stub_solutions = _parts.stub_solutions
format_glue = _parts.format_glue
label_titles = _parts.label_titles
read_glue_values = _parts.read_glue_values
has_exercises = _parts.has_exercises
exercise_chapters = _parts.exercise_chapters
config_repository_url = _parts.config_repository_url
convert_chapter = _parts.convert_chapter
_read = _parts._read
_tags = _parts._tags
notebook_text = _parts.notebook_text
notebook_name = _parts.notebook_name
write_notebooks = _parts.write_notebooks
launch_urls = _parts.launch_urls
write_binder_files = _parts.write_binder_files


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
