"""Writing the notebooks: file names and text, launch links, the published branch's Binder files.

Scope: :func:`write_notebooks` (every chapter with exercises, rewritten only when changed),
:func:`launch_urls` (Colab, Binder) and :func:`write_binder_files` (``requirements.txt``,
``runtime.txt``, README of the ``notebooks`` branch).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .book import config_repository_url, exercise_chapters, label_titles, read_glue_values
from .chapter import _pip_target, convert_chapter


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
