"""Sphinx extension: the workshop's participant notebooks, written by the site build and linked.

Every chapter with a solution in code becomes a Jupyter notebook for the hands-on workshop,
``<html>/notebooks/<chapter>.ipynb``: the file its page offers for download, and the very file the
deploy workflow publishes to the branch that Colab and Binder open (there is no second conversion).

Convention (CONTRIBUTING.md, "Workshop edition"): a solution is what sits between
sphinx-exercise's ``{solution-start}`` and ``{solution-end}``, which the site hides until clicked.
The notebook drops its text and turns each of its code cells into a ``todo()`` stub that raises
"not implemented yet": only the lines between nbgrader's ``# BEGIN SOLUTION`` and
``# END SOLUTION`` when the cell has them (the ``def`` line and docstring outside them stay;
``# BEGIN SOLUTION: hint`` sets the stub's message), the whole cell otherwise. Markers elsewhere,
broken markers and an unclosed solution are build warnings, so the strict build fails. The site
shows solution code without its marker lines.

How: jupytext reads the chapter; its Markdown loses what Jupyter cannot render (directives become
plain Markdown, roles their text: glued values from this build, references as the site numbers
them); a first cell installs ``diffusion2d`` where it is missing (Colab, Binder) and imports
``todo``. The page gets a "Workshop notebook" box at the top of its Exercises section: download,
Colab and Binder links.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from html import escape
from pathlib import Path

import jupytext
import nbformat
from docutils import nodes
from myst_nb.core.variables import format_plain_text
from sphinx.util import logging
from sphinx_exercise.nodes import solution_node

logger = logging.getLogger(__name__)

OUT_SUBDIR = "notebooks"
EXERCISE_TAG = "exercise"  # the tag of a stubbed cell in the notebook
SETUP_TAG = "workshop-setup"
WHOLE_CELL_HINT = "write your solution to this exercise in place of this todo(...) line"
BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:[ \t]*:[ \t]*(?P<hint>.*?))?[ \t]*$")
END = re.compile(r"^(?P<indent>[ \t]*)# END SOLUTION[ \t]*$")
MARKER = re.compile(r"^[ \t]*#[ \t]*(?:BEGIN|END)[ \t_-]*SOLUTION", re.I | re.M)  # and typos
DEF = re.compile(r"^(?P<indent>[ \t]*)(?:async[ \t]+)?def[ \t]+(?P<name>\w+)")
DIRECTIVE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,}|:{3,})\{(?P<name>[^}\s]+)\}\s*(?P<arg>.*)$")
FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})")  # a plain code block: copied verbatim
OPTION = re.compile(r"^[ \t]*:([\w-]+):(.*)$")
ROLE = re.compile(r"\{(?P<name>[\w:+.-]+)\}`(?P<text>[^`]*)`")
EQUATION_LABEL = re.compile(r"\$\$[ \t]*\((?P<label>[^()\s]+)\)[ \t]*$")  # $$ (label)
DROPPED_LINE = re.compile(r"^[ \t]*(\([^()\s]+\)=|%.*|\+\+\+.*)$")  # targets, comments
ADMONITIONS = {"admonition", "note", "tip", "hint", "important", "warning", "caution", "seealso"}


class ConventionError(ValueError):
    """A chapter breaks the solution convention."""


def stub(source: str, keep: bool = False) -> str:
    """A solution cell's code with ``todo()`` stubs (``keep``: the code without its markers)."""
    lines, out, start, regions = source.split("\n"), [], None, 0
    for number, line in enumerate(lines, 1):
        begin, end = BEGIN.match(line), END.match(line)
        if begin:
            if start:
                raise ConventionError(
                    f"'# BEGIN SOLUTION' on line {number} inside the region opened on line "
                    f"{start[0]} (regions do not nest)"
                )
            start, regions = (number, begin["indent"]), regions + 1
            outer = [m for m in map(DEF.match, lines[: number - 1]) if m]
            outer = [m["name"] for m in outer if len(m["indent"]) < len(begin["indent"])]
            where = f"the body of {outer[-1]}()" if outer else "your code"
            hint = begin["hint"] or f"write {where} in place of this todo(...) line"
            out += [] if keep else [f"{begin['indent']}todo({json.dumps(hint)})"]
        elif end:
            if not start:
                raise ConventionError(f"'# END SOLUTION' on line {number} without its BEGIN")
            if end["indent"] != start[1]:
                raise ConventionError(
                    f"'# END SOLUTION' on line {number} is not indented like its "
                    f"'# BEGIN SOLUTION' on line {start[0]}"
                )
            start = None
        elif MARKER.match(line):
            raise ConventionError(
                f"line {number} looks like a marker but is not exactly '# BEGIN SOLUTION' or "
                f"'# END SOLUTION': {line.strip()!r}"
            )
        elif start is None or keep:
            out.append(line)
    if start:
        raise ConventionError(f"'# BEGIN SOLUTION' on line {start[0]} is never closed")
    return "\n".join(out) if regions or keep else f"todo({json.dumps(WHOLE_CELL_HINT)})"


class _Markdown:
    """MyST Markdown -> Markdown that Jupyter renders; remembers whether it is in a solution."""

    def __init__(self, keep_solutions: bool, glue: dict, titles: dict[str, str]):
        self.keep, self.glue, self.titles = keep_solutions, glue, titles
        self.in_solution = False

    @property
    def hidden(self) -> bool:
        return self.in_solution and not self.keep

    def lines(self, lines: list[str]) -> list[str]:
        out, text, i = [], [], 0  # text: prose lines whose roles (may span lines) are pending
        while i < len(lines):
            line, i = lines[i], i + 1
            opened = DIRECTIVE.match(line) or FENCE.match(line)
            if opened:  # the block ends at the first bare fence of its kind (MyST's rule)
                out, text = out + self.prose(text), []
                mark = opened["fence"]
                close = next((k for k in range(i, len(lines)) if lines[k].strip() == mark), None)
                body, i = lines[i:close], len(lines) if close is None else close + 1
                if "name" in opened.groupdict():
                    out += self.directive(opened["name"], self.roles(opened["arg"].strip()), body)
                elif not self.hidden:
                    out += [line, *body, mark]
            elif not self.hidden and not DROPPED_LINE.match(line):
                text.append(EQUATION_LABEL.sub(self.tag, line))
        return out + self.prose(text)

    def prose(self, lines: list[str]) -> list[str]:
        return self.roles("\n".join(lines)).split("\n") if lines else []

    def directive(self, name: str, arg: str, body: list[str]) -> list[str]:
        if body[:1] == ["---"] and "---" in body[1:]:  # options as YAML
            body = body[body.index("---", 1) + 1 :]
        label = ""
        while body and (OPTION.match(body[0]) or not body[0].strip()):  # options, blank lines
            option = OPTION.match(body.pop(0))
            label = option[2].strip() if option and option[1] == "label" else label
        if name in ("solution-start", "solution-end"):
            if name == "solution-end" and not self.in_solution:
                raise ConventionError("'{solution-end}' without '{solution-start}'")
            self.in_solution = name == "solution-start"
            return ["**Solution**", ""] if self.keep and self.in_solution else []
        if self.hidden or name == "exercise-end" or (name == "solution" and not self.keep):
            return []
        text = self.lines(body)
        if name in ("exercise", "exercise-start", "solution"):
            kind = "Solution" if name == "solution" else self.title(label, "Exercise")
            return [f"**{kind}: {arg}**" if arg else f"**{kind}**", "", *text, ""]
        if name in ADMONITIONS:
            quoted = [f"> {line}" if line.strip() else ">" for line in text]
            return [f"> **{arg or name.capitalize()}**", ">", *quoted, ""]
        if name == "math":
            return ["$$", *body, "$$", ""]
        return [*text, ""]  # any other directive: its text (a caption), if any

    def title(self, label: str, default: str | None) -> str | None:  # Sphinx lowercases labels
        return self.titles.get(label) or self.titles.get(label.lower(), default)

    def tag(self, match: re.Match) -> str:  # an equation's number, as on the site
        number = self.title(match["label"], None)
        return f"\\tag{{{number}}} $$" if number else "$$"

    def roles(self, line: str) -> str:
        return ROLE.sub(self.role, line)

    def role(self, match: re.Match) -> str:
        name, text = match["name"], match["text"]
        if name == "math":
            return f"${text}$"
        if name.startswith("glue"):  # the value this build glued, formatted as myst-nb does
            has_spec = name == "glue:text" and ":" in text.replace("::", "")
            key, spec = text.rsplit(":", 1) if has_spec else (text, "")
            data = self.glue.get(key.split("::")[-1], {}).get("data", {})
            value = data.get("text/markdown" if name == "glue:md" else "text/plain")
            value = "".join(value) if isinstance(value, list) else value
            return f"`{key}`" if value is None else format_plain_text(value, spec)
        explicit = re.match(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", text, re.S)
        if explicit:  # {ref}`words <label>`
            return explicit["text"]
        if name.startswith("cite"):
            return "[" + "; ".join(self.title(k.strip(), k) for k in text.split(",")) + "]"
        if name == "eq":
            return f"({self.title(text, text)})"
        return self.title(text.rsplit("/", 1)[-1], text)


def convert(path, *, keep_solutions=False, glue=None, titles=None, url=None, ref=None):
    """One chapter's participant notebook (``keep_solutions``: with the reference code), or None
    if it has no solution in code. ``glue``: myst-nb's ``<doc>.glue.json``; ``titles``: label ->
    what a reference renders as; ``url`` and ``ref``: where the setup cell installs from."""
    path = Path(path)
    source = jupytext.read(path, fmt="md:myst")
    text = _Markdown(keep_solutions, glue or {}, titles or {})
    cells, stubs = [], 0
    for number, cell in enumerate(source.cells, 1):
        try:
            if cell.cell_type == "markdown":
                md = re.sub(r"\n{3,}", "\n\n", "\n".join(text.lines(cell.source.split("\n"))))
                cells += [nbformat.v4.new_markdown_cell(md.strip("\n"))] if md.strip() else []
                continue
            code, metadata = cell.source, dict(cell.metadata)
            if text.in_solution:
                code, stubs = stub(code, keep_solutions), stubs + 1
                metadata["tags"] = [*metadata.get("tags", []), EXERCISE_TAG]
            elif MARKER.search(code):
                raise ConventionError(
                    "solution markers outside '{solution-start}'/'{solution-end}' (the site "
                    "would show the code)"
                )
            cells.append(nbformat.v4.new_code_cell(code, metadata=metadata))
        except ConventionError as err:
            raise ConventionError(f"{path.name}, cell {number}: {err}") from None
    if text.in_solution:
        raise ConventionError(f"{path.name}: '{{solution-start}}' is never closed")
    if not stubs:
        return None
    headings = [line for c in cells[:3] for line in c.source.split("\n") if line.startswith("# ")]
    pip = f"git+{url}{'@' + ref if ref else ''}" if url else "diffusion2d"
    uses_glue = any("myst_nb" in c.source for c in source.cells)
    setup = _setup(headings[0][2:] if headings else path.stem, pip, uses_glue)
    notebook = nbformat.v4.new_notebook(cells=[setup, *cells])
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    for number, cell in enumerate(notebook.cells):  # stable ids: the same chapter, the same file
        cell["id"] = f"{path.stem[:40]}-{number:03d}"
    nbformat.validate(notebook)
    return notebook


def _setup(title: str, pip: str, uses_glue: bool):
    lines = [
        f"# Workshop notebook: {title}",
        "# Each exercise cell calls todo(...), which raises 'not implemented yet' until you write",
        "# your code in its place; the cell after it checks your function in plain words.",
        "# This cell installs diffusion2d where it is missing (Colab, Binder).",
        "import importlib.util",
        "import subprocess",
        "import sys",
        "",
        'if importlib.util.find_spec("diffusion2d") is None:',
        f'    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "{pip}"])',
        "    importlib.invalidate_caches()",
        "",
        "from diffusion2d.exercises import todo  # noqa: F401 (the exercise stubs call it)",
    ]
    if uses_glue:  # the chapter records numbers with myst-nb's glue(); outside the book: show them
        lines += [
            "",
            "try:",
            "    import myst_nb  # noqa: F401",
            "except ImportError:",
            "    import types",
            "",
            "    from IPython.display import display as _display",
            "",
            '    sys.modules["myst_nb"] = types.ModuleType("myst_nb")',
            '    sys.modules["myst_nb"].glue = lambda name, value, display=True: (',
            "        _display(value) if display else None",
            "    )",
        ]
    return nbformat.v4.new_code_cell("\n".join(lines), metadata={"tags": [SETUP_TAG]})


def launch_urls(url: str, name: str, branch: str = "notebooks") -> dict[str, str]:
    """Colab and Binder links that open the published notebook ``name`` on ``branch``."""
    repo = url.rstrip("/").split("github.com/", 1)[-1]
    return {
        "colab": f"https://colab.research.google.com/github/{repo}/blob/{branch}/{name}",
        "binder": f"https://mybinder.org/v2/gh/{repo}/{branch}?labpath={name}",
    }


def _titles(app, env) -> dict[str, str]:
    """What a reference renders as on the site: numbers of figures, tables, exercises and
    equations, titles of sections and pages, author-year labels of citations."""
    data, numbers = env.domaindata, env.toc_fignumbers
    titles = {doc.rsplit("/", 1)[-1]: f"*{env.titles[doc].astext()}*" for doc in env.titles}
    titles |= {label: f"*{name}*" for label, (_, _, name) in data["std"]["labels"].items()}
    for label, (doc, node_id) in data["std"]["anonlabels"].items():
        for kind, number in numbers.get(doc, {}).items():
            if node_id in number:
                text = ".".join(map(str, number[node_id]))
                titles[label] = app.config.numfig_format.get(kind, "%s") % text
    for label, (doc, _) in data["math"]["objects"].items():
        if number := numbers.get(doc, {}).get("displaymath", {}).get(f"equation-{label}"):
            titles[label] = ".".join(map(str, number))
    return titles | {c.key: c.formatted_entry.label for c in data["cite"]["citations"]}


def _write_notebooks(app, env) -> None:
    """env-updated (chapters executed): write each notebook and note what its page links."""
    app.participant_notebooks = {}
    if app.builder.format != "html":
        return
    url = (app.config.html_theme_options or {}).get("repository_url")
    titles, outdir = _titles(app, env), Path(app.outdir) / OUT_SUBDIR
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        source = path.read_text(encoding="utf-8") if path.suffix == ".md" else ""
        if "{solution-start}" not in source:
            continue
        glue = Path(env.mystnb_config.output_folder) / f"{docname}.glue.json"
        glue = json.loads(glue.read_text(encoding="utf-8")) if glue.is_file() else {}
        try:  # in GitHub Actions the setup cell installs the commit being built
            notebook = convert(
                path, glue=glue, titles=titles, url=url, ref=os.environ.get("GITHUB_SHA")
            )
        except ConventionError as err:
            logger.warning(f"participant notebook: {err}", location=docname)
            continue
        if notebook is None:
            continue
        target, text = outdir / f"{path.stem}.ipynb", nbformat.writes(notebook) + "\n"
        outdir.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")  # an unchanged notebook stays untouched
        checks = "diffusion2d.exercises import check_" in source
        app.participant_notebooks[docname] = (target.name, checks)


def _links(app, docname: str) -> dict | None:
    if docname not in getattr(app, "participant_notebooks", {}):
        return None
    name, checks = app.participant_notebooks[docname]
    page = posixpath.dirname(app.builder.get_target_uri(docname)) or "."
    download = posixpath.relpath(f"{OUT_SUBDIR}/{name}", page)
    links = {"name": name, "checks": checks, "download": download}
    url = (app.config.html_theme_options or {}).get("repository_url") or ""
    if "github.com/" in url:
        links |= launch_urls(url, name, app.config.participant_notebooks_branch)
    return links


def _box(links: dict) -> nodes.Node:
    services = (("colab", "Google Colab"), ("binder", "Binder"))
    launch = [
        f'<a class="reference external" href="{escape(links[k])}">{text}</a>'
        for k, text in services
        if k in links
    ]
    checks = (
        "the cell after it checks your function."
        if links["checks"]
        else "compare your result with the solution on this page (the other exercises are for "
        "pen and paper)."
    )
    name = escape(links["name"])
    text = (
        f'Do these exercises yourself: <a class="reference download" '
        f'href="{escape(links["download"])}" download="{name}">download the participant '
        f"notebook <code>{name}</code></a>"
        + (f" or open it in {' or '.join(launch)}" if launch else "")
        + ". Each exercise cell raises <em>not implemented yet</em> until you write your code in "
        f"place of its <code>todo(...)</code> line; {checks}"
    )
    box = nodes.admonition(classes=["tip", "workshop-notebook"])
    box += nodes.title(text="Workshop notebook")
    box += nodes.raw("", f"<p>{text}</p>", format="html")
    return box


def _inject_box(app, doctree, docname: str) -> None:
    """doctree-resolved: the box at the top of the Exercises section (else at the end)."""
    links = _links(app, docname) if app.builder.format == "html" else None
    if links is None:
        return
    sections = list(doctree.findall(nodes.section))
    for section in sections:
        title = section.next_node(nodes.title)
        if title is not None and title.astext().strip().lower().startswith("exercise"):
            section.insert(section.index(title) + 1, _box(links))
            return
    (sections[0] if sections else doctree).append(_box(links))


def strip_markers(doctree) -> int:
    """doctree-read: solution code on the site without its marker lines (the code that ran is
    unchanged). Returns the number of code blocks changed."""
    changed = 0
    for solution in doctree.findall(solution_node):
        for block in list(solution.findall(nodes.literal_block)):
            code = block.astext()
            if block.parent.get("nb_element") != "cell_code_source" or not MARKER.search(code):
                continue
            kept = "".join(line for line in code.splitlines(True) if not MARKER.match(line))
            block.replace_self(nodes.literal_block(kept, kept, **block.attributes))
            changed += 1
    return changed


def setup(app):
    app.add_config_value("participant_notebooks_branch", "notebooks", "html")
    app.connect("doctree-read", lambda app, doctree: strip_markers(doctree))
    app.connect("env-updated", _write_notebooks)
    app.connect("doctree-resolved", _inject_box)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "2"}
