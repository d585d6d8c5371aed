"""Participant notebooks (diffusion2d.notebooks), the book extension that links them, and the
workflow that publishes them.

Fast by default. Two groups are skipped unless selected with -m:

- ``notebooks``: start Jupyter kernels and execute the fixture and the book's exercise chapters
  (participant and solutions variants; uses the model cache in _build/model_cache). A separate,
  slower step:  pytest -m notebooks tests/test_notebooks.py
- ``build``: check the built site (its notebooks and links), after jupyter-book build:
  pytest -m build tests/test_notebooks.py   (SITE_DIR overrides _build/html)
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from diffusion2d import notebooks as nbc

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE = FIXTURES / "exercise_chapter.md"
URL = "https://github.com/diffusion2d/diffusion-from-scratch"


def _requires_marker(request: pytest.FixtureRequest, marker: str) -> None:
    """Skip unless the run selected this marker (pytest -m notebooks)."""
    if marker not in (request.config.getoption("markexpr") or ""):
        pytest.skip(f"selected only with  pytest -m {marker}")


def _code(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _solution_regions(path: Path) -> tuple[list[str], set[str]]:
    """Lines inside solution regions (whole solution cells without markers count entirely) and
    the set of lines of every other code cell of the chapter."""
    source = nbc._read(path)
    inside: list[str] = []
    outside: set[str] = set()
    for cell in source.cells:
        if cell.cell_type != "code":
            continue
        lines = cell.source.split("\n")
        if "solution" not in nbc._tags(cell):
            outside.update(line.strip() for line in lines)
            continue
        if not any(nbc._BEGIN_RE.match(line) for line in lines):
            inside += [line.strip() for line in lines]
            continue
        open_ = False
        for line in lines:
            if nbc._BEGIN_RE.match(line):
                open_ = True
            elif nbc._END_RE.match(line):
                open_ = False
            elif open_:
                inside.append(line.strip())
            else:
                outside.add(line.strip())
    return [line for line in inside if line and not line.startswith("#")], outside


def _assert_no_solution_code(path: Path, nb) -> None:
    inside, outside = _solution_regions(path)
    code_lines = {line.strip() for src in _code(nb) for line in src.split("\n")}
    leaked = [line for line in inside if line not in outside and line in code_lines]
    assert not leaked, f"{path.name}: solution lines in the participant notebook: {leaked}"
    assert not any(nbc._ANY_MARKER_RE.search(src) for src in _code(nb))


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
    stub = nbc.stub_solutions(FUNCTION)
    assert stub.split("\n") == [
        "def get_loss(model, x0s, eps, alpha_bars, ts):",
        '    """The docstring stays."""',
        '    todo("write the body of get_loss() in place of this todo(...) line")',
    ]
    compile(stub, "<stub>", "exec")


def test_stub_hint_nesting_and_whole_cells():
    source = "def f():\n    if True:\n        # BEGIN SOLUTION: use torch.cumprod\n        x = 1\n"
    source += "        # END SOLUTION\n    return 2"
    stub = nbc.stub_solutions(source)
    assert '        todo("use torch.cumprod")' in stub and "x = 1" not in stub
    compile(stub, "<stub>", "exec")
    assert nbc.stub_solutions("star = 1\nprint(star)") == f"todo({json.dumps(nbc.WHOLE_CELL_HINT)})"
    kept = nbc.stub_solutions(FUNCTION, keep=True)
    assert "ab = alpha_bars[ts].unsqueeze(1)" in kept and "SOLUTION" not in kept


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
    with pytest.raises(nbc.ConversionError, match=words):
        nbc.stub_solutions(source)


# --------------------------------------------------------------------------------------------
# The fixture chapter
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def participant():
    return nbc.convert_chapter(FIXTURE, "participant", repository_url=URL)


@pytest.fixture(scope="module")
def solutions():
    return nbc.convert_chapter(FIXTURE, "solutions", repository_url=URL)


def test_fixture_participant_has_no_solution(participant):
    _assert_no_solution_code(FIXTURE, participant)
    text = json.dumps(participant)
    assert "SECRET-SOLUTION-TEXT" not in text
    assert "torch.cumprod(alphas, dim=0)" not in text
    stubs = [c for c in participant.cells if "exercise" in c.metadata.get("tags", [])]
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
    assert "| quantity | value |" in md
    assert "$$ (eq-forward)" not in md and "$$\nx_t" in md
    assert "to the forward process," in md  # {ref}`text <label>` -> text
    assert "`fixture-T`" in md  # glued number without a build: its name


def test_fixture_glued_numbers_and_titles():
    nb = nbc.convert_chapter(FIXTURE, glue_values={"fixture-T": "5"}, labels={"fig-fixture": "F"})
    md = _markdown(nb)
    assert "a glued number 5." in md and "refers to F," in md
    assert nbc.format_glue("0.2796725034713745", ".2f") == "0.28"
    assert nbc.format_glue("142", "d") == "142"
    assert nbc.format_glue("'text'", "") == "text"


def test_fixture_setup_cell(participant):
    setup = participant.cells[0]
    assert setup.cell_type == "code" and setup.metadata["tags"] == [nbc.SETUP_TAG]
    assert f'"git+{URL}"' in setup.source
    assert 'find_spec("diffusion2d") is None' in setup.source
    assert "from diffusion2d.exercises import todo" in setup.source
    assert "myst_nb" in setup.source  # the chapter glues numbers: a stand-in outside the book
    compile(setup.source, "<setup>", "exec")
    pinned = nbc.convert_chapter(FIXTURE, repository_url=URL, ref="0123abc")
    assert f'"git+{URL}@0123abc"' in pinned.cells[0].source


def test_fixture_notebook_is_valid_and_deterministic(participant):
    nbformat.validate(participant)
    again = nbc.convert_chapter(FIXTURE, "participant", repository_url=URL)
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
SOLUTION_CELL = (
    "```{code-cell} ipython3\n:tags: [solution]\n\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n```"
)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (SOLUTION_CELL, "outside"),
        (
            "```{solution-start} ex\n```\n\n```{code-cell} ipython3\nx = 1\n```\n\n"
            "```{solution-end}\n```",
            "must be tagged",
        ),
        ("```{code-cell} ipython3\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n```", "not tagged"),
        (f"```{{solution-start}} ex\n```\n\n{SOLUTION_CELL}\n", "never closed"),
    ],
)
def test_convention_violations_are_errors(tmp_path, body, words):
    chapter = tmp_path / "bad.md"
    chapter.write_text(CHAPTER.format(body=body))
    with pytest.raises(nbc.ConversionError, match=words):
        nbc.convert_chapter(chapter)


def test_chapter_discovery(tmp_path):
    assert nbc.exercise_chapters(FIXTURES) == [FIXTURE]
    (tmp_path / "plain.md").write_text(CHAPTER.format(body="```{code-cell} ipython3\nx = 1\n```"))
    (tmp_path / "_hidden").mkdir()
    (tmp_path / "_hidden" / "x.md").write_text(FIXTURE.read_text())
    assert nbc.exercise_chapters(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Command line, Binder files, launch links
# --------------------------------------------------------------------------------------------


def test_cli_writes_both_variants_and_binder_files(tmp_path, capsys):
    out = tmp_path / "out"
    code = nbc.main(
        [str(FIXTURES), str(out), "--variant", "both", "--binder", "--ref", "cafe12",
         "--repository-url", URL]
    )  # fmt: skip
    assert code == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "README.md",
        "exercise_chapter.ipynb",
        "exercise_chapter.solutions.ipynb",
        "requirements.txt",
        "runtime.txt",
    ]
    requirements = (out / "requirements.txt").read_text()
    assert f"diffusion2d @ git+{URL}@cafe12" in requirements
    assert "download.pytorch.org/whl/cpu" in requirements
    readme = (out / "README.md").read_text()
    assert "exercise_chapter.ipynb" in readme and "colab.research.google.com" in readme
    assert "solutions" not in readme
    assert str(out / "exercise_chapter.ipynb") in capsys.readouterr().out
    before = (out / "exercise_chapter.ipynb").stat().st_mtime_ns
    nbc.main([str(FIXTURES), str(out), "--ref", "cafe12", "--repository-url", URL])
    assert (out / "exercise_chapter.ipynb").stat().st_mtime_ns == before  # unchanged: untouched


def test_cli_errors(tmp_path, capsys):
    assert nbc.main([str(tmp_path), str(tmp_path / "out")]) == 1
    assert "no chapter" in capsys.readouterr().err


def test_launch_urls():
    links = nbc.launch_urls(URL, "02_forward.ipynb")
    assert links["colab"] == (
        "https://colab.research.google.com/github/diffusion2d/diffusion-from-scratch/blob/"
        "notebooks/02_forward.ipynb"
    )
    assert links["binder"] == (
        "https://mybinder.org/v2/gh/diffusion2d/diffusion-from-scratch/notebooks"
        "?labpath=02_forward.ipynb"
    )


def test_repository_url_comes_from_the_book_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert nbc.config_repository_url(BOOK) == config["repository"]["url"].rstrip("/")


def test_converter_runs_without_the_package(tmp_path):
    """The workflow runs src/diffusion2d/notebooks.py with only jupytext: no torch import."""
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('m', {str(ROOT / 'src/diffusion2d/notebooks.py')!r})\n"  # noqa: E501
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)\n"
        f"sys.exit(m.main([{str(FIXTURES)!r}, {str(tmp_path)!r}]) or ('torch' in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "exercise_chapter.ipynb").is_file()


# --------------------------------------------------------------------------------------------
# The book's own chapters
# --------------------------------------------------------------------------------------------

BOOK_CHAPTERS = nbc.exercise_chapters(BOOK)


def test_the_book_has_exercise_chapters():
    assert BOOK_CHAPTERS, "no chapter under book/ has a code cell tagged 'solution'"


@pytest.mark.parametrize("chapter", BOOK_CHAPTERS, ids=lambda p: p.stem)
def test_book_chapter_converts_without_solution_code(chapter):
    participant = nbc.convert_chapter(chapter, "participant")
    _assert_no_solution_code(chapter, participant)
    solutions = nbc.convert_chapter(chapter, "solutions")
    assert len(participant.cells) == len(solutions.cells)
    md = _markdown(participant)
    assert not re.search(r"^\s*(```+|:::+)\{(solution|exercise)", md, re.M)


def test_workshop_exercises_have_their_checks():
    """Each workshop function exercise is followed by its check (the convention)."""
    found = {}
    for chapter in BOOK_CHAPTERS:
        nb = nbc.convert_chapter(chapter, "participant")
        for i, cell in enumerate(nb.cells):
            match = re.search(r"check_(\w+)\((\w+)\)", cell.source)
            if cell.cell_type == "code" and match:
                found[match[1]] = chapter.stem
                previous = [c for c in nb.cells[:i] if c.cell_type == "code"][-1]
                assert "exercise" in previous.metadata.get("tags", []), (chapter, i)
                assert f"def {match[2]}(" in previous.source
    assert set(found) <= {"get_diffusion_parameters", "get_loss", "sample", "trajectory_step"}


# --------------------------------------------------------------------------------------------
# The workflow that publishes the notebooks branch
# --------------------------------------------------------------------------------------------


def _extension():
    spec = importlib.util.spec_from_file_location(
        "participant_notebooks", BOOK / "_ext" / "participant_notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _FakeBuilder:
    format = "html"

    @staticmethod
    def get_target_uri(docname):
        return f"{docname}.html"


class _FakeApp:
    def __init__(self):
        self.builder = _FakeBuilder()
        self.srcdir = str(BOOK)
        self.config = type(
            "C", (), {"html_theme_options": {"repository_url": URL},
                      "participant_notebooks_branch": "notebooks"}
        )()  # fmt: skip
        self.participant_notebooks = {
            "chapters/02_forward": (BOOK / "chapters/02_forward.md", "02_forward.ipynb")
        }
        self.participant_converter = nbc


def test_extension_links_and_box():
    ext = _extension()
    links = ext._links(_FakeApp(), "chapters/02_forward")
    assert links["download"] == "../notebooks/02_forward.ipynb"
    assert links["colab"].endswith("/blob/notebooks/02_forward.ipynb")
    assert ext._links(_FakeApp(), "intro") is None
    html = ext._box(links).astext() + str(ext._box(links))
    assert 'href="../notebooks/02_forward.ipynb"' in html and "Colab" in html


def test_extension_is_registered_in_the_book_config():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["participant_notebooks"] == "book/_ext"


@pytest.mark.build
def test_built_site_serves_the_notebooks(request):
    _requires_marker(request, "build")  # after the build: pytest -m build tests/test_notebooks.py
    site = Path(os.environ.get("SITE_DIR", ROOT / "_build" / "html"))
    if not (site / "index.html").is_file():
        pytest.skip(
            f"site not built: no {site}/index.html (build it: jupyter-book build book/ -W -n "
            "--keep-going; or set SITE_DIR to a built site)"
        )
    for chapter in BOOK_CHAPTERS:
        notebook = site / "notebooks" / nbc.notebook_name(chapter)
        assert notebook.is_file(), notebook
        nb = nbformat.read(notebook, as_version=4)
        _assert_no_solution_code(chapter, nb)
        page = (site / chapter.relative_to(BOOK).with_suffix(".html")).read_text()
        assert f"notebooks/{notebook.name}" in page and "colab.research.google.com" in page


# --------------------------------------------------------------------------------------------
# Executing notebooks (marked: pytest -m notebooks)
# --------------------------------------------------------------------------------------------


def _execute(nb, cwd: Path, timeout: int = 600):
    """Run ``nb`` in a kernel; return (index of the failing cell or None, the error)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    )
    try:
        client.execute()
    except CellExecutionError as err:
        for index, cell in enumerate(nb.cells):
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                return index, err
        return -1, err
    return None, None


def _outputs_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(str(v) for v in (output.get("data") or {}).values())
        parts.append(output.get("evalue", ""))
    return "\n".join(parts)


def _first_exercise(nb) -> int:
    return next(i for i, c in enumerate(nb.cells) if "exercise" in c.metadata.get("tags", []))


CHECK_CALL = re.compile(r"\bcheck_(get_diffusion_parameters|get_loss|sample|trajectory_step)\(")


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
    else:  # the other cells are the same in the solutions variant, executed in full below
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


@pytest.mark.notebooks
def test_fixture_participant_stops_at_first_todo(request, tmp_path, kernel_env):
    _requires_marker(request, "notebooks")
    nb = nbc.convert_chapter(FIXTURE, "participant", repository_url=URL)
    assert _check_stops_at_first_todo(nb, tmp_path, whole=True) == "check"
    # "Run all" stops there: nothing after the first unfinished exercise runs
    nb = nbc.convert_chapter(FIXTURE, "participant", repository_url=URL)
    index, err = _execute(nb, tmp_path)
    assert index is not None and index < len(nb.cells) - 1 and "NotImplementedYet" in str(err)
    # a whole-cell stub (the second exercise) raises the clear error by itself
    nb = nbc.convert_chapter(FIXTURE, "participant", repository_url=URL)
    nb.cells = [nb.cells[0], nb.cells[-1]]
    index, err = _execute(nb, tmp_path)
    assert index == 1
    assert "not implemented yet: compute alpha_bar_T from your schedule" in str(err)


@pytest.mark.notebooks
def test_fixture_solutions_run_top_to_bottom(request, tmp_path, kernel_env):
    _requires_marker(request, "notebooks")
    nb = nbc.convert_chapter(FIXTURE, "solutions", repository_url=URL)
    index, err = _execute(nb, tmp_path)
    assert index is None, err
    assert "passed" in "\n".join(_outputs_text(c) for c in nb.cells)


@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", BOOK_CHAPTERS, ids=lambda p: p.stem)
def test_book_participant_notebook_stops_at_first_todo(request, tmp_path, kernel_env, chapter):
    _requires_marker(request, "notebooks")
    _check_stops_at_first_todo(nbc.convert_chapter(chapter, "participant"), tmp_path)


@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", BOOK_CHAPTERS, ids=lambda p: p.stem)
def test_book_solutions_notebook_runs_and_passes_its_checks(request, tmp_path, kernel_env, chapter):
    _requires_marker(request, "notebooks")
    nb = nbc.convert_chapter(chapter, "solutions")
    index, err = _execute(nb, tmp_path)
    assert index is None, f"cell {index}: {err}"
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_CALL.search(cell.source):
            verdict = _outputs_text(cell)
            assert "passed" in verdict and "failed" not in verdict, verdict


def test_extension_box_names_checks_only_where_the_chapter_has_them():
    ext = _extension()
    app = _FakeApp()
    links = ext._links(app, "chapters/02_forward")
    assert links["checks"] and "checks your function" in str(ext._box(links))
    app.participant_notebooks = {
        "chapters/09_memorisation": (BOOK / "chapters/09_memorisation.md", "09_memorisation.ipynb")
    }
    links = ext._links(app, "chapters/09_memorisation")
    assert not links["checks"] and "checks your function" not in str(ext._box(links))
