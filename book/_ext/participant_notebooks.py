"""Sphinx extension: the workshop's participant notebooks, generated at build time and linked.

For every chapter with exercises (a code cell tagged ``solution``; the convention is in
``diffusion2d/notebooks.py`` and CONTRIBUTING.md, "Workshop edition"), this extension

1. writes the participant notebook (solutions replaced by ``todo()`` stubs, glued numbers filled
   in from this build) to ``<html>/notebooks/<chapter>.ipynb`` after the chapters are read and
   executed (``env-updated``); a chapter that breaks the convention is a build warning, which
   fails the strict build;
2. adds a "Workshop notebook" box at the top of the chapter's "Exercises" section (or at the end
   of the page) with a download link and Colab / Binder links;
3. adds the notebook to the page's download menu and a launch menu (Colab, Binder) to the header.

Launch links open the notebooks that the ``notebooks`` job of ``.github/workflows/deploy.yml``
publishes (the very files this extension wrote into the deployed site) to the branch
``participant_notebooks_branch`` (default ``notebooks``) of ``repository.url``: generated files are
never committed to main, so Colab and Binder read them from that branch. The links are plain
anchors: a page makes no request to Colab or Binder unless the reader clicks.

Nothing in the chapters needs to change. The converter is loaded from the package's source file
(without importing the package, so the Sphinx process does not import torch).
"""

from __future__ import annotations

import hashlib
import importlib.util
import posixpath
import sys
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

OUT_SUBDIR = "notebooks"


def _converter():
    """``diffusion2d/notebooks.py`` as a standalone module (it imports nothing from the package)."""
    spec = importlib.util.find_spec("diffusion2d")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the diffusion2d package is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "notebooks.py"
    name = "_diffusion2d_notebooks"
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    module_spec.loader.exec_module(module)
    return module


def _repository_url(app, converter) -> str | None:
    options = app.config.html_theme_options or {}
    url = options.get("repository_url") or converter.config_repository_url(app.srcdir)
    return str(url).rstrip("/") if url else None


def _find_chapters(app) -> None:
    """builder-inited: which documents get a notebook (docname -> (source path, file name))."""
    app.participant_notebooks = {}
    if app.builder.format != "html":
        return
    converter = _converter()
    app.participant_converter = converter
    srcdir = Path(app.srcdir)
    for path in converter.exercise_chapters(srcdir):
        docname = path.relative_to(srcdir).with_suffix("").as_posix()
        app.participant_notebooks[docname] = (path, converter.notebook_name(path))


def _outdated(app, env, added, changed, removed) -> list[str]:
    """env-get-outdated: re-read pages that gained or lost their notebook since the last build
    (their box and buttons are added when they are written)."""
    current = set(getattr(app, "participant_notebooks", {}))
    previous = getattr(env, "participant_notebook_docs", None)
    env.participant_notebook_docs = current
    flipped = current if previous is None else current ^ previous
    return sorted(flipped & set(env.found_docs) - set(added) - set(changed))


def _inputs_hash(app, chapters: dict, converter, executed: Path, url: str | None) -> str:
    """Everything the notebooks depend on: converter, chapters, glued numbers, links."""
    digest = hashlib.sha256()
    for source in converter.SOURCE_FILES:  # notebooks.py and its parts, _notebooks/*.py
        digest.update(source.read_bytes())
    digest.update(f"{url}|{app.config.participant_notebooks_branch}".encode())
    for path in sorted(Path(app.srcdir).rglob("*.md")):  # titles of references come from all
        digest.update(str(path).encode() + path.read_bytes())
    for docname in sorted(chapters):
        glue = executed / f"{docname}.glue.json"
        digest.update(docname.encode() + (glue.read_bytes() if glue.is_file() else b""))
    return digest.hexdigest()


def _write_notebooks(app, env) -> None:
    """env-updated: write the notebooks (after execution, so glued numbers are known).

    Skipped when nothing they depend on changed since the last build (a stamp in the doctree
    folder), so a rebuild with nothing changed does not even import jupytext.
    """
    chapters = getattr(app, "participant_notebooks", {})
    if not chapters:
        return
    converter = app.participant_converter
    outdir = Path(app.outdir) / OUT_SUBDIR
    executed = Path(app.outdir).parent / "jupyter_execute"
    url = _repository_url(app, converter)
    stamp = Path(app.doctreedir) / "participant_notebooks.stamp"
    current = _inputs_hash(app, chapters, converter, executed, url)
    targets = [outdir / name for _, name in chapters.values()]
    if stamp.is_file() and stamp.read_text() == current and all(t.is_file() for t in targets):
        return
    labels = converter.label_titles(app.srcdir)
    outdir.mkdir(parents=True, exist_ok=True)
    failed = False
    for docname, (path, name) in sorted(chapters.items()):
        try:
            notebook = converter.convert_chapter(
                path,
                "participant",
                repository_url=url,
                glue_values=converter.read_glue_values(executed / f"{docname}.glue.json"),
                labels=labels,
            )
        except converter.ConversionError as err:
            logger.warning(
                f"participant notebook: {err}", location=docname, type="participant_notebooks"
            )
            failed = True
            continue
        target = outdir / name
        text = converter.notebook_text(notebook)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
    if failed:
        stamp.unlink(missing_ok=True)
    else:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(current)


def _links(app, docname: str) -> dict[str, str | bool] | None:
    chapters = getattr(app, "participant_notebooks", {})
    if docname not in chapters:
        return None
    path, name = chapters[docname]
    page = app.builder.get_target_uri(docname)
    links = {
        "name": name,
        # a chapter with an automatic check runs it in the cell after an exercise (CONTRIBUTING)
        "checks": "diffusion2d.exercises import check_" in Path(path).read_text(encoding="utf-8"),
        "download": posixpath.relpath(f"{OUT_SUBDIR}/{name}", posixpath.dirname(page) or "."),
    }
    url = _repository_url(app, app.participant_converter)
    if url and "github.com/" in url:
        branch = app.config.participant_notebooks_branch
        links.update(app.participant_converter.launch_urls(url, name, branch))
    return links


def _box(links: dict[str, str | bool]) -> nodes.Node:
    parts = [
        f'<a class="reference download" href="{escape(links["download"])}" '
        f'download="{escape(links["name"])}">download the participant notebook '
        f"<code>{escape(links['name'])}</code></a>"
    ]
    launch = []
    if "colab" in links:
        launch.append(
            f'<a class="reference external" href="{escape(links["colab"])}">Google Colab</a>'
        )
    if "binder" in links:
        launch.append(f'<a class="reference external" href="{escape(links["binder"])}">Binder</a>')
    text = (
        "Do these exercises yourself: "
        + parts[0]
        + (f" or open it in {' or '.join(launch)}" if launch else "")
        + ". Each exercise cell raises <em>not implemented yet</em> until you write your code in "
        "place of its <code>todo(...)</code> line; "
        + (
            "the cell after it checks your function."
            if links.get("checks", True)
            else "compare your result with the solution on this page (the other exercises are "
            "for pen and paper)."
        )
    )
    box = nodes.admonition(classes=["tip", "workshop-notebook"])
    box += nodes.title(text="Workshop notebook")
    box += nodes.raw("", f"<p>{text}</p>", format="html")
    return box


def _inject_box(app, doctree, docname: str) -> None:
    """doctree-resolved: the "Workshop notebook" box at the top of the Exercises section."""
    if app.builder.format != "html":
        return
    links = _links(app, docname)
    if links is None:
        return
    box = _box(links)
    for section in doctree.findall(nodes.section):
        title = section.next_node(nodes.title)
        if title is not None and title.astext().strip().lower().startswith("exercise"):
            section.insert(section.index(title) + 1, box)
            return
    sections = list(doctree.findall(nodes.section))
    (sections[0] if sections else doctree).append(box)


def _header_buttons(app, pagename, templatename, context, doctree) -> None:
    """html-page-context: the notebook in the download menu, and a launch menu."""
    links = _links(app, pagename)
    buttons = context.get("header_buttons")
    if links is None or buttons is None:
        return
    pathto = context["pathto"]
    download = {
        "type": "link",
        "url": pathto(f"{OUT_SUBDIR}/{links['name']}", 1),
        "text": "workshop .ipynb",
        "tooltip": "Download the participant notebook (exercises with todo() stubs)",
        "icon": "fas fa-code",
        "label": "download-workshop-notebook-button",
    }
    group = next((b for b in buttons if b.get("label") == "download-buttons"), None)
    if group is not None:
        group["buttons"].insert(0, download)
    launch = [
        {
            "type": "link",
            "text": text,
            "tooltip": f"Open the participant notebook in {text}",
            "icon": icon,
            "url": links[key],
            "label": f"workshop-{key}-button",
        }
        for key, text, icon in (
            ("colab", "Colab", "_static/images/logo_colab.png"),
            ("binder", "Binder", "_static/images/logo_binder.svg"),
        )
        if key in links
    ]
    if launch:
        existing = next((b for b in buttons if b.get("label") == "launch-buttons"), None)
        if existing is not None:
            existing["buttons"].extend(launch)
        else:
            buttons.append(
                {
                    "type": "group",
                    "tooltip": "Launch the workshop notebook",
                    "icon": "fas fa-rocket",
                    "buttons": launch,
                    "label": "launch-buttons",
                }
            )


def setup(app):
    app.add_config_value("participant_notebooks_branch", "notebooks", "html")
    app.connect("builder-inited", _find_chapters)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-updated", _write_notebooks)
    app.connect("doctree-resolved", _inject_box)
    # after sphinx-book-theme's header buttons (priority 501)
    app.connect("html-page-context", _header_buttons, priority=510)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
