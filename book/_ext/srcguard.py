"""Sphinx extension: invalidate the notebook execution cache when the library source changes.

myst-nb's cache (jupyter-cache) hashes only the code of each cell, so a change in ``src/`` would
otherwise leave stale outputs in the book. On start-up this extension hashes every file under
``src/`` and compares it with the hash stored beside the cache; on a difference it deletes the cache
so every chapter runs again.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

STAMP = "src-hash.txt"


def source_hash(src: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in src.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(src)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _guard(app, config) -> None:
    src = Path(app.srcdir).resolve().parent / "src"
    cache = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    if not src.is_dir():
        return
    current = source_hash(src)
    stamp = cache.parent / f"{cache.name}.{STAMP}"
    if stamp.is_file() and stamp.read_text() == current:
        return
    if cache.exists():
        shutil.rmtree(cache)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)


def setup(app):
    app.connect("config-inited", _guard, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
