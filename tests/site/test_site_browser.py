"""Every page of the built site in a real browser (Playwright + Debian's Chromium), at both widths.

For each page of the table of contents (from _toc.yml) plus index/search/genindex, at 1280 and at
390 CSS px: it loads with no console error, no page error; no request leaves localhost; no request
is for a missing file (4xx/5xx or failed), the site icon included; every <img> has loaded; every
GIF it shows has more than one frame; all math is typeset by MathJax and no raw TeX is left
visible. Each page is visited once per width (conftest.page_report), which also saves its
full-page screenshot to test-output/screenshots/<page>-<width>px.png.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from pagereport import media_info

pytestmark = [pytest.mark.build, pytest.mark.browser]

RAW_TEX = re.compile(
    r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(?:frac|sqrt|alpha|beta|bar|mathbf|mathcal|epsilon|varepsilon"
    r"|sigma|theta|sum|prod|cdot|left|right|begin|end|mathrm|tilde|hat)\b"
)


def test_page_in_browser(any_page, site_width, site, base_url, page_report):
    r = page_report(any_page, site_width)
    problems: list[str] = []
    problems += [f"request off localhost: {u}" for u in r.offsite]
    problems += [f"console error: {m}" for m in r.console_errors]
    problems += [f"page error: {m}" for m in r.page_errors]
    for img in r.all_images:
        if img["natural"] == 0:
            problems.append(f"image did not load: {img['src'][:120]} (alt={img['alt']!r})")
        elif ".gif" in urlsplit(img["src"]).path.lower() or img["src"].startswith("data:image/gif"):
            frames = media_info(img["src"], site, base_url)["frames"]
            if frames <= 1:
                problems.append(f"GIF has {frames} frame(s), expected an animation: {img['src']}")
    if not r.math["ok"]:
        problems.append(f"{r.math['math']} math elements but MathJax never started")
    problems += [f"math not typeset: {t!r}" for t in r.untypeset]
    for match in RAW_TEX.finditer(r.text):
        context = r.text[max(0, match.start() - 40) : match.end() + 40].replace("\n", " ")
        problems.append(f"raw TeX visible: ...{context}...")
    offsite_in_log = [
        u
        for u in r.requests
        if urlsplit(u).scheme in ("http", "https")
        and urlsplit(u).hostname not in ("127.0.0.1", "localhost")
    ]
    assert offsite_in_log == r.offsite  # every off-site request was seen by the router
    assert r.requests, "no request recorded at all: the recorder is broken"
    assert not problems, f"{r.where()}:\n  " + "\n  ".join(problems)


def test_no_request_for_a_missing_file(any_page, site_width, page_report):
    """Nothing the page asks for is missing: no 4xx/5xx, no failed request, the icon exists."""
    r = page_report(any_page, site_width)
    problems = [f"failed request: {u}" for u in r.failed]
    problems += [
        f"site icon {url} answers HTTP {status}" for url, status in r.icons if status >= 400
    ]
    assert r.icons, "no site icon checked: the recorder is broken"
    assert not problems, f"{r.where()}:\n  " + "\n  ".join(problems)


def test_toc_pages_link_each_other(site, base_url, visit):
    """The sidebar of the root page links every TOC page (the navigation readers use)."""
    from sitetools import toc_pages

    v = visit(toc_pages()[0])
    hrefs = v.page.evaluate(
        "() => Array.from(document.querySelectorAll('nav a[href], .bd-sidebar a[href]'))"
        ".map(a => a.href)"
    )
    linked = {urlsplit(h).path.lstrip("/") for h in hrefs if h.startswith(base_url)}
    missing = [p for p in toc_pages()[1:] if p not in linked]
    assert not missing, f"TOC pages missing from the sidebar: {missing}"


@pytest.mark.parametrize("settings", ['{"explorer":true}', '{"renderer":"SVG"}'],
                         ids=["accessibility-activate", "renderer-svg"])
def test_math_menu_choices_load(settings, site, base_url, browser):
    """MathJax's menu remembers a choice (Accessibility > Activate, Math Renderer > SVG) in the
    browser and applies it on every later page: the files it then loads must be on the site, or
    no formula of any page renders (and the menu to undo it is gone with them)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
    from sitetools import Visit

    v = Visit(browser, base_url, "chapters/scores.html")
    try:
        v.page.add_init_script(f"localStorage.setItem('MathJax-Menu-Settings', '{settings}')")
        v.open()
        try:  # every formula typeset (bounded: with a file missing, MathJax never finishes)
            v.page.wait_for_function(
                "() => document.querySelectorAll('.math').length > 0 && document"
                ".querySelectorAll('mjx-container').length >= document"
                ".querySelectorAll('.math').length", timeout=60_000)
        except PlaywrightTimeoutError:
            pytest.fail(f"formulas not typeset with the menu settings {settings}; failed "
                        f"requests: {v.failed}")
        shown = v.page.evaluate("""() => ({
            math: document.querySelectorAll('.math').length,
            typeset: document.querySelectorAll('.math mjx-container, mjx-container.MathJax').length,
            svg: document.querySelectorAll('mjx-container svg').length,
            enriched: document.querySelectorAll('mjx-container [data-semantic-type]').length})""")
        assert shown["typeset"] >= shown["math"] > 0, shown
        if "SVG" in settings:
            assert shown["svg"] >= shown["math"], shown
        else:
            v.page.wait_for_function(
                "() => document.querySelector('mjx-container [data-semantic-type]')",
                timeout=60_000)
        v.settle()
        v.assert_clean()
    finally:
        v.close()
