"""The live explorer (Bokeh) on the built page, in Chromium at 1280 and at 390 CSS px.

The page (default chapters/06b_explorer.html, override with EXPLORER_PAGE) holds the layout of
:func:`diffusion2d.plotting.explorer.build_explorer`: a plot and a column of controls, named as in
:data:`diffusion2d.plotting.explorer.WIDGETS`, and the trained model, which the page samples when
it is ready. At each width (sitetools.WIDTHS) the tests check that

- the widget fits the article column with no sideways scrolling; controls sit beside the plot at
  1280, in one column, and under it at 390, where the plot fills the width and the short controls
  pair up: with the plot's top at the top of the screen, every control is on screen too;
- the plot keeps an equal aspect: as many pixels per data unit along x as along y (its frame);
- every control lies inside the viewport once scrolled to, and each one, used with the mouse,
  changes its value and the plot's pixels (those of the run sample a new run);
- every control has an accessible name and works from the keyboard;
- Play runs t down and Pause stops it; no arrow is drawn where DDPM adds no noise;
- (390 only, touch) a vertical swipe over the plot scrolls the page and leaves the plot alone;

with no console error, failed request or request off localhost. Every wait is for a condition
(rendered, settled, changed), with a timeout; none is a pause that hopes. Screenshots of the
explorer at both widths go to test-output/screenshots/explorer-<width>px*.png.
"""

from __future__ import annotations

import json
import os
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sitetools import (
    EXPLORER_PLAY,
    EXPLORER_TIME,
    HEIGHTS,
    LOCAL_HOSTS,
    SCREENSHOTS,
    Visit,
    play_then_pause,
    toc_pages,
)

from diffusion2d.plotting.explorer import (
    CONTROL_ORDER,
    PLOT_NAME,
    RUN_CONTROLS,
    SAMPLERS,
    STEP_MS,
    VIEW_LIMITS,
    WIDGETS,
)

pytestmark = [pytest.mark.build, pytest.mark.browser]

EXPLORER_PAGE = os.environ.get("EXPLORER_PAGE", "chapters/06b_explorer.html")
PHONE = 390  # CSS px, one of sitetools.WIDTHS
SAMPLER_LABELS = tuple(SAMPLERS)  # DDPM, DDIM, Heun

# Page functions. Bokeh draws on <canvas>es inside (open) shadow roots: walk them.
_HELPERS = r"""
const model = n => Bokeh.documents[0].get_model_by_name(n);
const canvases = () => { const out = [];
  const walk = root => { for (const e of root.querySelectorAll('*')) {
      if (e.tagName === 'CANVAS' && e.width > 0 && e.height > 0) out.push(e);
      if (e.shadowRoot) walk(e.shadowRoot); } };
  walk(document); return out; };
const pixels = () => canvases().map(c => c.toDataURL('image/png'));
"""


def _js(params: str, body: str) -> str:
    return f"({params}) => {{{_HELPERS}{body}}}"


# BokehJS has rendered the plot (a frame with a size), every control has a view, and the first
# run is sampled and drawn (the status line under the plot gives its time).
READY = _js(
    "names",
    r"""
  if (!(window.Bokeh && Bokeh.documents && Bokeh.documents.length)) return false;
  const doc = Bokeh.documents[0];
  if (doc.is_idle === false || !model(names[0])) return false;
  const views = names.map(n => Bokeh.index.find_one(model(n)));
  const status = document.querySelector('.explorer-status');
  return views.every(v => v && v.el && v.el.isConnected) && views[0].frame.bbox.width > 0
    && canvases().length > 0 && !!status && / ms$/.test(status.textContent);
""",
)
PIXELS = _js("", "return pixels();")
PIXELS_CHANGED = _js(
    "before",
    """const now = pixels();
  return now.length !== before.length || now.some((p, i) => p !== before[i]);""",
)
# Polled once per animation frame: the pixels once a frame passed without a change, else null.
PIXELS_SETTLED = _js(
    "",
    r"""
  const now = JSON.stringify(pixels()), same = window.__explorerPixels === now;
  window.__explorerPixels = now;
  return same && now !== '[]' ? JSON.parse(now) : null;
""",
)
# The plot's frame in CSS px and its ranges in data units.
FRAME = _js(
    "name",
    r"""
  const m = model(name), v = Bokeh.index.find_one(m), f = v.frame.bbox;
  return {width: f.width, height: f.height, x: [m.x_range.start, m.x_range.end],
          y: [m.y_range.start, m.y_range.end], title: m.title.text};
""",
)
VALUES = _js(
    "names",
    r"""
  const out = {};
  for (const [key, n] of Object.entries(names)) {
    const m = model(n);
    out[key] = 'value' in m ? m.value : ('active' in m ? m.active : m.label);
  }
  return out;
""",
)
# How the browser treats touches on the plot's event layer (Bokeh sets it from the active tools).
TOUCH_ACTION = _js(
    "name",
    r"""
  const v = Bokeh.index.find_one(model(name)), out = [];
  const walk = root => { for (const e of root.querySelectorAll('*')) {
      if (e.classList && e.classList.contains('bk-events'))
        out.push(getComputedStyle(e).touchAction);
      if (e.shadowRoot) walk(e.shadowRoot); } };
  walk(v.el.shadowRoot || v.el);
  return out;
""",
)
# The box of an element (CSS px, relative to the viewport) and its horizontal overflow.
BOX = """el => { const r = el.getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width,
          scroll: el.scrollWidth, client: el.clientWidth}; }"""


def _require_page(site) -> None:
    if EXPLORER_PAGE not in toc_pages():
        pytest.fail(f"{EXPLORER_PAGE} is not in _toc.yml")
    if "explorer-plot" not in (site / EXPLORER_PAGE).read_text(errors="replace"):
        pytest.fail(f"{EXPLORER_PAGE} holds no explorer ({PLOT_NAME} not found)")


def _wait_ready(page) -> None:
    names = [PLOT_NAME, *WIDGETS.values()]
    page.wait_for_function(READY, arg=names, timeout=90_000)
    page.locator(".explorer").scroll_into_view_if_needed()


@pytest.fixture
def explorer_page(site, base_url, browser, site_width):
    """The explorer page opened at ``site_width``, BokehJS rendered; closed after the test."""
    _require_page(site)
    v = Visit(browser, base_url, EXPLORER_PAGE, width=site_width).open()
    try:
        _wait_ready(v.page)
        yield v
        v.assert_clean()
    finally:
        v.close()


def settled_pixels(page, timeout_ms: int = 30_000) -> list[str]:
    """The canvases once they stop changing: one animation frame with nothing newly painted."""
    page.evaluate("() => { delete window.__explorerPixels; }")
    try:
        settled = page.wait_for_function(PIXELS_SETTLED, polling="raf", timeout=timeout_ms)
        return settled.json_value()
    except PlaywrightTimeoutError:
        return page.evaluate(PIXELS)  # still changing: the caller compares what is there


def wait_for_change(page, before: list[str], timeout_ms: int = 30_000) -> list[str]:
    """The canvases once they differ from ``before`` and have settled (``before`` if never)."""
    try:
        page.wait_for_function(PIXELS_CHANGED, arg=before, polling=100, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        return page.evaluate(PIXELS)
    return settled_pixels(page)


def box(locator) -> dict:
    return locator.evaluate(BOX)


def screenshot(page, name: str) -> None:
    """The explorer alone, cut from a full-page screenshot taken at the top of the page (the
    theme's sticky header then sits at the top, not over the widget)."""
    page.evaluate("() => window.scrollTo(0, 0)")
    b = page.locator(".explorer").bounding_box()  # page coordinates, once scrolled to the top
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True, clip=b)


def test_explorer_fits_the_column_with_an_equal_aspect(explorer_page, site_width):
    page = explorer_page.page
    explorer = page.locator(".explorer")
    whole, column = box(explorer), box(page.locator("article").first)
    assert whole["scroll"] <= whole["client"] + 1, f"the explorer scrolls sideways: {whole}"
    assert column["left"] - 1 <= whole["left"] and whole["right"] <= column["right"] + 1, (
        f"the explorer {whole} leaves the article column {column}"
    )
    assert whole["right"] <= site_width, whole
    plot = box(page.locator(".explorer-plot-box"))
    controls = box(page.locator(".explorer-controls-box"))
    if site_width >= 1000:  # side by side: the controls right of the plot
        assert controls["left"] >= plot["right"], (plot, controls)
        assert controls["top"] < plot["bottom"], (plot, controls)
    else:  # a phone: the controls under the plot, which takes the whole width
        assert controls["top"] >= plot["bottom"] - 1, (plot, controls)
        assert plot["width"] >= 0.95 * (whole["client"] - 16), (plot, whole)
    frame = page.evaluate(FRAME, PLOT_NAME)
    per_x = frame["width"] / (frame["x"][1] - frame["x"][0])
    per_y = frame["height"] / (frame["y"][1] - frame["y"][0])
    assert per_x == pytest.approx(per_y, rel=0.01), f"unequal aspect: {frame}"
    # the square VIEW_LIMITS^2 is in view whatever the frame's shape
    lo, hi = VIEW_LIMITS
    assert frame["x"][0] <= lo + 1e-9 and frame["x"][1] >= hi - 1e-9, frame
    assert frame["y"][0] <= lo + 1e-9 and frame["y"][1] >= hi - 1e-9, frame
    # the default run's starting points x_T lie inside it (VIEW_LIMITS was chosen so)
    reach = page.evaluate(f"""() => {{ const r = Bokeh.documents[0].get_model_by_name(
      '{PLOT_NAME}').explorer_run, x_T = r.positions.subarray(0, 2 * r.n);
      return Math.max(...x_T.map(Math.abs)); }}""")
    assert reach < hi, reach
    assert frame["title"] == f"dino, DDPM, t = {page.evaluate(TIME)}"  # short: clear of controls
    # no drag tool active: a touch on the plot may scroll the page (Bokeh: "pan-x pan-y")
    actions = page.evaluate(TOUCH_ACTION, PLOT_NAME)
    assert actions and all("pan-y" in a or a == "auto" for a in actions), actions
    settled_pixels(page)
    screenshot(page, f"explorer-{site_width}px.png")


# pairs of controls that share a row of the grid under the plot (a phone)
PAIRS = [("play", "sampler"), ("tail", "particles"), ("shape", "seed"), ("guidance", "steps"),
         ("eta", "arrows")]  # fmt: skip


def test_controls_stack_beside_the_plot_and_pair_up_under_it(explorer_page, site_width):
    """Beside the plot (1280 px) the controls are one column, in page order (shape and seed share
    a row). Under it (390 px) the short ones pair up, so that every control, down to the arrows'
    checkboxes, fits on the screen together with the plot: from the plot's top to the lowest
    control is less than the screen's height below the theme's sticky header."""
    page = explorer_page.page
    cells = {key: box(page.locator(f".explorer-cell-{key}")) for key in CONTROL_ORDER}
    pairs = PAIRS[2:3] if site_width >= 1000 else PAIRS
    for left, right in pairs:
        a, b = cells[left], cells[right]
        assert abs(a["top"] - b["top"]) <= 1 and b["left"] >= a["right"], (left, right, a, b)
    if site_width >= 1000:
        rows = [key for key in CONTROL_ORDER if key != "seed"]
        for above, below in zip(rows, rows[1:], strict=False):
            assert cells[below]["top"] >= cells[above]["bottom"] - 1, (above, below, cells)
        return
    plot = box(page.locator(".explorer-plot-box"))
    lowest = max(c["bottom"] for c in cells.values())
    header = page.locator(".bd-header-article").first.bounding_box()["height"]
    assert lowest - plot["top"] <= HEIGHTS[site_width] - header, (plot, lowest, header)


def test_equations_fit_the_column(explorer_page, site_width):
    """Every displayed equation of the page is typeset whole: none is cut off or scrolls inside
    its box (eq. 1 breaks before "+ s" to fit 390 px)."""
    page = explorer_page.page
    page.wait_for_function("""() => { const all = document.querySelectorAll('div.math');
      return all.length > 0 && [...all].every(d => d.querySelector('mjx-container')); }""",
                           timeout=30_000)  # fmt: skip
    cut = page.evaluate("""() => [...document.querySelectorAll('div.math mjx-container')]
      .filter(m => m.scrollWidth > m.clientWidth + 1).map(m => m.closest('div.math').id)""")
    assert not cut, f"cut at {site_width} px: {cut}"


def _in_viewport(page, locator, width: int, what: str) -> None:
    locator.scroll_into_view_if_needed()
    b = locator.bounding_box()
    height = HEIGHTS.get(width, 900)
    assert b is not None, f"{what} is not rendered"
    assert b["x"] >= 0 and b["x"] + b["width"] <= width + 0.5, f"{what} is cut at the side: {b}"
    assert b["y"] >= 0 and b["y"] + b["height"] <= height + 0.5, f"{what} is off screen: {b}"


def _click_slider(page, name: str, where: float) -> None:
    """Click the slider's track at ``where`` (0 = left, 1 = right) with the mouse."""
    track = page.locator(f".{name} .noUi-target")
    track.scroll_into_view_if_needed()
    b = track.bounding_box()
    page.mouse.click(b["x"] + where * b["width"], b["y"] + b["height"] / 2)


def test_every_control_is_on_screen_and_changes_the_plot(explorer_page, site_width):
    page = explorer_page.page
    for key, name in WIDGETS.items():
        _in_viewport(page, page.locator(f".{name}"), site_width, key)
    for label in SAMPLER_LABELS:
        _in_viewport(page, page.locator(f".{WIDGETS['sampler']} button", has_text=label),
                     site_width, label)  # fmt: skip
    before = settled_pixels(page)
    values = page.evaluate(VALUES, WIDGETS)
    # time first (tails need a past), DDIM before its eta, then each control; the mouse does it
    sampler = page.locator(f".{WIDGETS['sampler']} button", has_text="DDIM")
    actions = [
        ("time", lambda: _click_slider(page, WIDGETS["time"], 0.8)),
        ("tail", lambda: _click_slider(page, WIDGETS["tail"], 0.8)),
        ("particles", lambda: _click_slider(page, WIDGETS["particles"], 0.8)),
        ("sampler", sampler.click),
        ("eta", lambda: _click_slider(page, WIDGETS["eta"], 0.6)),
        ("shape", lambda: page.locator(f".{WIDGETS['shape']} select").select_option("star")),
        ("guidance", lambda: _click_slider(page, WIDGETS["guidance"], 0.8)),
        ("steps", lambda: _click_slider(page, WIDGETS["steps"], 0.5)),
        ("seed", lambda: page.locator(f".{WIDGETS['seed']} .bk-spin-btn-up").click()),
        ("arrows", lambda: page.locator(f".{WIDGETS['arrows']} label", has_text="learned").click()),
    ]
    assert {key for key, _ in actions} | {"play"} == set(WIDGETS)
    eta = f"() => Bokeh.documents[0].get_model_by_name('{WIDGETS['eta']}').disabled"
    for key, act in actions:
        if key in ("sampler", "eta"):  # eta is DDIM's alone
            assert page.evaluate(eta) == (key == "sampler"), key
        run = page.evaluate(RUN_KEY)
        act()
        after = wait_for_change(page, before)
        now = page.evaluate(VALUES, WIDGETS)
        assert now[key] != values[key], f"{key} did not change: {values[key]!r}"
        assert after != before, f"{key} ({values[key]!r} -> {now[key]!r}) left the plot unchanged"
        if key in RUN_CONTROLS:  # an input of the run: a new run, sampled live
            assert page.evaluate(RUN_KEY) != run, f"{key} sampled no new run"
        before, values = after, now
    assert values["sampler"] == 1 and values["shape"] == "star" and 0 in values["arrows"]
    assert page.evaluate(FRAME, PLOT_NAME)["title"].startswith("star, DDIM, t = ")
    screenshot(page, f"explorer-{site_width}px-used.png")


def test_every_control_is_labelled_and_works_from_the_keyboard(explorer_page, site_width):
    """Each control has an accessible name (Bokeh's sliders get theirs from the page) and the
    keyboard alone changes it: arrow keys on a slider, the shape list and the seed, Space on a
    toggle or a checkbox, Enter on Play."""
    page = explorer_page.page
    role = page.get_by_role
    keys = {  # control: (its locator by role and name, keys, the property that must change)
        "time": (role("slider", name="diffusion time"), ["ArrowRight"]),
        "tail": (role("slider", name="tail length"), ["ArrowRight"]),
        "particles": (role("slider", name="number of particles"), ["ArrowLeft"]),
        "guidance": (role("slider", name="guidance scale"), ["ArrowRight"]),
        "steps": (role("slider", name="number of steps"), ["ArrowLeft"]),
        "shape": (role("combobox", name="shape"), ["ArrowDown"]),
        "seed": (role("textbox", name="seed"), ["ArrowUp"]),
        "sampler": (role("button", name="DDIM", exact=True), ["Space"]),
        "eta": (role("slider", name="η (DDIM only)"), ["ArrowRight"]),
        "arrows": (role("checkbox", name="added noise"), ["Space"]),
        "play": (role("button", name="Play"), ["Enter"]),
    }
    assert set(keys) == set(WIDGETS)
    for label in ("learned field", "predicted noise", *SAMPLER_LABELS, "seed up", "seed down"):
        assert role("checkbox" if "noise" in label or "field" in label else "button",
                    name=label, exact=True).count() == 1, label  # fmt: skip
    for key, (control, presses) in keys.items():
        assert control.count() == 1, f"{key}: no control with that name"
        values, run = page.evaluate(VALUES, WIDGETS), page.evaluate(RUN_KEY)
        control.focus()
        for press in presses:
            page.keyboard.press(press)
        page.wait_for_function(
            f"(old) => JSON.stringify(({VALUES})({json.dumps(WIDGETS)})[{key!r}]) !== old",
            arg=json.dumps(values[key]), timeout=30_000)  # fmt: skip
        if key in RUN_CONTROLS:
            page.wait_for_function(f"(old) => ({RUN_KEY})() !== old", arg=run, timeout=60_000)
        if key == "play":  # Pause, from the keyboard too: the redrawn button has the focus
            page.wait_for_function(PAUSE_FOCUSED, timeout=30_000)
            page.keyboard.press("Enter")
            page.wait_for_function(f"() => ({EXPLORER_PLAY})().label === 'Play'", timeout=30_000)
            assert page.evaluate(EXPLORER_TIME) > 0, "Enter did not pause: t ran down to 0"


TIME_MODEL = f"() => Bokeh.documents[0].get_model_by_name('{WIDGETS['time']}')"
PAUSE_FOCUSED = f"""() => {{ const v = Bokeh.index.find_one(({EXPLORER_PLAY})());
  const focused = v && (v.shadow_el || v.el).activeElement;
  return !!focused && focused.textContent === 'Pause'; }}"""
RUN_KEY = f"() => Bokeh.documents[0].get_model_by_name('{PLOT_NAME}').explorer_run.key"
TIME = EXPLORER_TIME
PLOT_TITLE = f"() => Bokeh.documents[0].get_model_by_name('{PLOT_NAME}').title.text"
NOISE_ARROWS = "() => Bokeh.documents[0].get_model_by_name('noise_arrows').data.x_start.length"


def test_play_advances_t_and_pause_stops_it(explorer_page, site_width):
    page = explorer_page.page
    button = page.locator(f".{WIDGETS['play']} button")
    _in_viewport(page, button, site_width, "Play")
    start = page.evaluate(TIME)
    play_then_pause(page, button, below=start - 1, still_ms=3 * STEP_MS)  # t <= start - 2
    # the last DDPM step adds no noise: no arrow at t = 1, one per particle at t = 2
    page.locator(f".{WIDGETS['arrows']} label", has_text="added noise").click()
    counts = []
    for t in (2, 1):  # BokehJS runs the callback asynchronously: wait for its title
        page.evaluate(f"() => {{ ({TIME_MODEL})().value = {t}; }}")
        page.wait_for_function(f"() => ({PLOT_TITLE})() === 'dino, DDPM, t = {t}'",
                               timeout=30_000)  # fmt: skip
        counts.append(page.evaluate(NOISE_ARROWS))
    particles = page.evaluate(VALUES, WIDGETS)["particles"]
    assert counts == [particles, 0]


def test_a_swipe_over_the_plot_scrolls_the_page(site, base_url, browser):
    """On a phone (390 px, touch), a vertical swipe that starts on the plot scrolls the page."""
    _require_page(site)
    context = browser.new_context(
        viewport={"width": PHONE, "height": HEIGHTS[PHONE]},
        has_touch=True,
        is_mobile=True,
        service_workers="block",
    )
    offsite: list[str] = []

    def route(r) -> None:
        parts = urlsplit(r.request.url)
        if parts.scheme in ("http", "https") and parts.hostname not in LOCAL_HOSTS:
            offsite.append(r.request.url)
            r.abort("blockedbyclient")
        else:
            r.continue_()

    context.route("**/*", route)
    try:
        page = context.new_page()
        page.goto(base_url + EXPLORER_PAGE, wait_until="load", timeout=60_000)
        _wait_ready(page)
        plot = page.locator(".explorer-plot-box")
        plot.scroll_into_view_if_needed()
        b = plot.bounding_box()
        x, y = b["x"] + b["width"] / 2, b["y"] + b["height"] * 0.6
        ranges = page.evaluate(FRAME, PLOT_NAME)
        scroll = page.evaluate("() => window.scrollY")
        cdp = context.new_cdp_session(page)
        for i, kind in enumerate(["touchStart"] + ["touchMove"] * 10 + ["touchEnd"]):
            points = [] if kind == "touchEnd" else [{"x": x, "y": y - 15 * i}]  # 150 px upwards
            cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
        page.wait_for_function(f"() => window.scrollY >= {scroll + 50}", timeout=30_000)
        after = page.evaluate(FRAME, PLOT_NAME)
        assert (after["x"], after["y"]) == (ranges["x"], ranges["y"]), "the swipe panned the plot"
    finally:
        context.close()
    assert not offsite, offsite
