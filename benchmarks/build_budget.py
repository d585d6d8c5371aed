"""Measure the book against its budgets: cold build, plot-edit and no-change rebuilds, weights.

    .venv/bin/python benchmarks/build_budget.py            # builds + page weights + line counts
    .venv/bin/python benchmarks/build_budget.py --site _build/html   # page weights only

Budgets (issue 10): cold build <= 180 s, rebuild after a one-line edit of the plotting code <= 60 s
with no model retrained, rebuild with nothing changed <= 15 s, deployed site <= 15 MB, every page
<= 3 MB transferred; `src/diffusion2d` <= 4,000 lines and no module over 300.

The builds are strict (`jupyter-book build book/ -W -n --keep-going`, as in CI) and run in a
temporary copy of the working tree (without `_build/`, `.venv/`, `.git/`), importing the library
from the copy (`PYTHONPATH`) and with the model cache there too (`DIFFUSION2D_CACHE`): really
cold, unaffected by edits made while it runs, and the developer's `_build/` is left alone.
A plot edit appends one comment line to a file of the plotting code in the copy (``--plot-edit``,
one rebuild per file, in turn): by default a chapter's figure module (``fields.py``: one chapter
draws with it) and the shared style (``style.py``: a colour or font edit changes every figure, so
every chapter that draws runs again). The chapters that import the file run again, and the model
cache must gain no file; ``plot_edit_rebuild_s`` is the slower of the rebuilds.
A page's weight is its HTML plus every local file it references: images and videos, scripts,
stylesheets, iframes (and what those reference); fonts and files that scripts load later
(MathJax's fonts) are not counted. The budget applies to the bytes transferred (text gzipped, as
GitHub Pages serves it); the size on disk is printed beside it. Print-only: a report, not a test.
The last lines are `name: value` pairs for the note.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
BUDGET_COLD_S = 180.0
BUDGET_REBUILD_S = 15.0
BUDGET_PLOT_EDIT_S = 60.0
BUDGET_SITE_MB = 15.0
BUDGET_SRC_LINES = 4000
BUDGET_MODULE_LINES = 300
PLOT_EDITS = ("src/diffusion2d/plotting/fields.py", "src/diffusion2d/plotting/style.py")
BUDGET_PAGE_BYTES = 3 * 1024 * 1024

FETCHED = {
    "img": ("src",),
    "script": ("src",),
    "source": ("src",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
}
FETCHED_LINK_RELS = {"stylesheet", "preload", "modulepreload", "icon"}


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (kind, url)

    in_video = False  # a <video> fetches only its first playable <source>: count the first

    def handle_endtag(self, tag: str) -> None:
        if tag == "video":
            self.in_video = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "video":
            self.in_video, self.video_sources = True, 0
        if tag == "source" and self.in_video:
            self.video_sources += 1
            if self.video_sources > 1:
                return
        for attr in FETCHED.get(tag, ()):
            if a.get(attr):
                self.refs.append((tag, a[attr]))
        if tag == "link" and set(a.get("rel", "").lower().split()) & FETCHED_LINK_RELS:
            if a.get("href"):
                self.refs.append(("link", a["href"]))


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(node: dict) -> None:
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key) or []:
                if "file" in child:
                    names.append(child["file"])
                walk(child)

    walk(toc)
    return [f"{Path(str(n)).with_suffix('')}.html" for n in names]


def local_file(page: Path, url: str, site: Path) -> Path | None:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path:
        return None  # remote (the tests forbid those), data: URIs (inside the HTML already)
    path = (page.parent / unquote(parts.path)).resolve()
    return path if path.is_file() and site in path.parents else None


def gzipped_size(path: Path, _memo: dict[Path, int] = {}) -> int:  # noqa: B006 - a cache
    """Bytes over the wire from a server that gzips (GitHub Pages does, for text files)."""
    if path not in _memo:
        data = path.read_bytes()
        text = path.suffix in (".html", ".htm", ".js", ".css", ".svg", ".json", ".txt")
        _memo[path] = len(gzip.compress(data, 6)) if text else len(data)
    return _memo[path]


def page_weight(page: Path, site: Path, seen: set[Path] | None = None) -> dict[str, int]:
    """Bytes of the page and of the local files it references, by kind (each file once);
    key "gzip" is the total as a gzipping server sends it."""
    seen = set() if seen is None else seen
    seen.add(page)
    weight = {"html": page.stat().st_size, "images": 0, "scripts+css": 0, "frames": 0}
    weight["gzip"] = gzipped_size(page)
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8", errors="replace"))
    for kind, url in parser.refs:
        path = local_file(page, url, site)
        if path is None or path in seen:
            continue
        seen.add(path)
        if kind == "iframe" and path.suffix in (".html", ".htm"):
            inner = page_weight(path, site, seen)
            weight["gzip"] += inner.pop("gzip")
            weight["frames"] += sum(inner.values())
            continue
        weight["gzip"] += gzipped_size(path)
        if kind in ("img", "source", "video", "audio", "embed", "object") or (
            kind == "link" and path.suffix in (".png", ".ico", ".svg", ".gif", ".jpg")
        ):
            weight["images"] += path.stat().st_size
        else:
            weight["scripts+css"] += path.stat().st_size
    return weight


IGNORED = shutil.ignore_patterns(
    "_build", ".venv", ".git", "test-output", "__pycache__", ".pytest_cache", ".ruff_cache",
    "*.egg-info",
)  # fmt: skip
IGNORED_AT_ROOT = {"_notebooks"}  # the notebooks workflow output


def _ignore(folder: str, names: list[str]) -> set[str]:
    ignored = set(IGNORED(folder, names))
    if Path(folder) == ROOT:
        ignored |= IGNORED_AT_ROOT & set(names)
    return ignored


def snapshot(dest: Path) -> Path:
    """A copy of the working tree (sources, data) to build from."""
    shutil.copytree(ROOT, dest, ignore=_ignore, symlinks=True)
    return dest


def build(repo: Path, env: dict[str, str]) -> tuple[float, int]:
    cmd = [
        str(Path(sys.executable).parent / "jupyter-book"),
        "build", "book/", "-W", "-n", "--keep-going",
    ]  # fmt: skip
    t0 = time.perf_counter()
    with open(repo.parent / "build.log", "a") as log:
        rc = subprocess.call(cmd, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    return time.perf_counter() - t0, rc


def ratio(value: float, budget: float) -> str:
    verdict = "ok" if value <= budget else "OVER BUDGET"
    return f"{value / budget:5.2f} x budget  {verdict}"


def report_pages(site: Path) -> int:
    print(f"\nPage weight (HTML + local images, scripts, stylesheets, frames), site {site}:")
    print("  (total: bytes on disk; gzip: what a reader downloads from GitHub Pages, which gzips")
    print("   text: judged against the budget. MathJax's bundle, 1.1 MB on pages with math, is")
    print("   in their totals; its fonts and the icon font load later and are not counted)")
    head = f"{'html':>8} {'images':>8} {'js+css':>8} {'frames':>8} {'total':>9} {'gzip':>9}"
    print(f"  {'page':<38} {head}")
    pages = [p for p in toc_pages()] + ["search.html", "genindex.html"]
    heaviest = 0
    for name in pages:
        path = site / name
        if not path.is_file():
            print(f"  {name:<38} (not built)")
            continue
        w = page_weight(path, site)
        gz = w.pop("gzip")
        total = sum(w.values())
        heaviest = max(heaviest, gz)
        kb = {k: f"{v / 1024:7.0f}K" for k, v in w.items()}
        print(
            f"  {name:<38} {kb['html']} {kb['images']} {kb['scripts+css']} {kb['frames']}"
            f" {total / 2**20:7.2f}MB {gz / 2**20:7.2f}MB  {ratio(gz, BUDGET_PAGE_BYTES)}"
        )
    print(
        f"  heaviest page: {heaviest / 2**20:.2f} MB transferred"
        f" (budget {BUDGET_PAGE_BYTES / 2**20:.0f} MB)  {ratio(heaviest, BUDGET_PAGE_BYTES)}"
    )
    return heaviest


def site_mb(site: Path) -> float:
    """Size on disk of the deployed site (everything under ``_build/html``), in MB."""
    return sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 2**20


def source_lines(src: Path) -> tuple[int, str, int]:
    """Total lines of the package, and its longest module with its length."""
    counts = {p.relative_to(src).as_posix(): len(p.read_text().splitlines())
              for p in src.rglob("*.py")}
    longest = max(counts, key=counts.get)
    return sum(counts.values()), longest, counts[longest]


def executed(log: Path, since: int) -> list[str]:
    """Chapters that book/_ext/prerun executed in the build whose log starts at byte ``since``."""
    text = log.read_text(errors="replace")[since:]
    return [line.split()[1] for line in text.splitlines() if line.startswith("[prerun] ")
            and " executed in " in line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, help="only weigh the pages of this built site")
    parser.add_argument("--keep", action="store_true", help="keep the temporary build folder")
    parser.add_argument("--plot-edit", nargs="+", default=list(PLOT_EDITS),
                        help=f"files of the plotting code to edit, one rebuild each (default "
                             f"{' '.join(PLOT_EDITS)})")
    args = parser.parse_args()
    if args.site:
        report_pages(args.site.resolve())
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="build-budget-"))
    repo = snapshot(tmp / "repo")
    models = tmp / "model_cache"
    env = dict(
        os.environ,
        DIFFUSION2D_CACHE=str(models),
        PYTHONPATH=os.pathsep.join([str(repo / "src"), os.environ.get("PYTHONPATH", "")]),
        PYTHONUNBUFFERED="1",
    )
    where = subprocess.run(
        [sys.executable, "-c", "import diffusion2d; print(diffusion2d.__file__)"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    log = tmp / "build.log"
    print(f"Building a copy of the book in {repo} ({os.cpu_count()} CPUs)")
    print(f"  library: {where}\n  log: {log}")
    rc_cold = 1
    try:
        cold, rc_cold = build(repo, env)
        print(f"cold build:    {cold:7.1f} s (exit {rc_cold})  {ratio(cold, BUDGET_COLD_S)}")
        trained = {p.name for p in models.rglob("*.pt")}
        edits = []  # (file, seconds, exit code, chapters run again)
        for name in args.plot_edit:
            edited = repo / name
            if not edited.is_file():
                raise SystemExit(f"--plot-edit: no such file {name}")
            with edited.open("a") as f:
                f.write("# a one-line edit (benchmarks/build_budget.py)\n")
            start = log.stat().st_size
            seconds, rc = build(repo, env)
            edits.append((name, seconds, rc, executed(log, start)))
            verdict = ratio(seconds, BUDGET_PLOT_EDIT_S)
            print(f"plot edit:     {seconds:7.1f} s (exit {rc})  {verdict}")
            print(f"  edited {name}; chapters run again ({len(edits[-1][3])}): "
                  f"{', '.join(edits[-1][3]) or 'none'}")
        retrained = sorted({p.name for p in models.rglob("*.pt")} - trained)
        print(f"  models retrained by the plot edits: {len(retrained)}")
        plot = max(e[1] for e in edits)
        rc_plot = max(e[2] for e in edits)
        warm, rc_warm = build(repo, env)
        print(f"rebuild:       {warm:7.1f} s (exit {rc_warm})  {ratio(warm, BUDGET_REBUILD_S)}")
        if rc_cold or rc_plot or rc_warm:
            print(f"  the strict build failed: see {log}")
        site = repo / "_build" / "html"
        heaviest = report_pages(site)
        mb = site_mb(site)
        lines, longest, longest_lines = source_lines(ROOT / "src" / "diffusion2d")
        print(f"\nsite on disk: {mb:.1f} MB  {ratio(mb, BUDGET_SITE_MB)}")
        print(f"src/diffusion2d: {lines} lines  {ratio(lines, BUDGET_SRC_LINES)};"
              f" longest module {longest}: {longest_lines}"
              f"  {ratio(longest_lines, BUDGET_MODULE_LINES)}")
        print()
        print(f"cold_build_s: {cold:.1f}")
        for name, seconds, _, reran in edits:
            stem = Path(name).stem
            print(f"plot_edit_{stem}_s: {seconds:.1f}")
            print(f"plot_edit_{stem}_chapters_rerun: {len(reran)}")
        print(f"plot_edit_rebuild_s: {plot:.1f}")
        print(f"plot_edit_models_retrained: {len(retrained)}")
        print(f"warm_rebuild_s: {warm:.1f}")
        print(f"site_mb: {mb:.1f}")
        print(f"heaviest_page_mb: {heaviest / 2**20:.2f}")
        print(f"src_lines: {lines}")
        print(f"max_module_lines: {longest_lines}")
    finally:
        if args.keep or rc_cold:
            print(f"\nkept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
