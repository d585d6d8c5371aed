"""The book extension that re-executes every chapter when src/ changes (book/_ext/srcguard.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("srcguard", ROOT / "book" / "_ext" / "srcguard.py")
srcguard = importlib.util.module_from_spec(spec)
spec.loader.exec_module(srcguard)


def make_project(tmp_path: Path):
    (tmp_path / "book").mkdir()
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    cache = tmp_path / "_build" / ".jupyter_cache"
    app = SimpleNamespace(srcdir=str(tmp_path / "book"), outdir=str(tmp_path / "_build" / "html"))
    config = SimpleNamespace(nb_execution_cache_path=str(cache))
    env = SimpleNamespace(found_docs={"intro", "chapters/a", "chapters/b"})
    return app, config, env, cache


def test_unchanged_source_keeps_cache_and_pages(tmp_path):
    app, config, env, cache = make_project(tmp_path)
    srcguard._guard(app, config)  # first build: stamp written
    cache.mkdir(parents=True)
    (cache / "entry").write_text("cached outputs")
    srcguard._guard(app, config)
    assert app.srcguard_changed is False
    assert (cache / "entry").exists()
    assert srcguard._outdated(app, env, set(), {"chapters/a"}, set()) == []


def test_changed_source_wipes_cache_and_outdates_every_page(tmp_path):
    app, config, env, cache = make_project(tmp_path)
    srcguard._guard(app, config)
    cache.mkdir(parents=True)
    (cache / "entry").write_text("stale outputs")
    (tmp_path / "src" / "pkg" / "mod.py").write_text("x = 2\n")
    srcguard._guard(app, config)
    assert app.srcguard_changed is True
    assert not cache.exists()
    # pages Sphinx would not re-read on its own are returned, the ones it re-reads anyway are not
    assert srcguard._outdated(app, env, set(), {"chapters/a"}, set()) == ["chapters/b", "intro"]
    srcguard._guard(app, config)  # the next build sees the new stamp
    assert app.srcguard_changed is False
