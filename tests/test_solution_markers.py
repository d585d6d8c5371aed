"""The book extension that hides ``# BEGIN/END SOLUTION`` lines on the site
(book/_ext/solution_markers.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from docutils import nodes

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location(
    "solution_markers", ROOT / "book" / "_ext" / "solution_markers.py"
)
solution_markers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(solution_markers)

SOURCE = '''def get_loss(model, x0s, eps, alpha_bars, ts):
    """L_simple (DDPM eq. 14) on one batch."""
    # BEGIN SOLUTION: compute x_t with eq. 4
    xt = q_sample(x0s, ts, eps, alpha_bars)
    # END SOLUTION
    return xt'''

EXPECTED = '''def get_loss(model, x0s, eps, alpha_bars, ts):
    """L_simple (DDPM eq. 14) on one batch."""
    xt = q_sample(x0s, ts, eps, alpha_bars)
    return xt'''


def code_cell(source: str, tags: list[str]) -> nodes.container:
    """A code cell as myst-nb puts it in the doctree: cell > cell_code_source > literal_block."""
    block = nodes.literal_block(source, source, language="ipython3")
    inner = nodes.container("", block, classes=["cell_input"], nb_element="cell_code_source")
    output = nodes.container(
        "", nodes.literal_block("# BEGIN SOLUTION", "# BEGIN SOLUTION"),
        classes=["cell_output"], nb_element="cell_code_output",
    )  # fmt: skip
    return nodes.container(
        "", inner, output,
        classes=["cell"] + [f"tag_{t}" for t in tags], nb_element="cell_code",
        cell_metadata={"tags": tags},
    )  # fmt: skip


def test_strip_markers_keeps_everything_else():
    assert solution_markers.strip_markers(SOURCE) == EXPECTED
    assert solution_markers.strip_markers("x = 1\n# END SOLUTION\ny = 2\n") == "x = 1\ny = 2\n"
    # a comment that merely mentions the markers is kept
    text = "# the BEGIN SOLUTION line is removed\n"
    assert solution_markers.strip_markers(text) == text


def test_solution_cells_lose_their_markers():
    doc = nodes.document(None, None)
    solution, other = code_cell(SOURCE, ["solution"]), code_cell(SOURCE, [])
    doc += [solution, other]
    assert solution_markers.strip_solution_markers(doc) == 1
    sources = [
        block.astext()
        for cell in (solution, other)
        for block in cell.children[0].findall(nodes.literal_block)
    ]
    assert sources == [EXPECTED, SOURCE]  # only the solution cell changes
    assert solution.children[0].children[0]["language"] == "ipython3"  # attributes kept
    # outputs are never touched
    assert solution.children[1].astext() == "# BEGIN SOLUTION"
    assert solution_markers.strip_solution_markers(doc) == 0  # idempotent
