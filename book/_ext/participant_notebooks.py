"""Sphinx extension: the workshop's participant notebooks, written by the site build and linked.

Each chapter with solution code becomes ``<html>/notebooks/<chapter>.ipynb``: jupytext reads it,
its code between ``{solution-start}`` and ``{solution-end}`` becomes ``todo()`` stubs (convention:
CONTRIBUTING.md, "Workshop edition"), MyST becomes plain Markdown (a figure's caption, kept in its
cell's metadata, a Markdown cell after it), a first cell installs the package. Its page gets a
box: download, Colab and Binder (the branch ``notebooks``) links."""

import json
import os
import re
from pathlib import Path

import jupytext
import nbformat
from docutils import nodes
from myst_nb.core.variables import format_plain_text
from myst_nb.ext.glue.crossref import read_glue_cache
from sphinx.util import logging
from sphinx_exercise.nodes import solution_node

logger = logging.getLogger(__name__)

EXERCISE_TAG = "exercise"  # the tag of a stubbed cell in the notebook
SETUP_TAG = "workshop-setup"
WHOLE_CELL_HINT = "write your solution to this exercise in place of this todo(...) line"
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:[ \t]*:[ \t]*(?P<hint>.*?))?[ \t]*$")
END = re.compile(r"^(?P<indent>[ \t]*)# END SOLUTION[ \t]*$")
MARKER = re.compile(r"^[ \t]*#[ \t]*(?:BEGIN|END)[ \t_-]*SOLUTION", re.I | re.M)  # and typos
DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")
BLOCK = re.compile(  # a directive, or a plain code block
    r"(?ms)^[ \t]*(?P<fence>`{3,}|~{3,}|:{3,})"
    r"(?:\{(?P<name>[^}\s]+)\}[ \t]*(?P<arg>[^\n]*)|[^\n]*)\n(?P<body>.*?)"
    r"^[ \t]*(?P=fence)[ \t]*$"
)
OPTIONS = re.compile(r"(?:[ \t]*(?::[\w-]+:.*)?\n)*")  # and blank lines, before a body
LABEL = re.compile(r"^[ \t]*:label:[ \t]*(\S*)", re.M)
NAME = re.compile(r"^[ \t]*:name:[ \t]*(\S*)", re.M)  # a table's label
ROLE = re.compile(r"\{(?P<name>[\w:+.-]+)\}`(?P<text>[^`]*)`")
EQUATION_LABEL = re.compile(r"\$\$[ \t]*\((?P<label>[^()\s]+)\)[ \t]*$", re.M)  # $$ (label)
DROPPED_LINES = re.compile(r"^[ \t]*(?:\([^()\s]+\)=|%.*)(?:\n|$)", re.M)  # targets, comments
SETUP = """# Each exercise cell raises 'not implemented yet' until you write your code in place of
# its todo(...) line. This cell installs diffusion2d where it is missing (Colab, Binder).
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("diffusion2d") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "{pip}"])
    importlib.invalidate_caches()
if importlib.util.find_spec("myst_nb") is None:  # outside the book, glue() shows its value
    from IPython.display import display as _show
    sys.modules["myst_nb"] = type(sys)("myst_nb")
    sys.modules["myst_nb"].glue = lambda _, value, display=True: _show(value) if display else None
from diffusion2d.exercises import todo  # noqa: F401 (the exercise stubs call it)"""
BOX = """<p>Do these exercises yourself: <a class="reference download" href="{up}notebooks/{name}"
download="{name}">download the participant notebook <code>{name}</code></a> or open it in
<a class="reference external" href="https://colab.research.google.com/github/{repo}/blob/notebooks/{name}"
>Google Colab</a> or <a class="reference external"
href="https://mybinder.org/v2/gh/{repo}/notebooks?labpath={name}">Binder</a>. Each exercise cell
stops with the message <em>not implemented yet</em> until you write your code in place of its
<code>todo(...)</code> line; {checks}</p>"""
CHECKS = (  # the box's last words, for a chapter without and with check_* functions
    "compare your result with the solution on this page (other exercises: pen and paper).",
    "the cell after it checks your function.",
)


class ConventionError(ValueError):
    """A chapter breaks the solution convention."""


def stub(source: str, keep: bool = False) -> str:
    """A solution cell's code with ``todo()`` stubs (``keep``: the code without its markers)."""
    lines, out, start, regions = source.split("\n"), [], None, 0
    for number, line in enumerate(lines, 1):
        begin, end = BEGIN.match(line), END.match(line)
        problem = (
            (begin and start and "opens a region inside another one (regions do not nest)")
            or (end and not start and "closes a region without its BEGIN")
            or (end and end["indent"] != start[1] and f"is not indented like line {start[0]}")
            or (not (begin or end) and MARKER.match(line) and "looks like a marker but is misspelt")
        )
        if problem:
            raise ConventionError(f"line {number}, {line.strip()!r}, {problem}")
        if begin:
            start, regions = (number, begin["indent"]), regions + 1
            outer = [m for m in map(DEF.match, lines[: number - 1]) if m]
            outer = [m["name"] for m in outer if len(m["indent"]) < len(begin["indent"])]
            where = f"the body of {outer[-1]}()" if outer else "your code"
            hint = begin["hint"] or f"write {where} in place of this todo(...) line"
            out += [] if keep else [f"{begin['indent']}todo({json.dumps(hint)})"]
        elif end:
            start = None
        elif start is None or keep:
            out.append(line)
    if start:
        raise ConventionError(f"'# BEGIN SOLUTION' on line {start[0]} is never closed")
    return "\n".join(out) if regions or keep else f"todo({json.dumps(WHOLE_CELL_HINT)})"


class _Markdown:
    """MyST Markdown -> Markdown that Jupyter renders; remembers whether it is in a solution."""

    def __init__(self, keep_solutions: bool, glue: dict, titles: dict[str, str]):
        self.keep, self.glue, self.titles, self.in_solution = keep_solutions, glue, titles, False

    def markdown(self, source: str) -> str:
        out, end = [], 0  # a block ends at the first bare fence of its kind (MyST's rule)
        for block in BLOCK.finditer(source):
            out += [self.prose(source[end : block.start()]), self.block(block)]
            end = block.end()
        return "".join(out) + self.prose(source[end:])

    def prose(self, text: str) -> str:
        text = "" if self.in_solution and not self.keep else DROPPED_LINES.sub("", text)
        return ROLE.sub(self.role, EQUATION_LABEL.sub(self.tag, text))

    def block(self, block: re.Match) -> str:
        name, arg = block["name"], ROLE.sub(self.role, (block["arg"] or "").strip())
        options = OPTIONS.match(block["body"])[0]
        label = "".join(LABEL.findall(options))
        if name in ("solution-start", "solution-end"):
            if name == "solution-end" and not self.in_solution:
                raise ConventionError("'{solution-end}' without '{solution-start}'")
            self.in_solution = name == "solution-start"
            return "**Solution**\n" if self.keep and self.in_solution else ""
        if name == "exercise-end" or (not self.keep and (self.in_solution or name == "solution")):
            return ""
        if not name:  # a plain code block: verbatim
            return block[0]
        text = self.markdown(block["body"][len(options) :]).rstrip("\n")
        if name in ("exercise", "exercise-start", "solution"):
            kind = "Solution" if name == "solution" else self.title(label, "Exercise")
            return f"**{kind}{': ' + arg if arg else ''}**\n\n{text}\n"
        if name in {"admonition", "note", "tip", "hint", "important", "warning", "caution"}:
            quoted = "\n".join(f"> {line}" if line.strip() else ">" for line in text.split("\n"))
            return f"> **{arg or name.capitalize()}**\n>\n{quoted}\n"
        if name == "table":  # its caption (the argument) above it, numbered as on the site
            names = NAME.findall(options)
            number = self.title(names[0], "") if names else ""
            number = f"{number}. " if number and not number.startswith("*") else ""
            return f"*{number}{arg}*\n\n{text}\n"
        if name in ("glue", "glue:md"):  # a glued output (e.g. a table): what this build glued
            data = self.glue.get(arg, {}).get("data", {})
            value = data.get("text/markdown") or data.get("text/plain")
            return f"{value}\n" if value else f"`{arg}`\n"
        return f"{text}\n"  # any other directive: its text (a caption), if any

    def caption(self, figure: dict) -> str:
        """A code cell's figure caption (myst-nb's ``figure`` metadata) as Markdown, numbered as
        on the site (``*Fig. 2.1* The ...``; unnumbered outside a build); solutions or not."""
        text = " ".join(ROLE.sub(self.role, str(figure.get("caption") or "")).split())
        number = self.title(str(figure.get("name") or ""), "")
        return f"*{number}* {text}" if number and not number.startswith("*") else text

    def title(self, label: str, default: str | None) -> str | None:  # Sphinx lowercases labels
        return self.titles.get(label) or self.titles.get(label.lower(), default)

    def tag(self, match: re.Match) -> str:  # an equation's number, as on the site
        number = self.title(match["label"], None)
        return f"\\tag{{{number}}} $$" if number else "$$"

    def role(self, match: re.Match) -> str:
        name, text = match["name"], match["text"]
        if name == "math":
            return f"${text}$"
        if name.startswith("glue"):  # the value this build glued, formatted as myst-nb does
            key, _, spec = text.partition(":") if name == "glue:text" else (text, "", "")
            data = self.glue.get(key, {}).get("data", {})
            value = data.get("text/markdown" if name == "glue:md" else "text/plain")
            return f"`{key}`" if value is None else format_plain_text(value, spec)
        if explicit := re.match(r"(.*?)\s*<[^<>]+>$", text, re.S):  # {ref}`words <label>`
            return explicit[1]
        if name.startswith("cite"):
            return "[" + "; ".join(self.title(k.strip(), k) for k in text.split(",")) + "]"
        if name == "eq":
            return f"({self.title(text, text)})"
        return self.title(text.rsplit("/", 1)[-1], text)


def convert(path, *, keep_solutions=False, glue=None, titles=None, url=None, ref=None):
    """A chapter's participant notebook (``keep_solutions``: with the reference code), or None
    without solution code. ``glue``, ``titles``: this build's; the setup cell installs url@ref."""
    path, text = Path(path), _Markdown(keep_solutions, glue or {}, titles or {})
    notebook, stubs, captions = jupytext.read(path, fmt="md:myst"), 0, {}
    for number, cell in enumerate(notebook.cells, 1):
        try:
            if cell.cell_type == "markdown":
                cell.source = re.sub(r"\n{3,}", "\n\n", text.markdown(cell.source)).strip("\n")
            elif text.in_solution:
                cell.source, stubs = stub(cell.source, keep_solutions), stubs + 1
                cell.metadata["tags"] = [*cell.metadata.get("tags", []), EXERCISE_TAG]
            elif MARKER.search(cell.source):
                raise ConventionError("solution markers outside a solution (the site shows them)")
            figure = cell.metadata.get("mystnb", {}).get("figure") or {}
            if cell.cell_type == "code" and figure.get("caption"):  # the site: under the output
                captions[id(cell)] = nbformat.v4.new_markdown_cell(text.caption(figure))
        except ConventionError as err:
            raise ConventionError(f"{path.name}, cell {number}: {err}") from None
    if text.in_solution:
        raise ConventionError(f"{path.name}: '{{solution-start}}' is never closed")
    if not stubs:
        return None
    cells = [c for c in notebook.cells if c.cell_type == "code" or c.source.strip()]
    cells = [new for c in cells for new in (c, captions.get(id(c))) if new is not None]
    setup = SETUP.format(pip=f"git+{url}{'@' + ref if ref else ''}" if url else "diffusion2d")
    notebook.cells = [nbformat.v4.new_code_cell(setup, metadata={"tags": [SETUP_TAG]}), *cells]
    del notebook.metadata["jupytext"]  # the chapter's kernelspec stays
    for number, cell in enumerate(notebook.cells):  # stable ids: the same chapter, the same file
        cell["id"] = f"{path.stem[:40]}-{number:03d}"
    return notebook


def _titles(app, env) -> dict[str, str]:
    """Label -> what its reference renders as on the site (number, title, author-year)."""
    data, numbers = env.domaindata, env.toc_fignumbers
    titles = {doc.rsplit("/", 1)[-1]: f"*{env.titles[doc].astext()}*" for doc in env.titles}
    titles |= {label: f"*{name}*" for label, (_, _, name) in data["std"]["labels"].items()}
    math = {key: (doc, f"equation-{key}") for key, (doc, _) in data["math"]["objects"].items()}
    for label, (doc, node_id) in (data["std"]["anonlabels"] | math).items():
        for kind, number in numbers.get(doc, {}).items():
            if node_id in number:  # "displaymath" has no format: the number alone
                text = ".".join(map(str, number[node_id]))
                titles[label] = app.config.numfig_format.get(kind, "%s") % text
    return titles | {c.key: c.formatted_entry.label for c in data["cite"]["citations"]}


def _write_notebooks(app, env) -> None:
    """env-check-consistency (chapters executed, numbers assigned): write each notebook and the
    box its page shows."""
    app.participant_notebooks = {}  # docname -> the box's HTML (other builders leave it out)
    url = app.config.html_theme_options["repository_url"]
    repo, titles = url.split("github.com/")[-1], _titles(app, env)
    outdir = Path(app.outdir) / "notebooks"  # the deploy workflow publishes it to the branch
    ref = os.environ.get("GITHUB_SHA")  # in GitHub Actions, the setup cell installs this commit
    for docname in sorted(env.found_docs):
        glue = read_glue_cache(env.mystnb_config.output_folder, docname)
        try:
            notebook = convert(env.doc2path(docname), glue=glue, titles=titles, url=url, ref=ref)
        except ConventionError as err:
            logger.warning(f"participant notebook: {err}", location=docname)
            continue
        if notebook is None:
            continue
        name = f"{Path(docname).name}.ipynb"
        target, text = outdir / name, nbformat.writes(notebook) + "\n"
        outdir.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")  # an unchanged notebook stays untouched
        checks = CHECKS[any("exercises import check_" in c.source for c in notebook.cells)]
        up = "../" * docname.count("/")  # from the page to the site's root
        app.participant_notebooks[docname] = BOX.format(name=name, up=up, repo=repo, checks=checks)


def _inject_box(app, doctree, docname: str) -> None:
    """doctree-resolved: the box at the top of the page's Exercises section, else of the page."""
    if not hasattr(app, "participant_notebooks"):  # no page was read, so no consistency check
        _write_notebooks(app, app.env)  # (sphinx -a with nothing outdated); numbers exist here
    if docname not in app.participant_notebooks:
        return
    box = nodes.admonition(classes=["tip", "workshop-notebook"])
    box += nodes.title(text="Workshop notebook")
    box += nodes.raw("", app.participant_notebooks[docname], format="html")
    sections = list(doctree.findall(nodes.section))  # the page's own section first
    exercises = [s for s in sections if s[0].astext().lower().startswith("exercise")]
    (exercises or sections)[0].insert(1, box)


def strip_markers(doctree) -> int:
    """doctree-read: the site shows solution code without its marker lines; how many changed."""
    blocks = [b for s in doctree.findall(solution_node) for b in s.findall(nodes.literal_block)]
    blocks = [b for b in blocks if b.parent.get("nb_element") == "cell_code_source"]  # not outputs
    blocks = [b for b in blocks if MARKER.search(b.astext())]
    for block in blocks:
        kept = "".join(line for line in block.astext().splitlines(True) if not MARKER.match(line))
        block.replace_self(nodes.literal_block(kept, kept, **block.attributes))
    return len(blocks)


def setup(app):
    app.connect("doctree-read", lambda app, doctree: strip_markers(doctree))
    # after env-get-updated, which numbers figures, tables and equations (the numbers of a
    # fresh build do not exist yet at env-updated), and after bibtex labels citations
    app.connect("env-check-consistency", _write_notebooks, priority=800)
    app.connect("doctree-resolved", _inject_box)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "2"}
