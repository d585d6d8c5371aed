"""Sphinx extension: re-execute every chapter when the library source changes.

myst-nb's execution cache (jupyter-cache) hashes only the code of each cell, and Sphinx re-reads
only the pages whose own source changed, so a change in ``src/`` would otherwise leave stale
outputs in the book. On start-up this extension hashes every file under ``src/`` and compares it
with the hash stored beside the cache. On a difference it deletes the execution cache and marks
every page outdated, so every chapter runs again against the new library.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

STAMP = "src-hash.txt"


def source_hash(src: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(src).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _guard(app, config) -> None:
    app.srcguard_changed = False
    src = Path(app.srcdir).resolve().parent / "src"
    if not src.is_dir():
        return
    cache = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    current = source_hash(src)
    stamp = cache.parent / f"{cache.name}.{STAMP}"
    if stamp.is_file() and stamp.read_text() == current:
        return
    app.srcguard_changed = True
    if cache.exists():
        shutil.rmtree(cache)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)


def _outdated(app, env, added, changed, removed):
    """Every page is outdated when the library changed (Sphinx event env-get-outdated)."""
    if getattr(app, "srcguard_changed", False):
        return sorted(env.found_docs - set(added) - set(changed) - set(removed))
    return []


def setup(app):
    app.connect("config-inited", _guard, priority=100)
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "2"}
