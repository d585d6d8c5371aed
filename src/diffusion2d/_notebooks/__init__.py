"""The parts of :mod:`diffusion2d.notebooks` (MyST chapters -> participant notebooks), by concept.

Scope: the implementation only; :mod:`diffusion2d.notebooks` documents the marking convention,
re-exports this API and is the command line. Like it, these modules import nothing from the rest
of ``diffusion2d`` (only yaml, and jupytext/nbformat where used), so the converter also runs as a
plain script with only jupytext installed.

================  ==============================================================================
``stubs``         solution markers, :class:`ConversionError`, regions -> ``todo()`` stubs
``myst``          MyST syntax: directives, options, code-cell headers
``markdown``      MyST Markdown -> Markdown that Jupyter renders (roles, directives, glue)
``book``          reading the book: chapters with exercises, reference titles, glue, config
``chapter``       one chapter -> one notebook (setup cell, stubs, checks of the convention)
``output``        writing notebooks, launch links, the Binder files of the published branch
================  ==============================================================================
"""

from .book import (
    config_repository_url,
    exercise_chapters,
    has_exercises,
    label_titles,
    read_glue_values,
)
from .chapter import SETUP_TAG, VARIANTS, _read, _tags, convert_chapter
from .markdown import format_glue
from .output import launch_urls, notebook_name, notebook_text, write_binder_files, write_notebooks
from .stubs import (
    _ANY_MARKER_RE,
    _BEGIN_RE,
    _END_RE,
    BEGIN,
    END,
    EXERCISE_TAG,
    SOLUTION_TAG,
    WHOLE_CELL_HINT,
    ConversionError,
    stub_solutions,
)

__all__ = [
    "BEGIN",
    "END",
    "EXERCISE_TAG",
    "SETUP_TAG",
    "SOLUTION_TAG",
    "VARIANTS",
    "WHOLE_CELL_HINT",
    "_ANY_MARKER_RE",
    "_BEGIN_RE",
    "_END_RE",
    "ConversionError",
    "_read",
    "_tags",
    "config_repository_url",
    "convert_chapter",
    "exercise_chapters",
    "format_glue",
    "has_exercises",
    "label_titles",
    "launch_urls",
    "notebook_name",
    "notebook_text",
    "read_glue_values",
    "stub_solutions",
    "write_binder_files",
    "write_notebooks",
]
