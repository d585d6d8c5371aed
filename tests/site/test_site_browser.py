"""Every page of the built site in a real browser (Playwright + Debian's Chromium).

For each page of the table of contents (from _toc.yml) plus index/search/genindex: it loads with
no console error, no page error and no failed request; no request leaves localhost; every <img>
has loaded; every GIF it shows has more than one frame; all math is typeset by MathJax and no raw
TeX is left visible. A full-page screenshot of each page goes to test-output/screenshots/.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

pytestmark = [pytest.mark.build, pytest.mark.browser]

MATHJAX_STARTED = "() => !!(window.MathJax && MathJax.startup && MathJax.startup.promise)"


def wait_for_math(page, timeout_ms: int = 60_000) -> dict:
    """Wait until MathJax has typeset the page (if it has math): {math: count, ok: bool}."""
    n = page.evaluate("() => document.querySelectorAll('.math').length")
    if n == 0:
        return {"math": 0, "ok": True}
    try:
        page.wait_for_function(MATHJAX_STARTED, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return {"math": n, "ok": False}
    page.evaluate("() => MathJax.startup.promise.then(() => true)")  # the first typesetting
    return {"math": n, "ok": True}


LOAD_ALL_IMAGES = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) if (img.loading === 'lazy') img.loading = 'eager';
  const pending = imgs.filter(img => !img.complete).map(img => new Promise(r => {
    img.addEventListener('load', r, {once: true});
    img.addEventListener('error', r, {once: true});
  }));
  // all loaded or failed; the timer only caps the wait (a stuck image is reported below)
  await Promise.race([Promise.all(pending), new Promise(r => setTimeout(r, 60000))]);
  return imgs.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth,
                           complete: img.complete, alt: img.alt}));
}
"""

# Text a reader can see, outside code, with MathJax output removed.
VISIBLE_TEXT = """
() => {
  const skip = 'pre, code, script, style, textarea, mjx-container, mjx-assistive-mml, '
             + '.highlight, .cell_input, .MathJax';
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || el.closest(skip)) continue;
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) continue;
    if (node.textContent.trim()) out.push(node.textContent);
  }
  return out.join('\\n');
}
"""

UNTYPESET_MATH = """
() => Array.from(document.querySelectorAll('.math'))
        .filter(el => !el.querySelector('mjx-container'))
        .map(el => el.textContent.trim().slice(0, 80))
"""

RAW_TEX = re.compile(
    r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(?:frac|sqrt|alpha|beta|bar|mathbf|mathcal|epsilon|varepsilon"
    r"|sigma|theta|sum|prod|cdot|left|right|begin|end|mathrm|tilde|hat)\b"
)


def _gif_frames(src: str, site: Path, base_url: str) -> int | None:
    """Frames of a GIF shown by an <img>, read with Pillow from the built site (or a data URI)."""
    if src.startswith("data:image/gif"):
        data = base64.b64decode(src.split(",", 1)[1])
        with Image.open(io.BytesIO(data)) as im:
            return getattr(im, "n_frames", 1)
    if not src.startswith(base_url):
        return None
    path = site / unquote(urlsplit(src).path.lstrip("/"))
    with Image.open(path) as im:
        return getattr(im, "n_frames", 1)


def test_page_in_browser(any_page, site, base_url, visit, screenshot_dir):
    if not (site / any_page).is_file():
        pytest.fail(f"{any_page} is not in the built site (is it in _toc.yml and built?)")
    v = visit(any_page)
    page = v.page
    math = wait_for_math(page)
    images = page.evaluate(LOAD_ALL_IMAGES)
    try:
        page.wait_for_load_state("networkidle", timeout=15_000)
    except Exception:  # noqa: BLE001 - reported below via the request records
        pass
    shot = screenshot_dir / (any_page.replace("/", "__").removesuffix(".html") + ".png")
    page.screenshot(path=str(shot), full_page=True)

    problems: list[str] = []
    problems += [f"request off localhost: {u}" for u in v.offsite]
    problems += [f"failed request: {u}" for u in v.failed]
    problems += [f"console error: {m}" for m in v.console_errors]
    problems += [f"page error: {m}" for m in v.page_errors]
    for img in images:
        if img["width"] == 0:
            problems.append(f"image did not load: {img['src'][:120]} (alt={img['alt']!r})")
        elif ".gif" in urlsplit(img["src"]).path.lower() or img["src"].startswith("data:image/gif"):
            frames = _gif_frames(img["src"], site, base_url)
            if frames is not None and frames <= 1:
                problems.append(f"GIF has {frames} frame(s), expected an animation: {img['src']}")
    if not math["ok"]:
        problems.append(f"{math['math']} math elements but MathJax never started")
    untypeset = page.evaluate(UNTYPESET_MATH)
    problems += [f"math not typeset: {t!r}" for t in untypeset]
    text = page.evaluate(VISIBLE_TEXT)
    for match in RAW_TEX.finditer(text):
        context = text[max(0, match.start() - 40) : match.end() + 40].replace("\n", " ")
        problems.append(f"raw TeX visible: ...{context}...")
    offsite_in_log = [
        u
        for u in v.requests
        if urlsplit(u).scheme in ("http", "https")
        and urlsplit(u).hostname not in ("127.0.0.1", "localhost")
    ]
    assert offsite_in_log == v.offsite  # every off-site request was seen by the router
    assert v.requests, "no request recorded at all: the recorder is broken"
    assert not problems, f"{any_page} (screenshot: {shot}):\n  " + "\n  ".join(problems)


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
