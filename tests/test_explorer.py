"""Checks of the live explorer (diffusion2d.plotting.explorer): the Bokeh document, its controls
and callbacks, the self-contained HTML, and its client side (JavaScript, CSS, HTML) as package
data that a wheel ships.

Browser tests (marked ``browser``) run in the session's shared Chromium (the ``browser`` fixture
of tests/conftest.py) with a small random model: live.js alone mirrors model.py, guidance.py,
samplers.py and points.py; and on a standalone page of the explorer, the page samples a run
when it is ready and when an input of the run changes, draws exactly the run's frame (particles,
tails, the three kinds of arrow, none of zero length), a deterministic DDIM run ends where Python's
samplers end from the same x_T, and Play/Pause runs and stops the time slider. The book's page,
with the trained model, is checked in tests/site/test_site_explorer.py and test_site_live.py.
"""

from __future__ import annotations

import json
import re
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import torch

from diffusion2d.guidance import Guided
from diffusion2d.model import DenoisingMLP
from diffusion2d.plotting import COLORS, LIMITS, explorer, live
from diffusion2d.samplers import ddim_step, timesteps

sys.path.insert(0, str(Path(__file__).parent / "site"))  # the site tests' helpers
from sitetools import EXPLORER_PLAY, EXPLORER_TIME, play_then_pause  # noqa: E402
from wheelfiles import wheel_files  # noqa: E402

T, C, PER = 12, 3, 6
CLASSES = ["a", "b", "c"]
ARROW_SOURCES = ("field_arrows", "eps_arrows", "noise_arrows")


def _model(**kwargs) -> DenoisingMLP:
    torch.manual_seed(0)
    model = DenoisingMLP(1e-3, 0.2, T, hidden=16, num_blocks=2, num_classes=C, **kwargs)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model.eval()


@pytest.fixture(scope="module")
def model() -> DenoisingMLP:
    return _model()


@pytest.fixture(scope="module")
def data(model) -> dict:
    points = torch.randn(C * PER, 2, generator=torch.Generator().manual_seed(1))
    return live.export_model(model, CLASSES, points)


@pytest.fixture(scope="module")
def layout(data) -> dict:
    return explorer.build_explorer(data, shape="a", particles=20)


def select(layout: dict, name: str):
    """The model called ``name`` in either root of the explorer."""
    found = [m for root in layout.values() for m in root.select({"name": name})]
    assert len(found) == 1, name
    return found[0]


def test_widgets_have_stable_names_classes_and_callbacks(layout):
    from bokeh.models import (
        Button,
        CheckboxGroup,
        CustomJS,
        RadioButtonGroup,
        Select,
        Slider,
        Spinner,
    )

    kinds = {"time": Slider, "play": Button, "sampler": RadioButtonGroup, "tail": Slider,
             "particles": Slider, "arrows": CheckboxGroup, "shape": Select, "guidance": Slider,
             "steps": Slider, "eta": Slider, "seed": Spinner}  # fmt: skip
    assert set(kinds) == set(explorer.WIDGETS)
    # a slider of the run computes when released; the view's controls follow every move
    props = {"guidance": "value_throttled", "steps": "value_throttled", "eta": "value_throttled",
             "particles": "value_throttled", "sampler": "active", "arrows": "active"}  # fmt: skip
    for key, name in explorer.WIDGETS.items():
        w = select(layout, name)
        assert isinstance(w, kinds[key]) and name in w.css_classes, key
        if key == "play":
            (cb,) = w.js_event_callbacks["button_click"]
            assert isinstance(cb, CustomJS) and cb.code == explorer.PLAY_JS
            assert cb.args["time"] is select(layout, "explorer-time")
            assert not w.js_property_callbacks
            continue
        assert list(w.js_property_callbacks) == [f"change:{props.get(key, 'value')}"], key
        (cb,) = next(iter(w.js_property_callbacks.values()))
        assert cb.code == explorer.CALLBACK_JS and cb.args[key] is w, key
    # one document (its "document_ready" callback draws the first run: the browser tests)
    assert layout["plot"].document is layout["controls"].document
    assert layout["plot"].name == explorer.PLOT_NAME


def test_defaults_and_ranges(layout, data):
    value = {k: select(layout, n) for k, n in explorer.WIDGETS.items()}
    time = value["time"]
    assert (time.start, time.end, time.value, time.direction) == (0, T, T, "rtl")
    assert value["sampler"].labels == ["DDPM", "DDIM", "Heun"] and value["sampler"].active == 0
    assert value["shape"].options == CLASSES and value["shape"].value == "a"
    assert (value["steps"].start, value["steps"].end, value["steps"].value) == (1, T, T)
    assert (value["particles"].end, value["particles"].value) == (explorer.MAX_PARTICLES, 20)
    assert (value["guidance"].start, value["guidance"].value) == (0, 1.0)
    assert value["eta"].value == 0  # DDIM's only: the page disables it for DDPM and Heun
    assert value["seed"].value == 0 and value["tail"].value == min(explorer.DEFAULTS["tail"], T)
    assert value["arrows"].active == [1]  # one kind of arrow: the predicted noise
    assert value["arrows"].labels == ["learned field", "predicted noise", "added noise"]
    # the plot starts empty: the page draws the first run
    assert all(not layout["plot"].select_one({"name": n}).data["x_start"] for n in ARROW_SOURCES)


def test_book_defaults():
    assert explorer.DEFAULTS == {"shape": "dino", "guidance": 1.0, "sampler": "DDPM", "eta": 0.0,
                                 "particles": 100, "seed": 0, "tail": 10, "arrows": (1,)}
    assert (explorer.MAX_PARTICLES, explorer.GUIDANCE_MAX) == (300, 4.0)


@pytest.mark.parametrize(("name", "bad"), [
    ("shape", "zz"), ("sampler", "Euler"), ("steps", 0), ("steps", T + 1), ("particles", 0),
    ("particles", explorer.MAX_PARTICLES + 1), ("tail", T + 1), ("guidance", -1), ("eta", 2),
    ("arrows", (3,)), ("settings", None),
])  # fmt: skip
def test_bad_settings_raise_naming_the_argument(data, name, bad):
    kwargs = {"colour": "red"} if name == "settings" else {name: bad}
    with pytest.raises(ValueError, match=f"^{name} must"):
        explorer.build_explorer(data, **kwargs)


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


@pytest.fixture(scope="module")
def html(layout, data) -> str:
    return explorer.explorer_html(layout, data)


def test_labels_name_meanings_not_colours(html):
    legend = re.search(r"<p class='explorer-legend'>.*?</p>", html, re.S).group(0)
    help_ = re.search(r"<p class='explorer-help'>.*?</p>", html, re.S).group(0)
    text = re.sub(r"<[^>]+>", " ", help_ + legend) + " ".join(explorer.ARROWS.values())
    assert not re.search(r"\b(red|blue|purple|green|orange|vermillion|grey|gray)\b", text, re.I)
    for meaning in ("particles", "shape's data", "learned field", "predicted noise",
                    "added noise"):  # fmt: skip
        assert meaning in text
    assert legend.count('stroke-dasharray="4 2"') == 1  # the predicted noise's dashed swatch
    assert "role='status'" in html  # the run's line under the plot is announced


def test_html_is_self_contained(html, data):
    assert "/* BEGIN bokeh.min.js */" in html and "bokeh-widgets" in html
    # no <script src=...> or <link href=...> at all: BokehJS and live.js are inlined (bokeh.min.js
    # itself mentions a MathJax CDN for math text, which the explorer does not use)
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html)
    assert "cdn.bokeh.org" not in html
    assert html.startswith('<div class="explorer"')
    for name in explorer.WIDGETS.values():
        assert name in html
    assert explorer.LIVE_JS in html
    found = re.search(rf'<script type="application/json" id="{explorer.MODEL_ID}">(.*?)</script>',
                      html, re.S)  # fmt: skip
    assert found and json.loads(found.group(1)) == data  # the model, unchanged
    # the two roots sit in the wrapping row of the page's CSS, plot first
    assert html.index("explorer-plot-box") < html.index("explorer-controls-box")
    assert html.count("data-root-id") == 2 and ".explorer-row" in html


def test_client_side_ships_as_package_data():
    """The explorer's JavaScript, CSS and HTML are files of the package that importlib.resources
    finds, and a wheel built from pyproject.toml (a non-editable install) ships every one."""
    pytest.importorskip("setuptools")
    assets = files("diffusion2d.plotting.explorer_assets")
    texts = {"update.js": explorer.CALLBACK_JS, "play.js": explorer.PLAY_JS,
             "live.js": explorer.LIVE_JS, "explorer.css": explorer.CSS,
             "page.html": explorer.PAGE}  # fmt: skip
    for name, text in texts.items():
        assert text.strip() and (assets / name).read_text("utf-8") == text, name
    on_disk = {p.name for p in assets.iterdir() if p.name.endswith((".js", ".css", ".html"))}
    assert on_disk == set(texts)
    assert {f"diffusion2d/plotting/explorer_assets/{name}" for name in texts} <= wheel_files()


def test_javascript_stays_short_and_names_the_python_it_mirrors():
    callback = [ln for ln in explorer.CALLBACK_JS.strip().splitlines() if ln.strip()]
    assert len(callback) <= 80
    for name in ("time", "tail", "particles", "sampler", "arrows", "shape", "guidance", "steps",
                 "eta", "seed", "points", "tails"):  # fmt: skip
        assert re.search(rf"\b{name}\b", explorer.CALLBACK_JS), name
    assert len(explorer.LIVE_JS.splitlines()) <= 450
    for python in ("DenoisingMLP", "guided_eps", "timesteps", "ddpm_step", "ddim_step", "_ode_loop",
                   "scaled_arrows", "learned_drift"):  # fmt: skip
        assert python in explorer.LIVE_JS, python


def test_page_size_for_the_book_settings():
    """A model of the book's size (13 classes, width 64, 3 blocks, T = 50) with its points: the
    HTML stays well under 3 MB."""
    big = DenoisingMLP(1e-4, 0.02, 50, num_classes=13)
    names = [f"s{i}" for i in range(13)]
    data = live.export_model(big, names, torch.zeros(13 * 142, 2))
    html = explorer.explorer_html(explorer.build_explorer(data, shape="s0"), data)
    assert len(html.encode()) < 2.5e6


# ---- in the browser: a standalone page holding the explorer of the small model ----

READY = """() => { const s = document.querySelector('.explorer-status');
  return !!(window.Bokeh && Bokeh.documents.length && s && / ms$/.test(s.textContent)); }"""
PLOT = "Bokeh.documents[0].get_model_by_name('explorer-plot')"
RUN_KEY = f"() => {{ const r = {PLOT}.explorer_run; return r ? r.key : null; }}"
TITLE = f"() => {PLOT}.title.text"
STATE_JS = f"""() => {{
  const doc = Bokeh.documents[0], get = n => doc.get_model_by_name(n), r = {PLOT}.explorer_run;
  const out = {{}};
  for (const n of ["points", "tails", "data", "field_arrows", "eps_arrows", "noise_arrows"]) {{
    const d = get(n).data, o = {{}};
    for (const k of Object.keys(d)) o[k] = Array.from(d[k], v => Array.isArray(v) ? v : +v);
    out[n] = o;
  }}
  out.title = {PLOT}.title.text;
  out.run = {{K: r.K, n: r.n, steps: Array.from(r.steps), positions: Array.from(r.positions),
             eps: Array.from(r.eps), noise: Array.from(r.noise)}};
  return out;
}}"""
SET_JS = """(values) => { const doc = Bokeh.documents[0];
  for (const [name, prop, v] of values) {
    const m = doc.get_model_by_name(name);
    m[prop] = v;
    if (prop === 'value' && 'value_throttled' in m) m.value_throttled = v;  // as on release
  } }"""


def _open(browser, html: str):
    """A page holding ``html`` alone, in a context of its own, its first run drawn;
    (context, page, errors, offsite)."""
    errors, offsite = [], []
    context = browser.new_context()
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the page has no URL of its own (about:blank): any http(s) request leaves the machine
    page.on("request", lambda r: offsite.append(r.url) if r.url.startswith("http") else None)
    head = "<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
    page.set_content(f"{head}<body>{html}</body></html>", wait_until="load", timeout=60_000)
    page.wait_for_function(READY, timeout=60_000)
    return context, page, errors, offsite


def _set(page, values: list) -> None:
    """Set controls ``[(name, property, value), ...]`` (the callbacks run after)."""
    page.evaluate(SET_JS, values)


def _frame(state: dict, k: int) -> np.ndarray:
    r = state["run"]
    return np.asarray(r["positions"]).reshape(r["K"] + 1, r["n"], 2)[k]  # (n, 2)


def _vectors(src: dict) -> np.ndarray:
    return np.stack([np.subtract(src["x_end"], src["x_start"]),
                     np.subtract(src["y_end"], src["y_start"])], 1)  # fmt: skip


@pytest.mark.browser
def test_page_draws_the_runs_frames(browser, html, data):
    context, page, errors, offsite = _open(browser, html)
    try:
        s = page.evaluate(STATE_JS)
        n, K = s["run"]["n"], s["run"]["K"]
        assert (n, K) == (20, T) and s["title"] == f"a, DDPM, t = {T}"  # x_T first
        np.testing.assert_array_equal(np.c_[s["points"]["x"], s["points"]["y"]], _frame(s, 0))
        pts = live.export_points(data)[:PER]  # shape "a": the first block
        np.testing.assert_allclose(np.c_[s["data"]["x"], s["data"]["y"]], pts, rtol=1e-6)
        eps = np.asarray(s["run"]["eps"]).reshape(K, n, 2)[0] * explorer.EPS_SCALE
        np.testing.assert_allclose(_vectors(s["eps_arrows"]), eps, atol=1e-12)
        assert not s["field_arrows"]["x_start"] and not s["noise_arrows"]["x_start"]
        # t = 3 (frame K - 3), a tail of 2, every kind of arrow: the grid's field (every point
        # of it: the field is nowhere exactly zero), eps and the noise DDPM adds
        key = page.evaluate(RUN_KEY)
        _set(page, [("explorer-time", "value", 3), ("explorer-tail", "value", 2),
                    ("explorer-arrows", "active", [0, 1, 2])])  # fmt: skip
        page.wait_for_function(f"() => ({TITLE})() === 'a, DDPM, t = 3'")
        s = page.evaluate(STATE_JS)
        assert page.evaluate(RUN_KEY) == key  # the view's controls sample nothing new
        k = K - 3
        np.testing.assert_array_equal(np.c_[s["points"]["x"], s["points"]["y"]], _frame(s, k))
        assert [len(xs) for xs in s["tails"]["xs"]] == [3] * n  # frames k - 2 .. k
        noise = np.asarray(s["run"]["noise"]).reshape(K, n, 2)[k]
        np.testing.assert_allclose(_vectors(s["noise_arrows"]), noise, atol=1e-12)
        assert len(s["field_arrows"]["x_start"]) == len(np.arange(*explorer.FIELD_GRID)) ** 2
        # t = 1: DDPM's last step adds no noise (Algorithm 2): no arrow; t = 0: no step left
        _set(page, [("explorer-time", "value", 1)])
        page.wait_for_function(f"() => ({TITLE})() === 'a, DDPM, t = 1'")
        s = page.evaluate(STATE_JS)
        assert not s["noise_arrows"]["x_start"] and len(s["eps_arrows"]["x_start"]) == n
        _set(page, [("explorer-time", "value", 0)])
        page.wait_for_function(f"() => ({TITLE})() === 'a, DDPM, t = 0: samples x₀'")
        s = page.evaluate(STATE_JS)
        assert not any(s[name]["x_start"] for name in ARROW_SOURCES)
        np.testing.assert_array_equal(np.c_[s["points"]["x"], s["points"]["y"]], _frame(s, K))
    finally:
        context.close()
    assert not errors, errors
    assert not offsite, offsite


def _python_ddim(model, x_T: torch.Tensor, y: int, scale: float, num_steps: int) -> torch.Tensor:
    """samplers' deterministic DDIM (eq. 12) from ``x_T``, guided as guidance.guided_eps."""
    guided, steps, x = Guided(model, y, scale), timesteps(model.T, num_steps), x_T
    with torch.no_grad():
        for i, t in enumerate(steps):
            eps = guided(x, torch.full((len(x),), t))
            x = ddim_step(x, t, eps, model.alpha_bars, t_prev=steps[i + 1] if i + 1 < len(steps)
                          else -1)  # fmt: skip
    return x


@pytest.mark.browser
def test_a_new_input_samples_a_new_run_like_python(browser, html, model):
    """Shape, guidance scale, sampler and steps change the run; its deterministic DDIM ends where
    Python's ends from the run's own x_T. More particles keep the first ones' x_T (same seed)."""
    context, page, errors, _ = _open(browser, html)
    try:
        first = page.evaluate(STATE_JS)
        key = page.evaluate(RUN_KEY)
        _set(page, [("explorer-shape", "value", "c"), ("explorer-guidance", "value", 2.5),
                    ("explorer-sampler", "active", 1), ("explorer-steps", "value", 7),
                    ("explorer-particles", "value", 40)])  # fmt: skip
        page.wait_for_function(f"() => ({RUN_KEY})() !== {json.dumps(key)} && "
                               f"({RUN_KEY})().includes('\"numSteps\":7')")  # fmt: skip
        page.wait_for_function(f"() => ({TITLE})().startsWith('c, DDIM')")
        s = page.evaluate(STATE_JS)
        assert (s["run"]["n"], s["run"]["K"]) == (40, 7) and s["run"]["steps"] == timesteps(T, 7)
        np.testing.assert_array_equal(_frame(s, 0)[:20], _frame(first, 0))  # same seed
        x_T = torch.tensor(_frame(s, 0), dtype=torch.float32)
        want = _python_ddim(model, x_T, 2, 2.5, 7).numpy()
        np.testing.assert_allclose(_frame(s, 7), want, atol=1e-4)
        assert not np.any(s["run"]["noise"])  # eta = 0: deterministic
        # a seed changes x_T; eta > 0 makes DDIM add noise
        _set(page, [("explorer-seed", "value", 5), ("explorer-eta", "value", 0.5)])
        page.wait_for_function(f"() => ({RUN_KEY})().includes('\"seed\":5')")
        s2 = page.evaluate(STATE_JS)
        assert not np.allclose(_frame(s2, 0), _frame(s, 0)) and np.any(s2["run"]["noise"])
        messages = page.evaluate("""() => { const L = diffusion2dLive, out = [];
          const m = L.load(JSON.parse(document.getElementById('explorer-model').textContent));
          for (const opts of [{n: 2, y: 'zz'}, {n: 2, y: 3}, {n: 2, y: 'a', numSteps: 0}])
            try { L.sample(m, opts); out.push(null); } catch (e) { out.push(e.message); }
          return out; }""")
        assert messages[0].startswith("y must be") and '"zz"' in messages[0]
        assert messages[1].startswith("y must be a class index in [0, 2]")
        assert messages[2].startswith("numSteps must be")
    finally:
        context.close()
    assert not errors, errors


LIVE_CHECKS = """(data) => { const L = diffusion2dLive, m = L.load(data), out = {};
  const x = [0.3, -1.2, 2.5, 0.1, -0.7, -0.4, 1.1, 1.9, -2.2, 0.05];  // five points
  out.forward = Array.from(L.forward(m, x, [0, 3, 11, 7, 5], [0, null, 2, 1, null]));
  out.guided = Array.from(L.guidedEps(m, x, 6, "b", 1.75));
  out.steps = [1, 5, 12].map(n => Array.from(L.timesteps(m, n)));
  const run = L.sample(m, {n: 5, y: "c", guidanceScale: 2, numSteps: 6, xT: x});
  out.drift = Array.from(L.drift(m, run, 2, x));
  out.arrows = Array.from(L.scaledArrows([3, 4, 0.3, 0.4, 0, 1e-3, -6, 8, 1, 0], 0.25));
  out.erf = [-3, -0.5, 0, 1e-3, 0.7, 2.4999, 2.5, 4].map(L.erf);
  return out; }"""


@pytest.mark.browser
def test_live_js_mirrors_the_python(browser, data, model):
    """live.js alone (no Bokeh) on the small model: the forward pass (the null label included),
    guided eps, the steps, a DDPM step's deterministic move and the arrows' rescaling agree with
    model.py, guidance.py, samplers.py and points.py."""
    import math

    from diffusion2d.guidance import guided_eps
    from diffusion2d.plotting.points import scaled_arrows
    from diffusion2d.samplers import ddpm_step, respace

    context = browser.new_context()
    page = context.new_page()
    try:
        page.set_content(f"<!DOCTYPE html><script>{explorer.LIVE_JS}</script>")
        got = page.evaluate(LIVE_CHECKS, data)
    finally:
        context.close()
    x = torch.tensor([[0.3, -1.2], [2.5, 0.1], [-0.7, -0.4], [1.1, 1.9], [-2.2, 0.05]])
    with torch.no_grad():
        want = model(x, torch.tensor([0, 3, 11, 7, 5]), torch.tensor([0, C, 2, 1, C]))
        np.testing.assert_allclose(np.reshape(got["forward"], (5, 2)), want, atol=1e-5)
        eps = guided_eps(model, x, torch.full((5,), 6), 1, 1.75)  # "b": class 1
        np.testing.assert_allclose(np.reshape(got["guided"], (5, 2)), eps, atol=1e-5)
        steps = timesteps(T, 6)  # step k = 2 of a 6-step DDPM run, on the respaced schedule
        eps = guided_eps(model, x, torch.full((5,), steps[2]), 2, 2.0)  # "c"
        betas, alphas = respace(model.alpha_bars, steps)
        move = ddpm_step(x, steps[2], eps, betas, alphas, model.alpha_bars, None) - x
        np.testing.assert_allclose(np.reshape(got["drift"], (5, 2)), move, atol=1e-5)
    assert got["steps"] == [timesteps(T, n) for n in (1, 5, 12)]
    vectors = np.array([[3, 4], [0.3, 0.4], [0, 1e-3], [-6, 8], [1, 0]])
    np.testing.assert_allclose(np.reshape(got["arrows"], (5, 2)), scaled_arrows(vectors, 0.25)[0])
    want = [math.erf(v) for v in (-3, -0.5, 0, 1e-3, 0.7, 2.4999, 2.5, 4)]
    np.testing.assert_allclose(got["erf"], want, rtol=0, atol=1e-14)


TIME, PLAY = EXPLORER_TIME, EXPLORER_PLAY


@pytest.mark.browser
def test_play_runs_t_down_to_zero_and_pause_stops_it(data, browser):
    layout = explorer.build_explorer(data, shape="b", particles=10)
    (play,) = select(layout, "explorer-play").js_event_callbacks["button_click"]
    play.args["DT"] = 1000  # slow steps: the test's Pause click lands long before t = 0
    context, page, errors, _ = _open(browser, explorer.explorer_html(layout, data))
    try:
        button = page.locator(".explorer-play button")
        play_then_pause(page, button, below=T, still_ms=2000)  # two more timer periods
        button.click()  # Play again: runs on from where it stopped to t = 0, and stops there
        page.wait_for_function(f"() => ({TIME})() === 0 && ({PLAY})().label === 'Play'",
                               timeout=60_000)  # fmt: skip
        page.wait_for_function(f"() => ({TITLE})() === 'b, DDPM, t = 0: samples x₀'")
        button.click()  # at t = 0, Play starts again from x_T
        page.wait_for_function(f"() => ({TIME})() < {T} && ({TIME})() > 0", timeout=30_000)
    finally:
        context.close()
    assert not errors, errors
