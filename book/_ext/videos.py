"""Sphinx extension: the book's videos become files of the site instead of inlined data.

``diffusion2d.plotting.animation.show`` outputs a ``<video controls>`` element with both
encodings inlined as ``data:`` URIs, so a notebook shows it as it is and the execution cache
holds it. At ``doctree-resolved`` this extension writes each inlined encoding to
``_build/html/_videos/<sha256>.<mp4|webm>`` and points the page at that file: the video is served
from the site, nothing is written into the source tree, and a browser fetches only the one
encoding it plays.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import re
from pathlib import Path

from docutils import nodes

SITE_FOLDER = "_videos"  # in the built HTML
_INLINE = re.compile(r'src="data:video/(webm|mp4);base64,([A-Za-z0-9+/=]+)"')


def to_files(text: str, outdir: str | Path, page: str) -> str:
    """Write every inlined encoding in the HTML ``text`` to ``outdir/_videos/<sha256>.<ext>``
    and point its ``src`` there, relative to ``page`` (the page's path in ``outdir``)."""
    folder = Path(outdir) / SITE_FOLDER

    def move(m: re.Match) -> str:
        data = base64.b64decode(m.group(2))
        name = f"{hashlib.sha256(data).hexdigest()[:24]}.{m.group(1)}"
        target = folder / name
        if not target.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return f'src="{posixpath.relpath(f"{SITE_FOLDER}/{name}", posixpath.dirname(page) or ".")}"'

    return _INLINE.sub(move, text)


def _doctree_resolved(app, doctree, docname: str) -> None:
    if getattr(app.builder, "format", "") != "html":
        return
    page = app.builder.get_target_uri(docname)
    for node in list(doctree.findall(nodes.raw)):
        if "html" in node.get("format", "").split() and "data:video/" in node.astext():
            text = to_files(node.astext(), app.outdir, page)
            node.replace_self(nodes.raw(text, text, format=node["format"], classes=node["classes"]))


def setup(app) -> dict[str, object]:
    app.connect("doctree-resolved", _doctree_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
