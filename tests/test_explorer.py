"""Checks of the trajectory explorer: stored data layout, sizes, the Bokeh document, the JS glue,
and its client side (JavaScript, CSS, HTML) as package data that a wheel ships.

Two browser tests (marked ``browser``) load a standalone page in the session's shared Chromium
(the ``browser`` fixture of tests/conftest.py): the CustomJS callback draws exactly what
:func:`explorer.view` computes in Python, zero-length arrows included, and Play/Pause runs and
stops the time slider. The built page is checked at both screen widths in
tests/site/test_site_explorer.py.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch

from diffusion2d.exact import ExactDenoiser
from diffusion2d.plotting import COLORS, LIMITS, explorer, particles
from diffusion2d.trajectories import record_pair

sys.path.insert(0, str(Path(__file__).parent / "site"))  # the site tests' helpers
from sitetools import EXPLORER_PLAY, EXPLORER_TIME, play_then_pause  # noqa: E402
from wheelfiles import wheel_files  # noqa: E402

T, N = 6, 30
GRID = (-2.0, 2.01, 1.0)  # 5 x 5 = 25 grid points
ARROW_SOURCES = ("field_arrows", "eps_arrows", "noise_arrows")
NO_ARROWS = {"x_start": [], "y_start": [], "x_end": [], "y_end": []}


@pytest.fixture(scope="module")
def points() -> torch.Tensor:
    return torch.randn(12, 2, generator=torch.Generator().manual_seed(3))


@pytest.fixture(scope="module")
def runs(points):
    model = ExactDenoiser(points, 1e-3, 0.2, T)
    return record_pair(model, N, torch.Generator().manual_seed(0), grid=GRID)


@pytest.fixture(scope="module")
def stored(runs, points) -> explorer.ExplorerData:
    return explorer.explorer_data(runs, points)


@pytest.fixture(scope="module")
def holed(stored) -> explorer.ExplorerData:
    """``stored`` with the first three particles' eps_theta zeroed at t = 4 (frame k = 2), DDPM:
    zero-length arrows mixed with ordinary ones."""
    eps = stored.eps.copy()
    eps[0, T - 4, :3] = 0
    return dataclasses.replace(stored, eps=eps)


@pytest.fixture(scope="module")
def layout(stored) -> dict:
    return explorer.build_explorer(stored)


def select(layout: dict, name: str):
    """The model called ``name`` in either root of the explorer."""
    found = [m for root in layout.values() for m in root.select({"name": name})]
    assert len(found) == 1, name
    return found[0]


def test_quantize_rounds_to_thousandths_and_clips():
    q = explorer.quantize(np.array([0.00049, 0.0015, -1.2344, 40.0, -40.0]))
    assert q.dtype == np.int16
    assert q.tolist() == [0, 2, -1234, 32767, -32767]


def test_data_layout(stored, runs):
    assert (stored.T, stored.num_particles) == (T, N)
    shapes = {"positions": (2, T + 1, N, 2), "eps": (2, T, N, 2), "noise": (T, N, 2),
              "field": (2, T, 25, 2)}  # fmt: skip
    for name, shape in shapes.items():
        array = getattr(stored, name)
        assert array.shape == shape and array.dtype == np.int16, name
    assert stored.grid.shape == (25, 2) and stored.data.shape == (12, 2)
    q = 1 / explorer.QUANT
    for s, name in enumerate(explorer.SAMPLERS):  # block 0 is DDPM, block 1 DDIM
        np.testing.assert_allclose(stored.positions[s] * q, runs[name].positions, atol=q)
        eps = runs[name].eps_pred * particles.EPS_SCALE
        np.testing.assert_allclose(stored.eps[s] * q, eps, atol=q)
    np.testing.assert_allclose(stored.noise * q, runs["DDPM"].added_noise, atol=q)
    # the grid is np.meshgrid order, flattened row by row
    np.testing.assert_allclose(stored.grid[:, 0], runs["DDPM"].grid_x.ravel())
    np.testing.assert_allclose(stored.grid[:, 1], runs["DDPM"].grid_y.ravel())


def test_field_is_rescaled_per_step_but_keeps_directions(stored, runs):
    field = runs["DDIM"].field.reshape(T, -1, 2)  # (T, G, 2)
    shown = stored.field[1].astype(float) / explorer.QUANT
    for k in range(T):
        raw, disp = field[k], shown[k]
        big = np.linalg.norm(raw, axis=-1) > 1e-3
        cos = (raw[big] * disp[big]).sum(-1) / (
            np.linalg.norm(raw[big], axis=-1) * np.linalg.norm(disp[big], axis=-1)
        )
        assert (cos > 0.99).all()
        assert np.median(np.linalg.norm(disp, axis=-1)) == pytest.approx(0.7 * 1.0, rel=0.05)


def test_explorer_data_rejects_mismatched_runs(runs, points):
    with pytest.raises(ValueError, match="missing"):
        explorer.explorer_data({"DDPM": runs["DDPM"]})
    with pytest.raises(ValueError, match="stochastic"):
        explorer.explorer_data({"DDPM": runs["DDIM"], "DDIM": runs["DDPM"]})
    other = record_pair(ExactDenoiser(points, 1e-3, 0.2, T), N,
                           torch.Generator().manual_seed(9), grid=GRID)  # fmt: skip
    with pytest.raises(ValueError, match="same x_T"):
        explorer.explorer_data({"DDPM": runs["DDPM"], "DDIM": other["DDIM"]})


def test_view_matches_the_controls(stored):
    cases = {  # (t, tail, num, ddim, arrows): path length; field, eps and noise arrows
        (T, 3, 10, False, (0, 1, 2)): (1, 25, 10, 10),  # no past at t = T
        (2, 3, 7, True, (0, 1, 2)): (4, 25, 7, 0),  # DDIM adds no noise
        (0, T, N, False, (0, 1, 2)): (T + 1, 0, 0, 0),  # no step left at t = 0
        (3, 0, 5, False, (1,)): (1, 0, 5, 0),  # only the kinds asked for
    }
    for (t, tail, num, ddim, arrows), (length, *counts) in cases.items():
        v = explorer.view(stored, t, tail, num, ddim, arrows)
        assert len(v["points"]["x"]) == num and {len(xs) for xs in v["tails"]["xs"]} == {length}
        assert [len(v[name]["x_start"]) for name in ARROW_SOURCES] == counts, (t, ddim, arrows)
    v = explorer.view(stored, t=0, tail=0, num=N, ddim=False)
    assert v["points"]["x"] == pytest.approx(list(stored.positions[0, T, :, 0] / 1000))


def test_no_arrow_for_a_zero_vector(stored, holed):
    # DDPM's last step (from x_1, slider t = 1) adds no noise (Algorithm 2): no arrow, no head
    assert not stored.noise[T - 1].any()
    assert stored.noise[T - 2].any(axis=-1).all()
    v = explorer.view(stored, t=1, tail=0, num=N, ddim=False, arrows=(2,))
    assert v["noise_arrows"] == NO_ARROWS
    assert len(explorer.view(stored, 2, 0, N, False, (2,))["noise_arrows"]["x_start"]) == N
    # zero vectors among others: those particles lose their arrow, the others keep theirs
    v = explorer.view(holed, t=4, tail=0, num=10, ddim=False, arrows=(1,))
    assert v["eps_arrows"]["x_start"] == v["points"]["x"][3:]
    assert len(v["eps_arrows"]["x_end"]) == 7


def test_widgets_have_stable_names_classes_and_callbacks(layout):
    from bokeh.models import Button, CheckboxGroup, CustomJS, RadioButtonGroup, Slider

    kinds = {"time": Slider, "play": Button, "sampler": RadioButtonGroup, "tail": Slider,
             "particles": Slider, "arrows": CheckboxGroup}  # fmt: skip
    assert set(kinds) == set(explorer.WIDGETS)
    for key, name in explorer.WIDGETS.items():
        w = select(layout, name)
        assert isinstance(w, kinds[key]) and name in w.css_classes, key
        if key == "play":
            (cb,) = w.js_event_callbacks["button_click"]
            assert isinstance(cb, CustomJS) and cb.code == explorer.PLAY_JS
            assert cb.args["time"] is select(layout, "explorer-time")
            assert not w.js_property_callbacks
            continue
        callbacks = [cb for cbs in w.js_property_callbacks.values() for cb in cbs]
        assert len(callbacks) == 1 and callbacks[0].code == explorer.CALLBACK_JS, key
    # the plot is one root, the controls the other; the sampler is a DDPM | DDIM toggle
    assert layout["plot"].name == explorer.PLOT_NAME
    assert select(layout, "explorer-sampler").labels == ["DDPM", "DDIM"]
    assert select(layout, "explorer-play").label == "Play"


def test_defaults_are_calm(layout, stored):
    value = {k: select(layout, n) for k, n in explorer.WIDGETS.items()}
    time = value["time"]
    assert (time.start, time.end, time.value, time.direction) == (0, T, T, "rtl")
    assert value["sampler"].active == 0  # DDPM
    assert value["tail"].value == min(explorer.DEFAULTS["tail"], T) == T
    assert value["particles"].value == min(explorer.DEFAULTS["num"], N) == N
    assert value["arrows"].active == [1]  # one kind of arrow: the predicted noise
    assert value["arrows"].labels == ["learned field", "predicted noise", "added noise"]
    shown = {name: len(layout["plot"].select_one({"name": name}).data["x_start"])
             for name in ARROW_SOURCES}  # fmt: skip
    assert shown == {"field_arrows": 0, "eps_arrows": value["particles"].value, "noise_arrows": 0}


def test_plot_keeps_an_equal_aspect_and_lets_the_page_scroll(layout):
    from bokeh.models import DataRange1d, WheelZoomTool

    plot = layout["plot"]
    assert plot.match_aspect and plot.aspect_scale == 1
    assert plot.sizing_mode == "scale_width"
    for rng in (plot.x_range, plot.y_range):  # both auto ranges: match_aspect needs that
        assert isinstance(rng, DataRange1d) and rng.range_padding == 0
        assert np.isnan(rng.start) and np.isnan(rng.end)  # not fixed: computed in the page
        (corners,) = rng.renderers  # the ranges follow the square LIMITS x LIMITS only
        assert list(corners.data_source.data["x"]) == list(LIMITS)
        assert list(corners.data_source.data["y"]) == list(LIMITS)
    assert plot.toolbar.active_drag is None  # a swipe scrolls the page
    zoom = plot.toolbar.active_scroll
    assert isinstance(zoom, WheelZoomTool) and zoom.modifiers == {"ctrl": True}


def test_colours_and_cues_by_meaning(layout):
    from bokeh.models import Arrow, OpenHead, VeeHead

    arrows = {a.source.name: a for a in layout["plot"].center if isinstance(a, Arrow)}
    want = {"field_arrows": ("field", "solid", OpenHead), "eps_arrows": ("pred_noise", "dashed",
            VeeHead), "noise_arrows": ("noise", "solid", VeeHead)}  # fmt: skip
    assert set(arrows) == set(want)
    for name, (kind, dash, head) in want.items():
        a = arrows[name]
        assert a.line_color == COLORS[kind] and isinstance(a.end, head), name
        assert a.line_dash == dash, name
    colours = {r.glyph.fill_color for r in layout["plot"].renderers if hasattr(r.glyph, "size")}
    assert {COLORS["samples"], COLORS["data"]} <= colours


def test_labels_name_meanings_not_colours(html):
    legend = re.search(r"<p class='explorer-legend'>.*?</p>", html, re.S).group(0)
    help_ = re.search(r"<p class='explorer-help'>.*?</p>", html, re.S).group(0)
    text = re.sub(r"<[^>]+>", " ", help_ + legend) + " ".join(explorer.ARROWS.values())
    assert not re.search(r"\b(red|blue|purple|green|orange|vermillion|grey|gray)\b", text, re.I)
    for meaning in ("particles", "training data", "learned field", "predicted noise",
                    "added noise"):  # fmt: skip
        assert meaning in text
    assert legend.count('stroke-dasharray="4 2"') == 1  # the predicted noise's dashed swatch


def test_client_side_ships_as_package_data():
    """The explorer's JavaScript, CSS and HTML are files of the package that importlib.resources
    finds, and a wheel built from pyproject.toml (a non-editable install) ships every one."""
    pytest.importorskip("setuptools")
    assets = files("diffusion2d.plotting.explorer_assets")
    texts = {"update.js": explorer.CALLBACK_JS, "play.js": explorer.PLAY_JS,
             "explorer.css": explorer.CSS, "page.html": explorer.PAGE}  # fmt: skip
    for name, text in texts.items():
        assert text.strip() and (assets / name).read_text("utf-8") == text, name
    on_disk = {p.name for p in assets.iterdir() if p.name.endswith((".js", ".css", ".html"))}
    assert on_disk == set(texts)
    assert {f"diffusion2d/plotting/explorer_assets/{name}" for name in texts} <= wheel_files()


def test_book_defaults():
    # the book's recording: 300 particles, T = 50; a calm start shows 50 with one arrow kind
    assert explorer.DEFAULTS == {"tail": 10, "num": 50, "arrows": (1,)}


def test_bad_settings_raise(stored):
    for name, bad in (("tail", T + 1), ("num", 0), ("arrows", (3,))):
        with pytest.raises(ValueError, match=name):
            explorer.build_explorer(stored, **{name: bad})


def test_callback_is_short_glue():
    lines = [ln for ln in explorer.CALLBACK_JS.strip().splitlines() if ln.strip()]
    assert len(lines) <= 40
    for name in ("time", "tail", "particles", "sampler", "arrows", "points", "tails"):
        assert re.search(rf"\b{name}\b", explorer.CALLBACK_JS)


@pytest.fixture(scope="module")
def html(stored) -> str:
    return explorer.explorer_html(explorer.build_explorer(stored, tail=2, num=10))


def test_html_is_self_contained(html):
    assert "/* BEGIN bokeh.min.js */" in html and "bokeh-widgets" in html
    # no <script src=...> or <link href=...> at all: BokehJS is inlined (bokeh.min.js itself
    # mentions a MathJax CDN for math text, which the explorer does not use)
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html)
    assert "cdn.bokeh.org" not in html
    assert html.startswith('<div class="explorer"')
    for name in explorer.WIDGETS.values():
        assert name in html
    assert "arrowsTo(field_arrows, on.has(0), gx, gy, field, s, G);" in _docs_json(html)
    # the two roots sit in the wrapping row of the page's CSS, plot first
    assert html.index("explorer-plot-box") < html.index("explorer-controls-box")
    assert html.count("data-root-id") == 2 and ".explorer-row" in html


def _docs_json(html: str) -> str:
    match = re.search(r"const docs_json = '(.*?)';\n", html, re.S)
    assert match, "no Bokeh document in the HTML"
    return match.group(1)


def test_stored_arrays_are_binary_and_compressed(html):
    doc = _docs_json(html)
    assert doc.count('"type":"ndarray"') >= 4
    assert '"dtype":"int16"' in doc


def test_page_size_for_the_book_settings(points):
    """300 particles, T = 50, the book's field grid: the HTML stays well under 3 MB."""
    model = ExactDenoiser(points, 1e-4, 0.05, 50)
    runs = record_pair(model, 300, torch.Generator().manual_seed(0))
    html = explorer.explorer_html(explorer.build_explorer(explorer.explorer_data(runs, points)))
    assert len(html.encode()) < 2.5e6


STATE_JS = """() => {
  const doc = Bokeh.documents[0], get = n => doc.get_model_by_name(n);
  const out = {};
  for (const n of ["points", "tails", "field_arrows", "eps_arrows", "noise_arrows"]) {
    const d = get(n).data, o = {};
    for (const k of Object.keys(d)) o[k] = Array.from(d[k], v => Array.isArray(v) ? v : +v);
    out[n] = o;
  }
  out.title = get("explorer-plot").title.text;
  return out;
}"""

TITLE = "() => Bokeh.documents[0].get_model_by_name('explorer-plot').title.text"
SET_JS = """([t, tail, n, ddim, arrows]) => {
  const doc = Bokeh.documents[0], get = n => doc.get_model_by_name(n);
  get("explorer-time").value = t; get("explorer-tail").value = tail;
  get("explorer-particles").value = n; get("explorer-sampler").active = ddim ? 1 : 0;
  get("explorer-arrows").active = arrows;
}"""


def _open(browser, html: str):
    """A page holding ``html`` alone, in a context of its own; (context, page, errors, offsite)."""
    errors, offsite = [], []
    context = browser.new_context()
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the page has no URL of its own (about:blank): any http(s) request leaves the machine
    page.on("request", lambda r: offsite.append(r.url) if r.url.startswith("http") else None)
    head = "<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
    page.set_content(f"{head}<body>{html}</body></html>", wait_until="load", timeout=60_000)
    page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
    return context, page, errors, offsite


@pytest.mark.browser
def test_callback_draws_what_python_computes(holed, browser):
    context, page, errors, offsite = _open(
        browser, explorer.explorer_html(explorer.build_explorer(holed, tail=2, num=10))
    )
    try:
        settings = [(T, 2, 10, False, [0, 1, 2]), (3, 2, 10, False, [0, 1, 2]),
                    (3, 4, 25, True, [0, 1, 2]), (0, T, N, False, [1]),
                    (1, 0, 10, False, [2]),  # the last DDPM step: zero noise, no arrow
                    (4, 1, 10, False, [1])]  # three zero eps_theta among ten  # fmt: skip
        for t, tail, n, ddim, arrows in settings:
            page.evaluate(SET_JS, [t, tail, n, ddim, arrows])
            # BokehJS runs CustomJS callbacks asynchronously, each with the widgets' values as
            # they are then (all set above): once the title shows these settings, all ran
            title = f"{'DDIM' if ddim else 'DDPM'}, t = {t}" + (": samples x₀" if t == 0 else "")
            page.wait_for_function(f"() => ({TITLE})() === {title!r}", timeout=30_000)
            got = page.evaluate(STATE_JS)
            want = explorer.view(holed, t, tail, n, ddim, tuple(arrows))
            for source, columns in want.items():
                for column, values in columns.items():  # tails: one equal-length list each
                    g = got[source][column]
                    assert len(g) == len(values), (t, source, column)
                    np.testing.assert_allclose(np.asarray(g, float), np.asarray(values, float),
                                               atol=1e-9, err_msg=f"{t} {source} {column}")
            assert got["title"] == title
        assert got["eps_arrows"]["x_start"] and len(got["eps_arrows"]["x_start"]) == 7
    finally:
        context.close()
    assert not errors, errors
    assert not offsite, offsite


TIME, PLAY = EXPLORER_TIME, EXPLORER_PLAY


@pytest.mark.browser
def test_play_runs_t_down_to_zero_and_pause_stops_it(stored, browser):
    layout = explorer.build_explorer(stored)
    (play,) = select(layout, "explorer-play").js_event_callbacks["button_click"]
    play.args["DT"] = 1000  # slow steps: the test's Pause click lands long before t = 0
    context, page, errors, _ = _open(browser, explorer.explorer_html(layout))
    try:
        button = page.locator(".explorer-play button")
        play_then_pause(page, button, below=T, still_ms=2000)  # two more timer periods
        button.click()  # Play again: runs on from where it stopped to t = 0, and stops there
        page.wait_for_function(f"() => ({TIME})() === 0 && ({PLAY})().label === 'Play'",
                               timeout=60_000)  # fmt: skip
        page.wait_for_function(f"() => ({TITLE})() === 'DDPM, t = 0: samples x₀'")
        button.click()  # at t = 0, Play starts again from x_T
        page.wait_for_function(f"() => ({TIME})() < {T} && ({TIME})() > 0", timeout=30_000)
    finally:
        context.close()
    assert not errors, errors
