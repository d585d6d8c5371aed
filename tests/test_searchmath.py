"""book/_ext/searchmath: search summaries show formulas typeset, never their TeX source.

The Python side (MathJax and the script on the search page only) runs against a stand-in Sphinx
app; the script runs in Chromium on top of Sphinx's own searchtools.js.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import sphinx

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("searchmath", ROOT / "book/_ext/searchmath.py")
searchmath = importlib.util.module_from_spec(spec)
spec.loader.exec_module(searchmath)

SEARCHTOOLS = Path(sphinx.__file__).parent / "themes" / "basic" / "static" / "searchtools.js"
SCRIPT = searchmath.STATIC / searchmath.SCRIPT
MATHJAX3 = {"options": {"processHtmlClass": "math"}}


def fake_app(mathjax_path="mathjax/tex-chtml.js"):
    added = []
    builder = SimpleNamespace(format="html", add_js_file=lambda f, **kw: added.append((f, kw)))
    config = SimpleNamespace(mathjax_path=mathjax_path, mathjax3_config=MATHJAX3,
                             html_static_path=["_static"])  # fmt: skip
    return SimpleNamespace(builder=builder, config=config), added


def test_search_page_gets_mathjax_then_the_script():
    app, added = fake_app()
    searchmath._on_search_page(app, "search", "search.html", {"script_files": []}, None)
    assert added == [
        ("", {"body": 'window.MathJax = {"options": {"processHtmlClass": "math"}}'}),
        ("mathjax/tex-chtml.js", {"defer": "defer"}),
        ("searchmath.js", {"defer": "defer"}),
    ]


def test_other_pages_are_left_alone_and_mathjax_is_not_loaded_twice():
    app, added = fake_app()
    for page in ("intro", "chapters/02_forward", "genindex"):
        searchmath._on_search_page(app, page, "page.html", {"script_files": []}, None)
    assert added == []
    present = SimpleNamespace(filename="_static/mathjax/tex-chtml.js")
    searchmath._on_search_page(app, "search", "search.html", {"script_files": [present]}, None)
    assert added == [("searchmath.js", {"defer": "defer"})]


def test_the_script_is_shipped_from_its_own_folder():
    app, _ = fake_app()
    searchmath._add_static(app)
    assert app.config.html_static_path == ["_static", str(searchmath.STATIC)]
    assert SCRIPT.is_file() and sorted(p.name for p in searchmath.STATIC.iterdir()) == [
        "searchmath.js"
    ]


def math(tex: str, display: bool = False, number: str = "") -> str:
    if not display:
        return f'<span class="math notranslate nohighlight">\\({tex}\\)</span>'
    eqno = f'<span class="eqno">({number})<a class="headerlink" href="#">#</a></span>'
    return f'<div class="math notranslate nohighlight">{eqno if number else ""}\\[{tex}\\]</div>'


def page(*article: str) -> str:
    return (
        '<html><body><main role="main"><div class="header-article">Contents: schedule, more'
        "</div><article>" + "".join(article) + "</article></main></body></html>"
    )


@pytest.fixture
def search(browser):
    """A page with Sphinx's searchtools.js and this extension's script, run as on the site."""
    context = browser.new_context()
    pg = context.new_page()
    pg.set_content("<html><body><div id='search-results'></div></body></html>")
    pg.add_script_tag(content="window._ready = () => {};")  # doctools.js's, not needed here
    pg.add_script_tag(content=SEARCHTOOLS.read_text())
    pg.add_script_tag(content=SCRIPT.read_text())

    def summary(html: str, keywords=("schedule",)) -> dict:
        return pg.evaluate(
            """([html, keywords]) => {
                const p = Search.makeSearchSummary(html, new Set(keywords), "");
                const outside = [...p.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE);
                return {
                    text: p.textContent,
                    outside: outside.map((n) => n.textContent).join("|"),
                    maths: [...p.querySelectorAll("span")].map((s) => [s.className, s.textContent]),
                };
            }""",
            [html, list(keywords)],
        )

    yield SimpleNamespace(page=pg, summary=summary)
    context.close()


def test_formulas_become_math_elements_and_the_text_has_no_tex(search):
    s = search.summary(page(
        "<p>The noise schedule ", math(r"\beta_t"), " rises; ", math(r"\bar\alpha_t"), ".</p>",
        math(r"\begin{split}a &= b\\ c &= d\end{split}", display=True, number="2.1"),
    ))  # fmt: skip
    assert s["maths"] == [
        ["math notranslate nohighlight", r"\(\beta_t\)"],
        ["math notranslate nohighlight", r"\(\bar\alpha_t\)"],
        ["math notranslate nohighlight", r"\(\begin{aligned}a &= b\\ c &= d\end{aligned}\)"],
    ]
    assert not re.search(r"\\[(\[)\]]|\ue000|\ue001|2\.1", s["outside"]), s["outside"]
    assert s["outside"].startswith("The noise schedule")  # the article, not the theme's header
    assert "Contents" not in s["text"]


def test_a_formula_at_either_end_of_the_window_is_kept_whole(search):
    # The hit is at 153: the window (33..273) starts inside the first formula (10..36) and ends
    # inside the second (262..287), each counted with its two marks.
    first = math(r"x_{t-1} = \mu + \sigma z")
    s = search.summary(page(
        "<p>", "a" * 10, first, "b" * 116, " schedule ", "c" * 100,
        math(r"\epsilon_\theta(x_t, t)"), "d" * 200, "</p>",
    ))  # fmt: skip
    assert [tex for _, tex in s["maths"]] == [r"\(x_{t-1} = \mu + \sigma z\)",
                                              r"\(\epsilon_\theta(x_t, t)\)"]  # fmt: skip
    assert s["text"].startswith("...\\(x_{t-1}") and s["text"].endswith("t)\\)...")


def test_an_overlong_formula_shows_as_an_ellipsis(search):
    s = search.summary(page("<p>schedule ", math("+".join(["x"] * 100)), " end</p>"))
    assert s["maths"] == [] and "schedule … end" in s["text"] and "x+x" not in s["text"]


def test_a_hit_in_prose_wins_over_the_same_word_inside_a_formula(search):
    s = search.summary(
        page("<p>", math(r"\alpha"), "z" * 300, " alpha in prose ", "y" * 300, "</p>"),
        keywords=("alpha",),
    )
    assert "alpha in prose" in s["text"] and s["maths"] == []


def test_each_summary_is_typeset_once_mathjax_is_ready(search):
    typeset = search.page.evaluate(
        """async (html) => {
            const seen = [];
            window.MathJax = {startup: {promise: Promise.resolve()},
                              typesetPromise: async (els) => seen.push(...els)};
            const p = Search.makeSearchSummary(html, new Set(["schedule"]), "");
            const plain = Search.makeSearchSummary("<main role='main'>schedule</main>",
                                                   new Set(["schedule"]), "");
            await window.MathJax.startup.promise;
            return [seen.length, seen[0] === p, plain.textContent];
        }""",
        page("<p>schedule ", math(r"\beta_t"), "</p>"),
    )
    assert typeset == [1, True, "schedule"]  # a summary without formulas is left alone
