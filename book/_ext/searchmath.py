"""Sphinx extension: search results show formulas typeset, not their TeX source.

Sphinx 7.4's search page (``searchtools.js``) fetches each result's page and builds the summary
from its text (``Search.htmlToText``, then ``Search.makeSearchSummary``), so the TeX inside the
page's math elements shows as raw text: "... the schedule \\(\\beta_t\\) ...". Sphinx has no
option for this; ``html_show_search_summary = False`` only drops the summaries.

The fix replaces those two functions of Sphinx's global ``Search`` object: on the search page
only, this extension loads MathJax (as ``sphinx.ext.mathjax`` does on pages with equations) and
``searchmath_js/searchmath.js`` (deferred, so it runs after searchtools.js and before the search
starts). Each formula stays whole (a summary never starts or ends inside one), goes into a
``<span class="math notranslate nohighlight">``, which Sphinx's term highlighting skips, and
MathJax typesets it; a formula too long for a one- or two-line summary shows as "…". The text
comes from the article only (not the theme's buttons and page contents around it); everything
else (how much context, the "..." ends) is as in Sphinx. Tests: tests/test_searchmath.py.
"""

from __future__ import annotations

import json
from pathlib import Path

STATIC = Path(__file__).parent / "searchmath_js"
SCRIPT = "searchmath.js"


def _add_static(app) -> None:
    app.config.html_static_path.append(str(STATIC))


def _on_search_page(app, pagename, templatename, context, doctree) -> None:
    if pagename != "search" or app.builder.format != "html":
        return
    builder = app.builder
    path = app.config.mathjax_path
    if path and not any(path in str(js.filename) for js in context.get("script_files", [])):
        if app.config.mathjax3_config:
            body = f"window.MathJax = {json.dumps(app.config.mathjax3_config)}"
            builder.add_js_file("", body=body)
        builder.add_js_file(path, defer="defer")
    builder.add_js_file(SCRIPT, defer="defer")


def setup(app):
    app.connect("builder-inited", _add_static)
    app.connect("html-page-context", _on_search_page)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
