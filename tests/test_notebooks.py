"""The workshop's participant notebooks: the book extension that writes and links them
(book/_ext/participant_notebooks.py), its solution convention, and the notebooks it writes.

Fast by default. Two groups are skipped unless selected with -m:

- ``notebooks``: start Jupyter kernels and execute the fixture and the book's exercise chapters
  (participant notebooks and the same with the reference solutions; uses the model cache in
  _build/model_cache). A separate, slower step:  pytest -m notebooks tests/test_notebooks.py
- ``build``: check the built site (its notebooks and links), after jupyter-book build:
  pytest -m build tests/test_notebooks.py   (SITE_DIR overrides _build/html)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import jupytext
import nbformat
import pytest
import yaml
from docutils import nodes
from sphinx_exercise.nodes import solution_node

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE = FIXTURES / "exercise_chapter.md"
URL = "https://github.com/diffusion2d/diffusion-from-scratch"

sys.path.insert(0, str(BOOK / "_ext"))  # the book's local extensions, as Jupyter Book loads them
import participant_notebooks as pn  # noqa: E402


def _requires_marker(request: pytest.FixtureRequest, marker: str) -> None:
    """Skip unless the run selected this marker (pytest -m notebooks)."""
    if marker not in (request.config.getoption("markexpr") or ""):
        pytest.skip(f"selected only with  pytest -m {marker}")


def _code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _solution_regions(path: Path) -> tuple[list[str], set[str]]:
    """Lines of the solutions (code cells between {solution-start} and {solution-end}: between
    the markers, or the whole cell without them) and the set of lines of every other code."""
    inside: list[str] = []
    outside: set[str] = set()
    in_solution = False
    for cell in jupytext.read(path, fmt="md:myst").cells:
        if cell.cell_type == "markdown":
            for match in re.finditer(r"\{solution-(start|end)\}", cell.source):
                in_solution = match[1] == "start"
            continue
        lines = cell.source.split("\n")
        if not in_solution:
            outside.update(line.strip() for line in lines)
            continue
        if not any(pn.BEGIN.match(line) for line in lines):
            inside += [line.strip() for line in lines]
            continue
        open_ = False
        for line in lines:
            if pn.BEGIN.match(line):
                open_ = True
            elif pn.END.match(line):
                open_ = False
            elif open_:
                inside.append(line.strip())
            else:
                outside.add(line.strip())
    return [line for line in inside if line and not line.startswith("#")], outside


def _assert_no_solution_code(path: Path, nb) -> None:
    inside, outside = _solution_regions(path)
    assert inside, f"{path.name}: no solution code found"
    code_lines = {line.strip() for src in _code(nb) for line in src.split("\n")}
    leaked = [line for line in inside if line not in outside and line in code_lines]
    assert not leaked, f"{path.name}: solution lines in the participant notebook: {leaked}"
    assert not any(pn.MARKER.search(src) for src in _code(nb))


# --------------------------------------------------------------------------------------------
# Solution regions -> stubs
# --------------------------------------------------------------------------------------------

FUNCTION = '''def get_loss(model, x0s, eps, alpha_bars, ts):
    """The docstring stays."""
    # BEGIN SOLUTION
    ab = alpha_bars[ts].unsqueeze(1)
    return ab
    # END SOLUTION'''


def test_stub_replaces_the_region_keeps_signature_and_docstring():
    stub = pn.stub(FUNCTION)
    assert stub.split("\n") == [
        "def get_loss(model, x0s, eps, alpha_bars, ts):",
        '    """The docstring stays."""',
        '    todo("write the body of get_loss() in place of this todo(...) line")',
    ]
    compile(stub, "<stub>", "exec")


def test_stub_hint_nesting_and_whole_cells():
    source = "def f():\n    if True:\n        # BEGIN SOLUTION: use torch.cumprod\n        x = 1\n"
    source += "        # END SOLUTION\n    return 2"
    stub = pn.stub(source)
    assert '        todo("use torch.cumprod")' in stub and "x = 1" not in stub
    compile(stub, "<stub>", "exec")
    assert pn.stub("star = 1\nprint(star)") == f"todo({json.dumps(pn.WHOLE_CELL_HINT)})"
    kept = pn.stub(FUNCTION, keep=True)
    assert "ab = alpha_bars[ts].unsqueeze(1)" in kept and "SOLUTION" not in kept
    assert pn.stub("star = 1", keep=True) == "star = 1"  # a whole-cell solution, kept


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("# BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n# END SOLUTION", "without"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "do not nest"),
        ("def f():\n    # BEGIN SOLUTION\n    x = 1\n# END SOLUTION", "not indented like"),
        ("# BEGIN SOLUTIONS\nx = 1\n# END SOLUTION", "looks like a marker"),
    ],
)
def test_stub_rejects_broken_markers(source, words):
    with pytest.raises(pn.ConventionError, match=words):
        pn.stub(source)


# --------------------------------------------------------------------------------------------
# The fixture chapter
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def participant():
    return pn.convert(FIXTURE, url=URL)


@pytest.fixture(scope="module")
def solutions():
    return pn.convert(FIXTURE, keep_solutions=True, url=URL)


def test_fixture_participant_has_no_solution(participant):
    _assert_no_solution_code(FIXTURE, participant)
    text = json.dumps(participant)
    assert "SECRET-SOLUTION-TEXT" not in text
    assert "torch.cumprod(alphas, dim=0)" not in text
    stubs = [c for c in participant.cells if pn.EXERCISE_TAG in c.metadata.get("tags", [])]
    assert len(stubs) == 2
    assert stubs[0].source.startswith("def get_diffusion_parameters(beta_min, beta_max, T):")
    assert '"""Linear betas' in stubs[0].source and "todo(" in stubs[0].source
    assert stubs[1].source.startswith('todo("compute alpha_bar_T from your schedule")')
    assert all("solution" not in c.metadata.get("tags", []) for c in participant.cells)


def test_fixture_solutions_variant_keeps_the_code(solutions):
    text = "\n".join(_code(solutions))
    assert "alpha_bars = torch.cumprod(alphas, dim=0)" in text
    assert "BEGIN SOLUTION" not in text and "todo(" not in text.split("import todo")[-1]
    assert "SECRET-SOLUTION-TEXT" in _markdown(solutions)


def test_fixture_myst_becomes_plain_markdown(participant):
    md = _markdown(participant)
    assert not re.search(r"^\s*(```|:::)\{", md, re.M), md  # no directive left
    assert "{math}`" not in md.replace("{math}`not a role here`", "")  # roles converted...
    assert "{math}`not a role here`" in md  # ...but not inside code blocks
    assert "(ch-fixture)=" not in md and "a MyST comment" not in md
    assert "$\\bar\\alpha_t$" in md
    assert "> **Note**" in md
    assert "**Exercise: The schedule**" in md
    assert "Write `get_diffusion_parameters(beta_min, beta_max, T)`" in md
    assert "**Exercise: A second, non-gated exercise**" in md
    assert "A glued table's caption, kept as text." in md  # a directive's caption: its text
    assert "$$ (eq-forward)" not in md and "$$\nx_t" in md
    assert "to the forward process," in md  # {ref}`text <label>` -> text
    assert "`fixture-T`" in md  # glued number without a build: its name


def test_fixture_glued_numbers_and_titles():
    glue = {"fixture-T": {"data": {"text/plain": "5"}}}
    titles = {"fig-fixture": "Fig. 1.2", "eq-forward": "1.1", "ex-fixture-schedule": "Exercise 1.1"}
    md = _markdown(pn.convert(FIXTURE, glue=glue, titles=titles))
    assert "a glued number 5." in md and "refers to Fig. 1.2," in md
    assert "**Exercise 1.1: The schedule**" in md  # numbered as on the site
    assert "to (1.1) and" in md and "\\tag{1.1} $$" in md  # equations numbered as on the site

    def text(role: str, value: str) -> str:  # a role rendered with one glued value
        return pn._Markdown(False, {"x": {"data": {"text/plain": value}}}, {}).markdown(role)

    assert text("{glue:text}`x:.2f`", "0.2796725034713745") == "0.28"
    assert text("{glue:text}`x:d`", "142") == "142"
    assert text("{glue:text}`x`", "'text'") == "text"


def test_glued_table_in_a_table_directive_keeps_its_caption_and_rows():
    source = ("::::{table} Results of {glue:text}`n` runs.\n:name: tab-x\n\n"
              "```{glue:md} tab-x-md\n:format: myst\n```\n::::\n")
    glue = {"n": {"data": {"text/plain": "3"}},
            "tab-x-md": {"data": {"text/markdown": "| | a |\n| :-- | --: |\n| v3 | 0.1 |"}}}
    md = pn._Markdown(False, glue, {"tab-x": "Table 2.1"}).markdown(source)
    assert md.startswith("*Table 2.1. Results of 3 runs.*")
    assert "| v3 | 0.1 |" in md
    # a key this build did not glue shows as its name, never as nothing
    assert "`tab-x-md`" in pn._Markdown(False, {}, {}).markdown(source)


FIGURE_CELL = """```{code-cell} ipython3
---
mystnb:
  figure:
    caption: |
      Samples at {glue:text}`n` steps, over the data
      ($x_0$, grey).
    name: fig-x
---
print("a figure")
```"""


def test_figure_captions_follow_their_cells_numbered_as_on_the_site(tmp_path):
    """myst-nb keeps a figure's caption in the cell's metadata: the notebook shows it as Markdown
    right after the cell, numbered as on the site, in both variants (solutions or not)."""
    chapter = tmp_path / "figs.md"
    body = FIGURE_CELL + "\n\nText.\n\n" + START + FIGURE_CELL + END
    chapter.write_text(CHAPTER.format(body=body))
    glue, titles = {"n": {"data": {"text/plain": "50"}}}, {"fig-x": "Fig. 2.1"}
    nb = pn.convert(chapter, glue=glue, titles=titles)
    sources = [(c.cell_type, c.source) for c in nb.cells[2:]]  # after the set-up and title
    caption = "*Fig. 2.1* Samples at 50 steps, over the data ($x_0$, grey)."
    assert sources[0] == ("code", 'print("a figure")')
    assert sources[1] == ("markdown", caption)  # one line, right after its cell
    assert sources[2] == ("markdown", "Text.")
    assert sources[3][0] == "code" and "todo(" in sources[3][1]  # a solution's figure: stubbed,
    assert sources[4] == ("markdown", caption)  # its caption kept (what the cell will draw)
    solutions = pn.convert(chapter, keep_solutions=True, glue=glue, titles=titles)
    assert len(solutions.cells) == len(nb.cells)
    assert [c.source for c in solutions.cells if c.cell_type == "markdown"].count(caption) == 2
    # outside a build (no numbers, no glue): the caption alone, the glued key by name
    plain = [c.source for c in pn.convert(chapter).cells if c.cell_type == "markdown"]
    assert "Samples at `n` steps, over the data ($x_0$, grey)." in plain


def test_fixture_setup_cell(participant):
    setup = participant.cells[0]
    assert setup.cell_type == "code" and setup.metadata["tags"] == [pn.SETUP_TAG]
    assert f'"git+{URL}"' in setup.source
    assert 'find_spec("diffusion2d") is None' in setup.source
    assert "from diffusion2d.exercises import todo" in setup.source
    assert "myst_nb" in setup.source  # the chapter glues numbers: a stand-in outside the book
    compile(setup.source, "<setup>", "exec")
    pinned = pn.convert(FIXTURE, url=URL, ref="0123abc")
    assert f'"git+{URL}@0123abc"' in pinned.cells[0].source


def test_fixture_notebook_is_valid_and_deterministic(participant):
    nbformat.validate(participant)
    again = pn.convert(FIXTURE, url=URL)
    assert nbformat.writes(again) == nbformat.writes(participant)
    assert participant.metadata["kernelspec"]["name"] == "python3"
    assert "jupytext" not in participant.metadata
    for cell in participant.cells:
        compile(cell.source, "<cell>", "exec") if cell.cell_type == "code" else None


CHAPTER = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---

# T

{body}
"""
MARKED = "```{code-cell} ipython3\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n```"
START, END = "```{solution-start} ex\n```\n\n", "\n\n```{solution-end}\n```"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (MARKED, "outside"),  # the site would show it: markers only inside solutions
        (START + MARKED, "never closed"),
        ("```{code-cell} ipython3\nx = 1\n```" + END, "without"),
    ],
)
def test_convention_violations_are_errors(tmp_path, body, words):
    chapter = tmp_path / "bad.md"
    chapter.write_text(CHAPTER.format(body=body))
    with pytest.raises(pn.ConventionError, match=words):
        pn.convert(chapter)


def test_solutions_are_marked_one_way(tmp_path):
    """Code between {solution-start} and {solution-end} is the solution: without markers the whole
    cell becomes one stub; a chapter without solution code has no notebook."""
    chapter = tmp_path / "whole.md"
    chapter.write_text(CHAPTER.format(body=START + "```{code-cell} ipython3\nx = 1\n```" + END))
    stub = [c for c in pn.convert(chapter).cells if pn.EXERCISE_TAG in c.metadata.get("tags", [])]
    assert [c.source for c in stub] == [f"todo({json.dumps(pn.WHOLE_CELL_HINT)})"]
    (tmp_path / "plain.md").write_text(CHAPTER.format(body="```{code-cell} ipython3\nx = 1\n```"))
    assert pn.convert(tmp_path / "plain.md") is None
    (tmp_path / "text.md").write_text(CHAPTER.format(body=START + "In words." + END))
    assert pn.convert(tmp_path / "text.md") is None


# --------------------------------------------------------------------------------------------
# The extension in a build: writing the notebooks, links, the box, markers hidden on the site
# --------------------------------------------------------------------------------------------


def _fake_build(outdir: Path, docs: dict[str, Path]):
    """(app, env) with just what the extension reads from Sphinx."""
    env = SimpleNamespace(
        found_docs=set(docs),
        doc2path=lambda docname: str(docs[docname]),
        mystnb_config=SimpleNamespace(output_folder=str(outdir.parent / "jupyter_execute")),
        titles={},
        toc_fignumbers={},
        domaindata={
            "std": {"labels": {}, "anonlabels": {}},
            "math": {"objects": {}},
            "cite": {"citations": []},
        },
    )
    config = SimpleNamespace(html_theme_options={"repository_url": URL}, numfig_format={})
    return SimpleNamespace(outdir=str(outdir), config=config), env


def test_extension_writes_the_notebooks_with_this_builds_glue(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_SHA", raising=False)
    bad = tmp_path / "bad.md"
    bad.write_text(CHAPTER.format(body=START + MARKED))  # never closed
    docs = {"chapters/exercise_chapter": FIXTURE, "chapters/bad": bad}
    app, env = _fake_build(tmp_path / "html", docs)
    glue = tmp_path / "jupyter_execute" / "chapters" / "exercise_chapter.glue.json"
    glue.parent.mkdir(parents=True)
    glue.write_text(json.dumps({"fixture-T": {"data": {"text/plain": "5"}, "metadata": {}}}))
    warnings = []
    monkeypatch.setattr(pn.logger, "warning", lambda message, **kw: warnings.append(message))
    pn._write_notebooks(app, env)
    written = tmp_path / "html" / "notebooks" / "exercise_chapter.ipynb"
    assert list(app.participant_notebooks) == ["chapters/exercise_chapter"]  # its page gets a box
    notebook = nbformat.read(written, as_version=4)
    assert "a glued number 5." in _markdown(notebook)  # this build's value, not the name
    assert f'"git+{URL}"' in notebook.cells[0].source
    assert len(warnings) == 1 and "bad.md" in warnings[0] and "never closed" in warnings[0]
    before = written.stat().st_mtime_ns
    pn._write_notebooks(app, env)
    assert written.stat().st_mtime_ns == before  # unchanged: untouched
    monkeypatch.setenv("GITHUB_SHA", "cafe12")  # in GitHub Actions: the commit being built
    pn._write_notebooks(app, env)
    assert f'"git+{URL}@cafe12"' in nbformat.read(written, as_version=4).cells[0].source


def _page_with_box(
    tmp_path: Path, docname: str, chapter: Path = FIXTURE, sections=("Overview", "Exercises")
) -> nodes.section:
    """A page (a title and ``sections``) as the extension leaves it once it has written the
    notebook of ``chapter`` for the page ``docname``."""
    app, env = _fake_build(tmp_path / "html", {docname: chapter})
    pn._write_notebooks(app, env)
    page = nodes.section("", nodes.title(text="A chapter"), nodes.paragraph(text="Prose."))
    for title in sections:
        page += nodes.section("", nodes.title(text=title), nodes.paragraph(text="Text."))
    doc = nodes.document(None, None)
    doc += page
    pn._inject_box(app, doc, docname)
    return page


def _boxes(page: nodes.section) -> list[nodes.Element]:
    return [n for n in page.findall(nodes.admonition) if "workshop-notebook" in n["classes"]]


def test_extension_box_links_the_download_colab_and_binder(tmp_path):
    page = _page_with_box(tmp_path, "chapters/02_forward")
    box = page[-1][1]  # in the Exercises section, right after its title
    assert _boxes(page) == [box] and box["classes"] == ["tip", "workshop-notebook"]
    assert box[0].astext() == "Workshop notebook"
    html = box[1].astext()
    assert 'href="../notebooks/02_forward.ipynb"' in html and 'download="02_forward.ipynb"' in html
    assert (
        'href="https://colab.research.google.com/github/diffusion2d/diffusion-from-scratch/blob/'
        'notebooks/02_forward.ipynb"'
    ) in html
    assert (
        'href="https://mybinder.org/v2/gh/diffusion2d/diffusion-from-scratch/notebooks'
        '?labpath=02_forward.ipynb"'
    ) in html
    plain = tmp_path / "plain.md"
    plain.write_text(CHAPTER.format(body="```{code-cell} ipython3\nx = 1\n```"))
    assert _boxes(_page_with_box(tmp_path / "intro", "intro", plain)) == []  # no notebook, no box
    page = _page_with_box(tmp_path / "other", "chapters/02_forward", sections=["Overview"])
    assert _boxes(page) == [page[1]]  # no Exercises section: right after the page's title


def test_extension_box_names_checks_only_where_the_chapter_has_them(tmp_path):
    box = _boxes(_page_with_box(tmp_path / "a", "chapters/02_forward"))[0]
    assert "checks your function" in box.astext()
    chapter = tmp_path / "09_memorisation.md"  # solution code, no check_* call
    chapter.write_text(CHAPTER.format(body=START + "```{code-cell} ipython3\nx = 1\n```" + END))
    box = _boxes(_page_with_box(tmp_path / "b", "chapters/09_memorisation", chapter))[0]
    assert "checks your function" not in box.astext()
    assert "compare your result with the solution on this page" in box.astext()


def test_extension_is_registered_in_the_book_config():
    """One extension for the workshop edition; its links use the repository of _config.yml
    (Jupyter Book passes repository.url to the theme as repository_url)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    extensions = config["sphinx"]["local_extensions"]
    assert extensions["participant_notebooks"] == "book/_ext"
    assert "solution_markers" not in extensions
    assert config["repository"]["url"].rstrip("/").startswith("https://github.com/")


def test_extension_imports_neither_torch_nor_the_package():
    """Build tooling lives outside the package: loading the extension loads no diffusion2d."""
    script = (
        f"import sys; sys.path.insert(0, {str(BOOK / '_ext')!r}); import participant_notebooks\n"
        "sys.exit(any(m in sys.modules for m in ('torch', 'diffusion2d')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr or "torch or diffusion2d was imported"


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


def _code_cell(source: str) -> nodes.container:
    """A code cell as myst-nb puts it in the doctree: cell > cell_code_source > literal_block."""
    block = nodes.literal_block(source, source, language="ipython3")
    inner = nodes.container("", block, classes=["cell_input"], nb_element="cell_code_source")
    output = nodes.container(
        "", nodes.literal_block("# BEGIN SOLUTION", "# BEGIN SOLUTION"),
        classes=["cell_output"], nb_element="cell_code_output",
    )  # fmt: skip
    return nodes.container("", inner, output, classes=["cell"], nb_element="cell_code")


def _on_the_site(source: str) -> str:
    """``source`` as the site shows it in a solution."""
    doc = nodes.document(None, None)
    doc += solution_node("", _code_cell(source))
    pn.strip_markers(doc)
    return next(doc.findall(nodes.literal_block)).astext()


def test_the_site_shows_solutions_without_markers():
    assert _on_the_site(SOURCE) == EXPECTED
    assert _on_the_site("x = 1\n# END SOLUTION\ny = 2\n") == "x = 1\ny = 2\n"
    # a comment that merely mentions the markers is kept
    text = "# the BEGIN SOLUTION line is removed\n"
    assert _on_the_site(text) == text


def test_only_solution_cells_lose_their_markers():
    doc = nodes.document(None, None)
    solution, other = _code_cell(SOURCE), _code_cell(SOURCE)
    doc += [solution_node("", solution), other]
    assert pn.strip_markers(doc) == 1
    sources = [
        block.astext()
        for cell in (solution, other)
        for block in cell.children[0].findall(nodes.literal_block)
    ]
    assert sources == [EXPECTED, SOURCE]  # only the solution cell changes
    assert solution.children[0].children[0]["language"] == "ipython3"  # attributes kept
    # outputs are never touched
    assert solution.children[1].astext() == "# BEGIN SOLUTION"
    assert pn.strip_markers(doc) == 0  # idempotent


# --------------------------------------------------------------------------------------------
# The book's own chapters
# --------------------------------------------------------------------------------------------

BOOK_CHAPTERS = [  # the pages with solution code (folders _ext, _static: not pages)
    path
    for path in sorted(BOOK.rglob("*.md"))
    if not path.relative_to(BOOK).parts[0].startswith("_")
    and "{solution-start}" in path.read_text(encoding="utf-8")
    and pn.convert(path) is not None
]


def test_the_book_has_exercise_chapters():
    assert BOOK_CHAPTERS, "no chapter under book/ has solution code"


@pytest.mark.parametrize("chapter", BOOK_CHAPTERS, ids=lambda p: p.stem)
def test_book_chapter_converts_without_solution_code(chapter):
    participant = pn.convert(chapter)
    _assert_no_solution_code(chapter, participant)
    solutions = pn.convert(chapter, keep_solutions=True)
    assert len(participant.cells) == len(solutions.cells)
    md = _markdown(participant)
    assert not re.search(r"^\s*(```+|:::+)\{(solution|exercise)", md, re.M)


@pytest.mark.parametrize("chapter", BOOK_CHAPTERS, ids=lambda p: p.stem)
def test_book_figures_keep_their_captions(chapter):
    """Every captioned figure cell of the chapter is followed by its caption in the notebook."""
    nb = pn.convert(chapter)
    for i, cell in enumerate(nb.cells):
        figure = cell.metadata.get("mystnb", {}).get("figure") or {}
        if cell.cell_type == "code" and figure.get("caption"):
            after = nb.cells[i + 1]
            first = " ".join(figure["caption"].split())[:30].split("{")[0].split("$")[0]
            assert after.cell_type == "markdown" and after.source.startswith(first), (i, first)


# "the solution below": a participant notebook has no solutions, so its prose must not point at one
DANGLING = re.compile(r"\bsolution (?:below|above)\b|\b(?:with|after) the solution\b"
                      r"(?!\s+on\s+this\s+chapter's\s+page)", re.I)


@pytest.mark.parametrize("chapter", BOOK_CHAPTERS, ids=lambda p: p.stem)
def test_book_notebooks_point_at_no_solution_they_lack(chapter):
    text = "\n".join(c.source for c in pn.convert(chapter).cells)
    assert not DANGLING.search(text), [m.group(0) for m in DANGLING.finditer(text)]


def test_workshop_exercises_have_their_checks():
    """Each workshop function exercise is followed by its check (the convention)."""
    found = {}
    for chapter in BOOK_CHAPTERS:
        nb = pn.convert(chapter)
        for i, cell in enumerate(nb.cells):
            match = re.search(r"check_(\w+)\((\w+)\)", cell.source)
            if cell.cell_type == "code" and match:
                found[match[1]] = chapter.stem
                previous = [c for c in nb.cells[:i] if c.cell_type == "code"][-1]
                assert pn.EXERCISE_TAG in previous.metadata.get("tags", []), (chapter, i)
                assert f"def {match[2]}(" in previous.source
    assert set(found) <= {"get_diffusion_parameters", "get_loss", "sample", "trajectory_step",
                          "score_and_x0", "heun_step", "rescale_zero_terminal_snr",
                          "convert", "flow_loss",
                          "euler_log_det", "guided_eps"}


@pytest.mark.build
def test_built_site_serves_the_notebooks(request):
    _requires_marker(request, "build")  # after the build: pytest -m build tests/test_notebooks.py
    site = Path(os.environ.get("SITE_DIR", ROOT / "_build" / "html"))
    if not (site / "index.html").is_file():
        pytest.skip(
            f"site not built: no {site}/index.html (build it: jupyter-book build book/ -W -n "
            "--keep-going; or set SITE_DIR to a built site)"
        )
    served = sorted(p.name for p in (site / "notebooks").glob("*.ipynb"))
    assert served == sorted(f"{chapter.stem}.ipynb" for chapter in BOOK_CHAPTERS)
    for chapter in BOOK_CHAPTERS:
        notebook = site / "notebooks" / f"{chapter.stem}.ipynb"
        nb = nbformat.read(notebook, as_version=4)
        _assert_no_solution_code(chapter, nb)
        # the glued values are this build's (Colab and Binder publish these very files): a key
        # in code font appears only where the prose writes it, as with every value filled in
        glued = re.findall(r"\{glue(?::\w+)?\}`([^`:]+)", chapter.read_text(encoding="utf-8"))
        filled = {key: {"data": {"text/plain": "0", "text/markdown": "0"}} for key in glued}
        written = _markdown(pn.convert(chapter, glue=filled))
        unfilled = [
            k for k in set(glued) if _markdown(nb).count(f"`{k}`") > written.count(f"`{k}`")
        ]
        assert not unfilled, f"{notebook.name}: glued values missing: {unfilled}"
        cited = re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", chapter.read_text(encoding="utf-8"))
        keys = [key.strip() for keys in cited for key in keys.split(",")]
        assert not [key for key in keys if key in _markdown(nb)], "citation keys, not labels"
        page = (site / chapter.relative_to(BOOK).with_suffix(".html")).read_text()
        assert f"notebooks/{notebook.name}" in page and "colab.research.google.com" in page
        # numbered as on the site (a fresh build numbers figures only after reading every page)
        for label in re.findall(r"\{numref\}`(?:[^`<]*<)?([^`<>]+)>?`", chapter.read_text()):
            shown = re.search(rf'href="[^"]*#{label}"><span class="std std-numref">([^<]+)<', page)
            assert shown and shown.group(1) in _markdown(nb), f"{notebook.name}: {label} unnumbered"
        # every figure's caption, with the site's number
        figures = re.findall(r'<span class="caption-number">(Fig\. [\d.]+) </span>', page)
        numbered = re.findall(r"^\*(Fig\. [\d.]+)\* ", _markdown(nb), re.M)
        assert figures == numbered, f"{notebook.name}: figure captions {numbered} != {figures}"
        assert "BEGIN SOLUTION" not in page and "END SOLUTION" not in page


# --------------------------------------------------------------------------------------------
# Executing notebooks (marked: pytest -m notebooks)
# --------------------------------------------------------------------------------------------


KERNEL_STARTS = 3  # attempts to start a kernel
KERNEL_START_ERRORS = ("Kernel died before replying", "Kernel didn't respond")  # jupyter_client


def _execute(nb, cwd: Path, timeout: int = 600):
    """Run ``nb`` in a kernel; return (index of the failing cell or None, the error). A kernel
    that dies or hangs while it starts, before any cell ran (two kernels started at once can race
    for a TCP port), is replaced by a new one, up to ``KERNEL_STARTS`` times; a cell's failure is
    never retried."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    for attempt in range(1, KERNEL_STARTS + 1):
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
        )
        try:
            client.execute()
            return None, None
        except CellExecutionError as err:
            for index, cell in enumerate(nb.cells):
                if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                    return index, err
            return -1, err
        except RuntimeError as err:
            started = any(c.get("outputs") or c.get("execution_count") for c in nb.cells
                          if c.cell_type == "code")
            if started or not str(err).startswith(KERNEL_START_ERRORS) or attempt == KERNEL_STARTS:
                raise


class _FlakyStarts:
    """A stand-in for nbclient.NotebookClient whose first ``failures`` kernels die at start."""

    def __init__(self, failures: int, error: str = "Kernel died before replying to kernel_info"):
        self.failures, self.error, self.starts = failures, error, 0

    def __call__(self, nb, **kwargs):
        outer = self

        class Client:
            def execute(self):
                outer.starts += 1
                if outer.starts <= outer.failures:
                    raise RuntimeError(outer.error)
                nb.cells[0]["execution_count"] = 1

        return Client()


@pytest.mark.parametrize("failures, starts, ok", [(0, 1, True), (2, 3, True), (3, 3, False)])
def test_execute_starts_a_new_kernel_when_one_dies_at_start(monkeypatch, tmp_path, failures,
                                                             starts, ok):
    import nbclient

    fake = _FlakyStarts(failures)
    monkeypatch.setattr(nbclient, "NotebookClient", fake)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    if ok:
        assert _execute(nb, tmp_path) == (None, None)
    else:
        with pytest.raises(RuntimeError, match="Kernel died"):
            _execute(nb, tmp_path)
    assert fake.starts == starts


def test_execute_does_not_retry_other_errors_or_a_started_notebook(monkeypatch, tmp_path):
    import nbclient

    fake = _FlakyStarts(1, error="something else")
    monkeypatch.setattr(nbclient, "NotebookClient", fake)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])
    with pytest.raises(RuntimeError, match="something else"):
        _execute(nb, tmp_path)
    fake = _FlakyStarts(1)  # a cell had already run: the kernel died mid-notebook
    monkeypatch.setattr(nbclient, "NotebookClient", fake)
    nb.cells[0]["execution_count"] = 1
    with pytest.raises(RuntimeError, match="Kernel died"):
        _execute(nb, tmp_path)
    assert fake.starts == 1


def _outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(str(v) for v in (output.get("data") or {}).values())
        parts.append(output.get("evalue", ""))
    return "\n".join(parts)


def _first_exercise(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if pn.EXERCISE_TAG in c.metadata.get("tags", []))


CHECK_CALL = re.compile(
    r"\bcheck_(get_diffusion_parameters|get_loss|sample|trajectory_step|score_and_x0|heun_step"
    r"|rescale_zero_terminal_snr|convert|flow_loss|euler_log_det|guided_eps)\("
)


def _check_stops_at_first_todo(nb, cwd: Path, whole: bool = False) -> str:
    """Run the set-up cell, the first exercise and its check (``whole``: every cell up to them):
    execution stops at the first todo(), raised by the stub itself or by its check."""
    first = _first_exercise(nb)
    check = next(
        (
            i
            for i in range(first + 1, min(first + 3, len(nb.cells)))
            if nb.cells[i].cell_type == "code" and CHECK_CALL.search(nb.cells[i].source)
        ),
        first,
    )
    if whole:
        nb.cells = nb.cells[: check + 1]
    else:  # the other cells are the same with the solutions, executed in full below
        nb.cells = [nb.cells[0], *nb.cells[first : check + 1]]
        first, check = 1, check - first + 1
    index, err = _execute(nb, cwd)
    assert index is not None, "the participant notebook ran past its first exercise"
    assert "NotImplementedYet" in str(err) and "not implemented yet" in str(err)
    if index == first:  # a top-level stub raised
        return "raised"
    # a function stub: defining it works, its check stops the notebook with the clear error
    assert index == check, f"cell {index} failed, not the first exercise or its check: {err}"
    return "check"


@pytest.fixture
def kernel_env(monkeypatch):
    from diffusion2d.cache import cache_dir

    monkeypatch.setenv("DIFFUSION2D_CACHE", str(cache_dir()))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # one thread per kernel, as the build gives them: test workers run kernels side by side
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        monkeypatch.setenv(name, "1")


@pytest.mark.notebooks
def test_fixture_participant_stops_at_first_todo(request, tmp_path, kernel_env):
    _requires_marker(request, "notebooks")
    nb = pn.convert(FIXTURE, url=URL)
    assert _check_stops_at_first_todo(nb, tmp_path, whole=True) == "check"
    # "Run all" stops there: nothing after the first unfinished exercise runs
    nb = pn.convert(FIXTURE, url=URL)
    index, err = _execute(nb, tmp_path)
    assert index is not None and index < len(nb.cells) - 1 and "NotImplementedYet" in str(err)
    # a whole-cell stub (the second exercise) raises the clear error by itself
    nb = pn.convert(FIXTURE, url=URL)
    nb.cells = [nb.cells[0], nb.cells[-1]]
    index, err = _execute(nb, tmp_path)
    assert index == 1
    assert "not implemented yet: compute alpha_bar_T from your schedule" in str(err)


@pytest.mark.notebooks
def test_fixture_solutions_run_top_to_bottom(request, tmp_path, kernel_env):
    _requires_marker(request, "notebooks")
    nb = pn.convert(FIXTURE, keep_solutions=True, url=URL)
    index, err = _execute(nb, tmp_path)
    assert index is None, err
    assert "passed" in "\n".join(_outputs_text(c) for c in nb.cells)


@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", BOOK_CHAPTERS, ids=lambda p: p.stem)
def test_book_participant_notebook_stops_at_first_todo(request, tmp_path, kernel_env, chapter):
    _requires_marker(request, "notebooks")
    _check_stops_at_first_todo(pn.convert(chapter), tmp_path)


@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", BOOK_CHAPTERS, ids=lambda p: p.stem)
def test_book_solutions_notebook_runs_and_passes_its_checks(request, tmp_path, kernel_env, chapter):
    _requires_marker(request, "notebooks")
    nb = pn.convert(chapter, keep_solutions=True)
    index, err = _execute(nb, tmp_path)
    assert index is None, f"cell {index}: {err}"
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_CALL.search(cell.source):
            verdict = _outputs_text(cell)
            assert "passed" in verdict and "failed" not in verdict, verdict
