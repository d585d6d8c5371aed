"""Sphinx extension: keep every page self-contained (no third-party requests, no console errors).

Jupyter Book v1 always loads `sphinx_thebe`, even with `launch_buttons.thebe: false`: it adds an
inline script declaring `const THEBE_JS_URL = "https://unpkg.com/..."` plus `sphinx-thebe.js` to
every page. With Sphinx 7.4 that inline script is emitted twice, which throws
"Identifier 'THEBE_JS_URL' has already been declared" on every page. With Thebe off, this
extension drops Thebe's assets from every page; it also drops exact duplicate <script> entries.

It also ships only what pages can load. sphinx-mathjax-offline copies all of MathJax (24 MB: every
combined bundle, Node adaptors) into `_static/mathjax`, but pages load one bundle (`mathjax_path`,
tex-chtml.js) and, from it, only: the CHTML web fonts, TeX extensions (autoload) and what
MathJax's context menu loads on demand (a11y, the speech rule engine `sre`, ui; the MathML input
that Accessibility > Activate needs; the SVG output and its font, for Math Renderer > SVG). After
the build (and after that copy) the rest is deleted, as are source maps (`*.map`), which only
browser developer tools fetch. The speech rule engine keeps its English rules and
Nemeth braille (``SRE_LOCALES``, MathJax's defaults); the other ten locales (3.2 MB) would only
be fetched if a reader chose another speech language in MathJax's menu.

The theme's icons need no script either: pydata-sphinx-theme's stylesheet already draws them
with the Font Awesome web fonts (woff2), so `scripts/fontawesome.js` (1.5 MB, which would turn
every icon into inline SVG) is dropped from every page and from the site, as is
`_static/locales` (the theme's gettext catalogs, used while building, never by a page). The
stylesheet names each font as woff2 and, after it, as a TrueType fallback for browsers without
woff2 (none that runs this site's scripts): the fallbacks (0.7 MB) leave the stylesheet and the
site. Of MathJax's TeX extensions, `all-packages.js` goes too (autoload requests a package's own
file), and the MathML input's extensions (the pages' input is TeX).

Assets from a CDN are NOT silently removed here: the site tests (tests/site/) report them, and
the fix belongs in the configuration (e.g. myst-nb `nb_ipywidgets_js: {}`) or in the page
(e.g. Bokeh with INLINE resources).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

# What a page's MathJax bundle loads or can load later, relative to _static/mathjax/
MATHJAX_ON_DEMAND = (
    "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y", "sre", "ui",
    # the menu's choices: Accessibility > Activate (the semantic enrichment reads MathML) and
    # Math Renderer > SVG (with its font); MathJax remembers a choice across pages, so a missing
    # file would leave every later page without formulas
    "input/mml.js", "output/svg.js", "output/svg/fonts",
)
# ... but not every TeX package in one file: autoload requests a package's own file
MATHJAX_NEVER = ("input/tex/extensions/all-packages.js",)
# a stylesheet's TrueType fallback after its woff2 (which every browser that runs the site takes)
TTF_FALLBACK = re.compile(r',\s*url\(([^()]+\.ttf)\)\s*format\("truetype"\)')
SRE_LOCALES = ("base.json", "en.json", "nemeth.json")  # _static/mathjax/sre/mathmaps/
UNUSED = ("scripts/fontawesome.js", "locales")  # relative to _static/
FONTAWESOME_SCRIPT = re.compile(r'[ \t]*<script defer src="[./]*_static/scripts/fontawesome\.js'
                                r'\?digest=\w+"></script>\n?')


def _thebe_enabled(app) -> bool:
    options = app.config.html_theme_options or {}
    launch = options.get("launch_buttons") or {}
    thebe_config = getattr(app.config, "thebe_config", None) or {}
    always = isinstance(thebe_config, dict) and str(thebe_config.get("always_load")) == "True"
    return bool(launch.get("thebe")) or always


def _is_thebe(asset) -> bool:
    name = str(getattr(asset, "filename", asset) or "")
    body = str(getattr(asset, "attributes", {}).get("body", ""))
    return "sphinx-thebe" in name or "THEBE_JS_URL" in body or "unpkg.com/thebe" in name


def _key(asset) -> tuple:
    name = str(getattr(asset, "filename", asset) or "")
    attrs = getattr(asset, "attributes", {}) or {}
    return (name, tuple(sorted((k, str(v)) for k, v in attrs.items())))


def _clean(app, pagename, templatename, context, doctree) -> None:
    drop_thebe = not _thebe_enabled(app)
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if not assets:
            continue
        seen: set[tuple] = set()
        kept = []
        for asset in assets:
            if drop_thebe and _is_thebe(asset):
                continue
            k = _key(asset)
            if k in seen:
                continue
            seen.add(k)
            kept.append(asset)
        assets[:] = kept


def prune_static(static: Path, mathjax_entry: str) -> int:
    """Delete from ``static`` (a built ``_static``) what no page loads; return bytes freed."""
    freed = 0

    def drop(path: Path) -> None:
        nonlocal freed
        if path.is_dir():
            freed += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path)
        elif path.is_file():
            freed += path.stat().st_size
            path.unlink()

    mathjax = static / "mathjax"
    if mathjax.is_dir():
        keep = {mathjax / mathjax_entry} | {mathjax / d for d in MATHJAX_ON_DEMAND}
        if not (mathjax / mathjax_entry).is_file():
            raise FileNotFoundError(f"mathjax_path: no {mathjax / mathjax_entry}")
        for path in sorted(mathjax.rglob("*"), reverse=True):  # children before parents
            never = any(path == mathjax / n for n in MATHJAX_NEVER)
            if not never and any(path == k or k in path.parents for k in keep):
                continue
            if path.is_dir() and any(k.is_relative_to(path) for k in keep):
                continue  # a parent of something kept
            drop(path)
    mathmaps = mathjax / "sre" / "mathmaps"
    if mathmaps.is_dir():
        for path in mathmaps.iterdir():
            if path.name not in SRE_LOCALES:
                drop(path)
    for name in UNUSED:
        drop(static / name)
    for path in static.rglob("*.map"):
        drop(path)
    for font in drop_font_fallbacks(static):
        drop(font)
    return freed


def drop_font_fallbacks(static: Path) -> list[Path]:
    """Remove the TrueType fallbacks (``url(...ttf) format("truetype")`` after a woff2) from the
    stylesheets under ``static``; return the .ttf files that no stylesheet names any more."""
    named, dropped = set(), set()
    for css in static.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        fallbacks = {(css.parent / m.group(1)).resolve() for m in TTF_FALLBACK.finditer(text)}
        if fallbacks:
            text = TTF_FALLBACK.sub("", text)
            css.write_text(text, encoding="utf-8")
            dropped |= fallbacks
        named |= {(css.parent / u).resolve() for u in re.findall(r"url\(([^()]+\.ttf)\)", text)}
    return sorted(p for p in dropped - named if p.is_file())


def drop_fontawesome_script(outdir: Path) -> int:
    """Remove the theme's ``fontawesome.js`` tag from every page; return how many pages had it."""
    changed = 0
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = FONTAWESOME_SCRIPT.sub("", text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def _prune(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    path = str(app.config.mathjax_path or "")
    entry = path.removeprefix("mathjax/") if path.startswith("mathjax/") else ""
    if entry:
        prune_static(Path(app.outdir) / "_static", entry)
    drop_fontawesome_script(Path(app.outdir))


def setup(app):
    # after sphinx-mathjax-offline copies MathJax (build-finished, default priority 500)
    app.connect("build-finished", _prune, priority=900)
    # late priority: after the extensions that add per-page assets (myst-nb, sphinx-thebe)
    app.connect("html-page-context", _clean, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
