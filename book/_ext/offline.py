"""Sphinx extension: keep every page self-contained (no third-party requests, no console errors).

Jupyter Book v1 always loads `sphinx_thebe`, even with `launch_buttons.thebe: false`: it adds an
inline script declaring `const THEBE_JS_URL = "https://unpkg.com/..."` plus `sphinx-thebe.js` to
every page. With Sphinx 7.4 that inline script is emitted twice, which throws
"Identifier 'THEBE_JS_URL' has already been declared" on every page. With Thebe off, this
extension drops Thebe's assets from every page; it also drops exact duplicate <script> entries.

Assets from a CDN are NOT silently removed here: the site tests (tests/site/) report them, and
the fix belongs in the configuration (e.g. myst-nb `nb_ipywidgets_js: {}`) or in the page
(e.g. Bokeh with INLINE resources).
"""

from __future__ import annotations


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


def setup(app):
    # late priority: after the extensions that add per-page assets (myst-nb, sphinx-thebe)
    app.connect("html-page-context", _clean, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
