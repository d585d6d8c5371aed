"""The interactive trajectory explorer (Bokeh) reacts to its controls, in a real browser.

The page (default chapters/06b_explorer.html, override with EXPLORER_PAGE) holds a Bokeh layout
with a time slider, a tail-length slider, a particle-count slider and a DDIM toggle. The test
waits for BokehJS to render, moves the time slider with the mouse, flips the DDIM control with
the mouse, and asserts after each that the plot's pixels changed (and that the slider's value
changed), with no console error and no request off localhost. Works for a Bokeh layout in the
page itself or in an <iframe>. Before/after screenshots go to test-output/screenshots/.
"""

from __future__ import annotations

import os
import re
import time

import pytest
from sitetools import ROOT, toc_pages

pytestmark = [pytest.mark.build, pytest.mark.browser]

EXPLORER_PAGE = os.environ.get("EXPLORER_PAGE", "chapters/06b_explorer.html")
TIME_TITLE = re.compile(r"\btime\b|\bstep\b|^\s*t\b", re.I)
NOT_TIME = re.compile(r"tail|particle|count|number|points|speed", re.I)
DDIM = re.compile(r"\bDDIM\b")
DDPM = re.compile(r"\bDDPM\b")

BOKEH_READY = """() => !!(window.Bokeh && Bokeh.documents && Bokeh.documents.length > 0
                       && Bokeh.documents.every(d => d.is_idle !== false))"""
CANVAS_PIXELS = """els => els.filter(c => c.width > 0 && c.height > 0).map(c => {
    try { return c.toDataURL('image/png'); } catch (e) { return 'tainted:' + c.width; } })"""
SLIDER_TITLE = """el => { const t = el.getRootNode().querySelector('.bk-slider-title');
                         return t ? t.textContent : ''; }"""


def bokeh_frame(page, timeout_s: float = 30.0):
    """The frame (page or iframe) whose Bokeh document has rendered at least one canvas."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            try:
                if frame.evaluate(BOKEH_READY) and frame.locator("canvas").count() > 0:
                    return frame
            except Exception:  # noqa: BLE001 - frame navigating or detached: try again
                pass
        page.wait_for_timeout(200)
    return None


def pixels(frame) -> list[str]:
    return frame.locator("canvas").evaluate_all(CANVAS_PIXELS)


def wait_for_change(frame, before: list[str], timeout_ms: int = 5000) -> list[str]:
    deadline = time.monotonic() + timeout_ms / 1000
    now = pixels(frame)
    while now == before and time.monotonic() < deadline:
        frame.page.wait_for_timeout(100)
        now = pixels(frame)
    return now


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
    frame.page.wait_for_timeout(300)
    before = pixels(frame)
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
