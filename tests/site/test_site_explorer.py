"""The interactive trajectory explorer (Bokeh) reacts to its controls, in a real browser.

The page (default chapters/06b_explorer.html, override with EXPLORER_PAGE) holds a Bokeh layout
with a time slider, a tail-length slider, a particle-count slider and a DDIM toggle. The test
waits for BokehJS to render and its canvases to settle, moves the time slider with the mouse,
flips the DDIM control with the mouse, and asserts after each that the plot's pixels changed (and
that the slider's value changed), with no console error and no request off localhost. Every wait
is for a condition (rendered, settled, changed), with a timeout; none is a fixed pause. Works for
a Bokeh layout in the page itself or in an <iframe>. Before/after screenshots go to
test-output/screenshots/.
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sitetools import ROOT, toc_pages

pytestmark = [pytest.mark.build, pytest.mark.browser]

EXPLORER_PAGE = os.environ.get("EXPLORER_PAGE", "chapters/06b_explorer.html")
TIME_TITLE = re.compile(r"\btime\b|\bstep\b|^\s*t\b", re.I)
NOT_TIME = re.compile(r"tail|particle|count|number|points|speed", re.I)
DDIM = re.compile(r"\bDDIM\b")
DDPM = re.compile(r"\bDDPM\b")

# Functions over one document, shared by the page functions below. Bokeh draws on <canvas>es in
# (open) shadow roots, which querySelectorAll does not enter: walk them.
_CANVAS_JS = r"""
const canvasesOf = doc => {
  const out = [];
  const walk = root => { for (const e of root.querySelectorAll('*')) {
      if (e.tagName === 'CANVAS') out.push(e);
      if (e.shadowRoot) walk(e.shadowRoot); } };
  walk(doc);
  return out;
};
const pixelsOf = doc => canvasesOf(doc).filter(c => c.width > 0 && c.height > 0).map(c => {
  try { return c.toDataURL('image/png'); } catch (e) { return 'tainted:' + c.width; } });
const bokehReady = win => { try {
  const B = win.Bokeh;
  return !!(B && B.documents && B.documents.length > 0
            && B.documents.every(d => d.is_idle !== false) && canvasesOf(win.document).length > 0);
} catch (e) { return false; } };  // a cross-origin frame
"""


def _js(params: str, body: str) -> str:
    """A page function `(params) => {body}` that can use the helpers of _CANVAS_JS."""
    return f"({params}) => {{{_CANVAS_JS}{body}}}"


# True once the page or any (same-origin) iframe in it has a rendered Bokeh document.
BOKEH_READY_ANYWHERE = _js(
    "",
    r"""
  const windows = win => { let frames = [];
    try { frames = Array.from(win.document.querySelectorAll('iframe')); } catch (e) {}
    return [win, ...frames.filter(f => f.contentWindow).flatMap(f => windows(f.contentWindow))]; };
  return windows(window).some(bokehReady);
""",
)
BOKEH_READY = _js("", "return bokehReady(window);")
PIXELS = _js("", "return pixelsOf(document);")
# The canvases differ from `before` (a list of data URLs, as PIXELS returns).
PIXELS_CHANGED = _js(
    "before",
    r"""
  const now = pixelsOf(document);
  return now.length !== before.length || now.some((p, i) => p !== before[i]);
""",
)
# Polled once per animation frame: the pixels when a frame has passed without a change (nothing
# left to paint), else null.
PIXELS_SETTLED = _js(
    "",
    r"""
  const now = JSON.stringify(pixelsOf(document));
  const same = window.__explorerTestPixels === now;
  window.__explorerTestPixels = now;
  return same && now !== '[]' ? JSON.parse(now) : null;
""",
)
SLIDER_TITLE = """el => { const t = el.getRootNode().querySelector('.bk-slider-title');
                         return t ? t.textContent : ''; }"""


def bokeh_frame(page, timeout_ms: int = 60_000):
    """The frame (page or iframe) whose Bokeh document has rendered at least one canvas."""
    try:
        page.wait_for_function(BOKEH_READY_ANYWHERE, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return None
    for frame in page.frames:
        try:
            if frame.evaluate(BOKEH_READY):
                return frame
        except PlaywrightError:  # a frame navigating or detached: not the one
            pass
    return None


def pixels(frame) -> list[str]:
    return frame.evaluate(PIXELS)


def settled_pixels(frame, timeout_ms: int = 30_000) -> list[str]:
    """The canvases once they stop changing: one animation frame with nothing newly painted."""
    frame.evaluate("() => { delete window.__explorerTestPixels; }")
    try:
        settled = frame.wait_for_function(PIXELS_SETTLED, polling="raf", timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return pixels(frame)  # still changing after timeout_ms: the caller compares what is there
    return settled.json_value()


def wait_for_change(frame, before: list[str], timeout_ms: int = 30_000) -> list[str]:
    """The canvases once they differ from `before` and have settled; `before` after timeout_ms."""
    try:
        frame.wait_for_function(PIXELS_CHANGED, arg=before, polling=100, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return pixels(frame)
    return settled_pixels(frame)


def sliders(frame) -> list[tuple[str, object]]:
    """(title, noUiSlider track locator) for every Bokeh slider, in page order."""
    tracks = frame.locator(".noUi-target")
    return [(tracks.nth(i).evaluate(SLIDER_TITLE), tracks.nth(i)) for i in range(tracks.count())]


def time_slider(found: list[tuple[str, object]]):
    named = [s for s in found if TIME_TITLE.search(s[0]) and not NOT_TIME.search(s[0])]
    return (named or found)[0]


def move_slider(frame, track) -> None:
    """Click the slider track far from its handle (noUiSlider moves the handle there)."""
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    handle = track.locator(".noUi-handle").first.bounding_box()
    assert box and handle, "slider not visible"
    at = handle["x"] + handle["width"] / 2
    x = box["x"] + box["width"] * (0.2 if at > box["x"] + box["width"] / 2 else 0.8)
    frame.page.mouse.click(x, box["y"] + box["height"] / 2)


# Marks the control that switches to DDIM (or back to DDPM if DDIM is on) with
# data-explorer-test="ddim", searching Bokeh's shadow roots; returns a description or null.
MARK_DDIM_CONTROL = r"""
() => {
  const ddim = /\bDDIM\b/, ddpm = /\bDDPM\b/;
  const all = [];
  const walk = root => { for (const e of root.querySelectorAll('*')) {
      all.push(e); if (e.shadowRoot) walk(e.shadowRoot); } };
  walk(document);
  const inBokeh = e => e.getRootNode() instanceof ShadowRoot || !!e.closest('[class*="bk-"]');
  const own = (e, rx) => rx.test(e.textContent || '') && !['SCRIPT', 'STYLE'].includes(e.tagName)
      && !Array.from(e.children).some(c => rx.test(c.textContent || ''));
  const mark = (e, what) => { e.setAttribute('data-explorer-test', 'ddim');
      return what + ': ' + (e.textContent || e.outerHTML).trim().slice(0, 60); };
  const isOn = e => e.classList.contains('bk-active') || e.getAttribute('aria-pressed') === 'true'
      || !!(e.querySelector && e.querySelector('input:checked'));
  for (const t of all.filter(e => own(e, ddim) && inBokeh(e) && e.tagName !== 'OPTION')) {
    const button = t.closest('button');
    if (button) {
      const other = Array.from(button.parentElement.children).find(b => ddpm.test(b.textContent));
      return isOn(button) && other ? mark(other, 'button') : mark(button, 'button');
    }
    const label = t.closest('label');
    if (label) {
      const other = Array.from(label.parentElement.children).find(b => ddpm.test(b.textContent));
      if (isOn(label) && other) return mark(other.querySelector('input') || other, 'label');
      return mark(label.querySelector('input') || label, 'label');
    }
    const parent = t.parentElement || t.parentNode;  // a shadow root is not an element
    const box = parent && parent.querySelector('input[type=checkbox], input[type=radio]');
    if (box) return mark(box, 'checkbox');
    const root = t.getRootNode();
    const sw = root.querySelector && root.querySelector('.bk-switch, [role=switch]');
    if (sw) return mark(sw, 'switch');
  }
  return null;
}
"""


def flip_ddim(frame) -> str:
    """Flip the DDIM control with the mouse, whatever widget it is; returns what was clicked."""
    marked = frame.evaluate(MARK_DDIM_CONTROL)
    if marked:
        target = frame.locator("[data-explorer-test=ddim]").first
        target.scroll_into_view_if_needed()
        target.click()
        return marked
    selects = frame.locator("select").filter(has=frame.locator("option", has_text=DDIM))
    if selects.count():
        select = selects.first
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("el => el.options[el.selectedIndex].text")
        choice = next(o for o in options if (DDPM if DDIM.search(current) else DDIM).search(o))
        select.select_option(label=choice)
        return f"select {choice!r}"
    switches = frame.locator(".bk-Switch, [role=switch]")
    if switches.count() == 1:
        switches.first.scroll_into_view_if_needed()
        switches.first.click()
        return "switch"
    pytest.fail("no DDIM control found (a button, label, checkbox, select option or switch)")


def exercise_explorer(page, shots_prefix=None) -> dict:
    """Drive the explorer on an opened page; returns what happened (for the assertions)."""
    frame = bokeh_frame(page)
    assert frame is not None, "no rendered Bokeh document (Bokeh.documents with a canvas) found"
    found = sliders(frame)
    titles = [t for t, _ in found]
    assert len(found) >= 3, f"expected time, tail-length and particle sliders, found {titles}"
    title, track = time_slider(found)
    result = {"sliders": titles, "time_slider": title}
    before = settled_pixels(frame)  # the first paint done: a later change is the control's
    assert before, "no drawable canvas"
    if shots_prefix:
        page.screenshot(path=f"{shots_prefix}-0-before.png", full_page=True)

    move_slider(frame, track)
    after_time = wait_for_change(frame, before)
    result["time_title_after"] = track.evaluate(SLIDER_TITLE)
    result["time_changed_plot"] = after_time != before
    if shots_prefix:
        page.screenshot(path=f"{shots_prefix}-1-time.png", full_page=True)

    result["ddim_control"] = flip_ddim(frame)
    after_ddim = wait_for_change(frame, after_time)
    result["ddim_changed_plot"] = after_ddim != after_time
    if shots_prefix:
        page.screenshot(path=f"{shots_prefix}-2-ddim.png", full_page=True)
    return result


def test_explorer_reacts_to_controls(site, visit, screenshot_dir):
    if EXPLORER_PAGE not in toc_pages():
        pytest.skip(f"{EXPLORER_PAGE} is not in _toc.yml")
    source = ROOT / "book" / EXPLORER_PAGE.replace(".html", ".md")
    built = (site / EXPLORER_PAGE).read_text(errors="replace").lower()
    if "bokeh" not in built and (not source.exists() or "bokeh" not in source.read_text().lower()):
        pytest.skip(f"{EXPLORER_PAGE} has no Bokeh explorer yet (placeholder chapter)")
    v = visit(EXPLORER_PAGE)
    prefix = screenshot_dir / ("explorer-" + EXPLORER_PAGE.replace("/", "__").removesuffix(".html"))
    result = exercise_explorer(v.page, shots_prefix=str(prefix))

    assert result["time_changed_plot"], f"moving the time slider did not change the plot: {result}"
    assert result["time_title_after"] != result["time_slider"] or not re.search(
        r"\d", result["time_slider"]
    ), f"the time slider's value did not change: {result}"
    assert result["ddim_changed_plot"], f"flipping DDIM did not change the plot: {result}"
    assert not v.offsite, f"requests off localhost: {v.offsite}"
    assert not v.failed, f"failed requests: {v.failed}"
    assert not v.console_errors and not v.page_errors, v.console_errors + v.page_errors
