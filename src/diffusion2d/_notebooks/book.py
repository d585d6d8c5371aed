"""Reading the book: which chapters have exercises, what references render as, glued values.

Scope: everything the converter learns from the book folder other than one chapter's cells:
chapters with a ``solution`` cell (read as text, fast), reference titles over all pages, the
``repository.url`` of ``_config.yml``, and glued values from a build's ``<doc>.glue.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import yaml

from .myst import (
    _CODE_CELL_RE,
    _DIRECTIVE_RE,
    _HEADING_RE,
    _OPTION_RE,
    _ROLE_RE,
    _TARGET_RE,
    _cell_tags,
)
from .stubs import SOLUTION_TAG


def _book_pages(book_dir: Path) -> Iterator[Path]:
    """The book's ``.md`` files, sorted, skipping folders ``_*`` and ``.*``."""
    for path in sorted(book_dir.rglob("*.md")):
        if not any(p.startswith(("_", ".")) for p in path.relative_to(book_dir).parts[:-1]):
            yield path


def label_titles(book_dir: str | Path) -> dict[str, str]:
    """What references render as: ``(label)=`` targets and document names -> *their heading*,
    exercise labels -> "the exercise *title*" (or "the exercise")."""
    book_dir = Path(book_dir)
    titles: dict[str, str] = {}
    for path in _book_pages(book_dir):
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
    for path in _book_pages(book_dir):
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
