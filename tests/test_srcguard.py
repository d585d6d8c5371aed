"""The book extension that re-executes a chapter when library code it imports changes
(book/_ext/srcguard.py): the per-page dependency closure, and which cached outputs it drops."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import SimpleNamespace

import nbformat
from jupyter_cache import get_cache
from jupyter_cache.base import CacheBundleIn

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("srcguard", ROOT / "book" / "_ext" / "srcguard.py")
srcguard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(srcguard)

FIELDS = "---\ntags: [hide-input]\n---\n"  # a code cell's YAML options, as chapters have them
PAGES = {
    # a: imports pkg.fig (which imports pkg.style); b: only pkg.core; c: the package itself
    "chapters/a": f"# A\n\n```{{code-cell}} ipython3\n{FIELDS}from pkg import fig\n```\n",
    "chapters/b": "# B\n\n```{code-cell} ipython3\n%matplotlib inline\nimport pkg.core\n```\n",
    "intro": "# Intro\n\n```{code-cell} ipython3\nimport pkg\nprint(pkg.x)\n```\n",
}


def make_project(tmp_path: Path):
    pkg = tmp_path / "src" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("x = 1\n")
    (pkg / "core.py").write_text("import math\n")
    (pkg / "style.py").write_text("COLOR = 'grey'\n")
    (pkg / "fig.py").write_text("from .style import COLOR\n\ndef f():\n    from . import core\n")
    (pkg / "explorer.js").write_text("// a data file of the package\n")
    (tmp_path / "src" / "pkg.egg-info").mkdir()
    (tmp_path / "src" / "pkg.egg-info" / "PKG-INFO").write_text("Name: pkg\n")
    book = tmp_path / "book"
    for docname, text in PAGES.items():
        (book / docname).parent.mkdir(parents=True, exist_ok=True)
        (book / f"{docname}.md").write_text(text)
    cache = tmp_path / "_build" / ".jupyter_cache"
    app = SimpleNamespace(srcdir=str(book), outdir=str(tmp_path / "_build" / "html"),
                          config=SimpleNamespace(nb_execution_cache_path=str(cache)))
    env = SimpleNamespace(found_docs=set(PAGES), doc2path=lambda d: str(book / f"{d}.md"))
    return app, env, cache


def cache_pages(cache: Path, env) -> None:
    """Store one 'executed' notebook per page, as myst-nb does (uri = the page's path)."""
    jcache = get_cache(str(cache))
    for docname in sorted(env.found_docs):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {docname}")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        jcache.cache_notebook_bundle(CacheBundleIn(nb, env.doc2path(docname)), check_validity=False)


def cached_pages(cache: Path, env) -> set[str]:
    uris = {r.uri for r in get_cache(str(cache)).list_cache_records()}
    return {d for d in env.found_docs if env.doc2path(d) in uris}


def test_page_files_follow_imports_and_nothing_else(tmp_path):
    app, env, _ = make_project(tmp_path)
    src = tmp_path / "src"
    names = {name: {p.name for p in srcguard.page_files(text, src)} for name, text in PAGES.items()}
    # pkg.fig imports .style at the top and .core inside a function: both can run
    assert names["chapters/a"] == {"__init__.py", "fig.py", "style.py", "core.py", "explorer.js"}
    assert names["chapters/b"] == {"__init__.py", "core.py", "explorer.js"}
    assert names["intro"] == {"__init__.py", "explorer.js"}


def test_unparsable_code_depends_on_every_package_file(tmp_path):
    make_project(tmp_path)
    files = srcguard.page_files("```{code-cell} ipython3\nx = (\n```\n", tmp_path / "src")
    every = {"__init__.py", "core.py", "style.py", "fig.py", "explorer.js"}
    assert {p.name for p in files} == every


def test_first_build_runs_every_page_then_nothing_until_an_import_changes(tmp_path):
    app, env, cache = make_project(tmp_path)
    cache.mkdir(parents=True)
    (cache / "old-format-entry").write_text("outputs of unknown provenance")
    # no stamp: every page is stale and the whole cache goes
    assert srcguard._outdated(app, env, set(), set(), set()) == sorted(PAGES)
    assert not cache.exists()
    stamp = json.loads((cache.parent / f"{cache.name}.{srcguard.STAMP}").read_text())
    assert set(stamp) == set(PAGES)
    cache_pages(cache, env)
    assert srcguard._outdated(app, env, set(), set(), set()) == []
    assert cached_pages(cache, env) == set(PAGES)


def test_an_edit_reruns_exactly_the_pages_that_import_it(tmp_path):
    app, env, cache = make_project(tmp_path)
    srcguard._outdated(app, env, set(), set(), set())
    cache_pages(cache, env)
    (tmp_path / "src" / "pkg" / "style.py").write_text("COLOR = 'black'\n")
    # only chapter a imports style (through fig); a page Sphinx re-reads anyway is not repeated
    assert srcguard._outdated(app, env, set(), set(), set()) == ["chapters/a"]
    assert cached_pages(cache, env) == {"chapters/b", "intro"}
    assert srcguard._outdated(app, env, set(), set(), set()) == []  # the stamp was updated
    (tmp_path / "src" / "pkg" / "core.py").write_text("import math, os\n")
    assert srcguard._outdated(app, env, set(), {"chapters/b"}, set()) == ["chapters/a"]
    assert cached_pages(cache, env) == {"intro"}
    (tmp_path / "src" / "pkg" / "__init__.py").write_text("x = 2\n")  # every page imports it
    assert srcguard._outdated(app, env, set(), set(), set()) == sorted(PAGES)


def test_egg_info_and_other_non_package_files_do_not_count(tmp_path):
    app, env, cache = make_project(tmp_path)
    srcguard._outdated(app, env, set(), set(), set())
    (tmp_path / "src" / "pkg.egg-info" / "PKG-INFO").write_text("Name: pkg\nVersion: 2\n")
    assert srcguard._outdated(app, env, set(), set(), set()) == []
