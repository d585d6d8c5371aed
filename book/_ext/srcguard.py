"""Sphinx extension: re-execute a chapter when library code it imports changes, and only then.

myst-nb's execution cache (jupyter-cache) hashes only the code of each cell, and Sphinx re-reads
only the pages whose own source changed, so a change in ``src/`` would otherwise leave stale
outputs in the book. On each build this extension works out, for every page, which files of
``src/`` the page's code can run: the modules its code cells import from ``diffusion2d``,
everything those import in turn (relative and absolute imports, read with :mod:`ast`), their
parent packages, and any non-Python file of those packages. It hashes those files per page and
compares with the hashes stored beside the cache (``<cache>.src-hash.txt``, JSON). A page whose
hash changed loses its cached outputs and is read again, so it runs against the new library;
the other pages keep theirs. An edit of the explorer re-runs the explorer page alone; an edit of
a module every chapter imports (the package ``__init__`` and what it imports) re-runs them all.

The rule errs on the side of re-running: a code cell that does not parse, or an import it cannot
resolve, makes the page depend on every file of ``src/``; no stamp (first build, or an old
format) means every page runs.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
from functools import cache
from pathlib import Path

STAMP = "src-hash.txt"
CODE_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def _module_names(src: Path) -> dict[str, Path]:
    """``{"pkg.sub.mod": path}`` for every ``.py`` file under ``src`` (packages by ``__init__``)."""
    names = {}
    for path in src.rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _imports(tree: ast.AST, package: str) -> set[str] | None:
    """Dotted names a module (or cell) imports, ``from x import y`` also as ``x.y``; relative
    imports resolved against ``package``. ``None`` if a relative import has no package."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                if node.level - 1 > len(parts) or not parts:
                    return None
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


@cache
def _module_imports(path: Path, package: str, stamp: tuple[int, int]) -> frozenset[str] | None:
    """:func:`_imports` of one module file, parsed once per build (keyed on mtime and size)."""
    found = _imports(ast.parse(path.read_bytes()), package)
    return None if found is None else frozenset(found)


def _closure(roots: set[str], modules: dict[str, Path]) -> set[Path] | None:
    """Files of every local module reachable from ``roots`` (with parent packages)."""
    todo, seen = list(roots), set()
    while todo:
        name = todo.pop()
        parts = name.split(".")
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
            prefix = ".".join(parts[:i])
            if prefix not in modules or prefix in seen:
                continue
            seen.add(prefix)
            path = modules[prefix]
            package = prefix if path.name == "__init__.py" else prefix.rpartition(".")[0]
            stat = path.stat()
            deps = _module_imports(path, package, (stat.st_mtime_ns, stat.st_size))
            if deps is None:
                return None
            todo.extend(deps)
    files = {modules[name] for name in seen}
    for folder in {path.parent for path in list(files)}:  # data files (e.g. scripts) of packages
        files |= {p for p in folder.iterdir() if p.is_file() and p.suffix not in (".py", ".pyc")}
    return files


def page_files(text: str, src: Path, modules: dict[str, Path] | None = None) -> set[Path]:
    """The files of ``src`` that the code cells of a MyST page can run (``modules``: the
    :func:`_module_names` of ``src``, computed once for many pages)."""
    modules = _module_names(src) if modules is None else modules
    packages = {path.parent for path in modules.values() if path.name == "__init__.py"}
    everything = {p for d in packages for p in d.iterdir() if p.is_file() and p.suffix != ".pyc"}
    roots: set[str] = set()
    for cell in CODE_CELL.findall(text):
        if cell.startswith("---\n"):  # the cell's YAML options
            cell = cell.split("\n---\n", 1)[-1]
        body = "\n".join(
            "" if line.lstrip().startswith(("%", "!", ":")) else line for line in cell.splitlines()
        )
        try:
            found = _imports(ast.parse(body), "")
        except SyntaxError:
            return everything
        roots |= found or set()
    local = {name for name in roots if name.split(".")[0] in {m.split(".")[0] for m in modules}}
    files = _closure(local, modules)
    return everything if files is None else files


def files_hash(files: set[Path], src: Path, digests: dict[Path, bytes] | None = None) -> str:
    """One hash of the files' paths and contents (``digests``: per-file hashes to reuse)."""
    digests = {} if digests is None else digests
    digest = hashlib.sha256()
    for path in sorted(files):
        if path not in digests:
            digests[path] = hashlib.sha256(path.read_bytes()).digest()
        digest.update(path.relative_to(src).as_posix().encode())
        digest.update(digests[path])
    return digest.hexdigest()


def _paths(app, config) -> tuple[Path, Path, Path]:
    src = Path(app.srcdir).resolve().parent / "src"
    cache = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    return src, cache, cache.parent / f"{cache.name}.{STAMP}"


def _outdated(app, env, added, changed, removed):
    """Pages whose library code changed (Sphinx event ``env-get-outdated``); drops their
    cached outputs so that myst-nb executes them again."""
    src, cache, stamp = _paths(app, app.config)
    if not src.is_dir():
        return []
    try:
        old = json.loads(stamp.read_text())
        assert isinstance(old, dict)
    except (OSError, ValueError, AssertionError):
        old = None
    docs, modules, digests = {}, _module_names(src), {}
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        if path.suffix == ".md" and path.is_file():
            files = page_files(path.read_text("utf8"), src, modules)
            docs[docname] = (path, files_hash(files, src, digests))
    stale = {d for d, (_, h) in docs.items() if old is None or old.get(d) != h}
    app.srcguard_stale = sorted(stale)
    if old is None and cache.exists():
        shutil.rmtree(cache)
    elif stale and cache.exists():
        from jupyter_cache import get_cache

        jcache = get_cache(str(cache))
        paths = {str(docs[d][0]) for d in stale}
        for record in jcache.list_cache_records():
            if record.uri in paths:
                jcache.remove_cache(record.pk)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps({d: h for d, (_, h) in docs.items()}, indent=1, sort_keys=True))
    return sorted(stale - set(added) - set(changed) - set(removed))


def setup(app):
    app.connect("env-get-outdated", _outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "4"}
