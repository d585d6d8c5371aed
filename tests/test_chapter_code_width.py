"""Every line of code a reader sees in the chapters fits the text column at 1280 px.

The code font is 13 px (``book/_static/custom.css``), 7.83 CSS px per character. A code cell
has 634 px of text (80 characters; 81 in a "Show code" box), so the limit is PEP 8's 79; a
solution (its dropdown is indented) and code inside any other directive have 585 px (74
characters), so their limit is 74. Checked: code cells and literal code blocks of
``book/intro.md`` and ``book/chapters/*.md``. Cells tagged ``remove-cell`` or ``remove-input``
are never shown and not checked; ``hide-input`` cells are (one click shows them). Code that a
``literalinclude`` takes from ``src/`` follows the library's 100 columns and is not checked.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = [ROOT / "book" / "intro.md", *sorted((ROOT / "book" / "chapters").glob("*.md"))]
LIMIT = 79
NESTED_LIMIT = 74  # solutions and code inside admonitions, exercises, ...
HIDDEN = {"remove-cell", "remove-input"}
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}|:{3,})\s*(.*)$")  # ``` and ~~~, ::: (colon_fence)
CODE_DIRECTIVES = ("{code-cell}", "{code-block}", "{code}", "{sourcecode}")


def _closes(line: str, fence: str) -> bool:
    m = FENCE.match(line)
    if not m or m.group(2):
        return False
    return m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence)


def _options(lines: list[str], i: int) -> tuple[dict, int]:
    """The options of a directive whose body starts at ``lines[i]``, and the first line after."""
    options = {}
    if i < len(lines) and lines[i].strip() == "---":  # YAML block of options
        end = lines.index("---", i + 1)
        options = yaml.safe_load("\n".join(lines[i + 1 : end])) or {}
        i = end + 1
    while i < len(lines) and re.match(r"^:[\w-]+:", lines[i]):  # ":key: value" options
        key, _, value = lines[i][1:].partition(":")
        options[key.strip()] = yaml.safe_load(value)
        i += 1
    return options, i


def code_blocks(text: str):
    """``(kind, tags, nested, [(line number, line), ...])`` of each block of code a MyST text
    shows: ``{code-cell}`` cells (kind "cell", with their tags) and literal code blocks (kind
    "block": a backtick or tilde fence with a language or none, or a ``{code-block}``). Other
    directives are stepped into, as their content is Markdown. ``nested``: the block is inside
    one, or between ``{solution-start}`` and ``{solution-end}`` (an indented dropdown)."""
    lines = text.splitlines()
    open_directives: list[str] = []
    in_solution = False
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        i += 1
        if not m:
            continue
        fence, info = m.group(1), m.group(2).strip()
        if not info and open_directives and _closes(lines[i - 1], open_directives[-1]):
            open_directives.pop()
            continue
        name = info.split("}")[0] + "}" if info.startswith("{") else ""
        in_solution = {"{solution-start}": True, "{solution-end}": False}.get(name, in_solution)
        if name and name not in CODE_DIRECTIVES:
            open_directives.append(fence)
            continue
        if fence.startswith(":"):  # a colon fence is always a directive
            continue
        options, i = _options(lines, i) if name else ({}, i)
        body = []
        while i < len(lines) and not _closes(lines[i], fence):
            body.append((i + 1, lines[i]))
            i += 1
        i += 1
        kind = "cell" if name == "{code-cell}" else "block"
        nested = bool(open_directives) or in_solution
        yield kind, set(options.get("tags") or ()), nested, body


def test_parser_reads_both_option_styles_and_line_numbers():
    text = "\n".join([
        "# title", "```{code-cell} ipython3", ":tags: [remove-cell]", "", "a = 1", "```",
        "```{code-cell} ipython3", "---", "tags: [hide-input]", "mystnb:", "  figure:",
        "    name: x", "---", "b = 2", "```", "````{code-cell} ipython3", "```", "c", "````",
    ])  # fmt: skip
    cells = list(code_blocks(text))
    assert cells == [
        ("cell", {"remove-cell"}, False, [(4, ""), (5, "a = 1")]),
        ("cell", {"hide-input"}, False, [(14, "b = 2")]),
        ("cell", set(), False, [(17, "```"), (18, "c")]),
    ]


def test_parser_finds_literal_blocks_and_steps_into_directives():
    text = "\n".join([
        "```{admonition} Note", ":class: tip", "", "```bash", "make all", "```", "text", "```",
        "```", "plain", "```", "```{code-block} python", ":linenos:", "x = 1", "```",
        "```{math}", "a^2", "```",
    ])  # fmt: skip
    assert list(code_blocks(text)) == [
        ("block", set(), True, [(5, "make all")]),
        ("block", set(), False, [(10, "plain")]),
        ("block", set(), False, [(14, "x = 1")]),
    ]


def test_parser_knows_solutions_and_colon_fences():
    text = "\n".join([
        ":::{solution-start} ex-1", ":class: dropdown", ":::", "```{code-cell} ipython3",
        "def f():", "```", ":::{solution-end}", ":::", "```{code-cell} ipython3", "g()", "```",
        "::::{admonition} Note", "```python", "h()", "```", "::::", "```python", "k()", "```",
    ])  # fmt: skip
    assert list(code_blocks(text)) == [
        ("cell", set(), True, [(5, "def f():")]),
        ("cell", set(), False, [(10, "g()")]),
        ("block", set(), True, [(14, "h()")]),
        ("block", set(), False, [(18, "k()")]),
    ]


def test_every_chapter_has_code_cells():
    counts = {p.name: sum(b[0] == "cell" for b in code_blocks(p.read_text())) for p in CHAPTERS}
    assert counts["intro.md"] > 0 and counts["05_experiments.md"] > 10, counts


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_visible_code_lines_fit_the_column(path):
    too_long = []
    for _, tags, nested, body in code_blocks(path.read_text()):
        if tags & HIDDEN:
            continue
        limit = NESTED_LIMIT if nested else LIMIT
        too_long += [
            f"{path.relative_to(ROOT)}:{number}: {len(line)} > {limit} characters: {line.strip()}"
            for number, line in body
            if len(line) > limit
        ]
    assert not too_long, "code lines wider than the column at 1280 px:\n" + "\n".join(too_long)
