"""Sphinx extension: the site shows solutions without their ``# BEGIN/END SOLUTION`` markers.

A workshop solution is a code cell tagged ``solution`` whose reference code sits between a line
``# BEGIN SOLUTION`` (optionally ``# BEGIN SOLUTION: hint``) and a line ``# END SOLUTION``
(CONTRIBUTING.md, "Workshop edition"). The participant-notebook converter needs those lines in
the MyST source; a reader of the site does not. After each page is read, this extension removes
the marker lines from the displayed source of its ``solution`` cells (the code that ran is
unchanged; only the rendered literal block, and so what the copy button copies, loses them).
"""

from __future__ import annotations

import re

from docutils import nodes

MARKER = re.compile(r"^[ \t]*#[ \t]*(?:BEGIN|END) SOLUTION\b.*$")
TAG = "solution"


def strip_markers(code: str) -> str:
    """``code`` without its marker lines (every other line, and the line endings, unchanged)."""
    return "".join(
        line for line in code.splitlines(keepends=True) if not MARKER.match(line.rstrip("\r\n"))
    )


def _is_solution_cell(node: nodes.Node) -> bool:
    if not isinstance(node, nodes.container) or node.get("nb_element") != "cell_code":
        return False
    tags = (node.get("cell_metadata") or {}).get("tags") or []
    return TAG in tags or f"tag_{TAG}" in node.get("classes", [])


def strip_solution_markers(doctree: nodes.Node) -> int:
    """Remove the marker lines from the source blocks of ``solution`` code cells in ``doctree``.

    Returns the number of literal blocks changed. Outputs of the cell are left alone.
    """
    changed = 0
    for cell in list(doctree.findall(_is_solution_cell)):
        for source in cell.findall(nodes.container):
            if source.get("nb_element") != "cell_code_source":
                continue
            for block in list(source.findall(nodes.literal_block)):
                text = block.astext()
                stripped = strip_markers(text)
                if stripped == text:
                    continue
                new = nodes.literal_block(stripped, stripped, **block.attributes)
                block.replace_self(new)
                changed += 1
    return changed


def _on_doctree_read(app, doctree) -> None:
    strip_solution_markers(doctree)


def setup(app):
    app.connect("doctree-read", _on_doctree_read)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
