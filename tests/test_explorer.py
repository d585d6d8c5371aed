"""Checks of the live explorer (diffusion2d.plotting.explorer): the Bokeh document, its controls
and callbacks, the self-contained HTML, and its client side (JavaScript, CSS, HTML) as package
data that a wheel ships.

Browser tests (marked ``browser``) run in the session's shared Chromium (the ``browser`` fixture
of tests/conftest.py) with a small random model: the live code alone mirrors model.py, guidance.py,
samplers.py and points.py; and on a standalone page of the explorer, the page samples a run
when it is ready and when an input of the run changes, in a Web Worker (on the page itself where
there is none), the last request winning; it draws exactly the run's frame (particles, tails, the
three kinds of arrow, none of zero length) and the learned field's frames come from the worker;
a deterministic DDIM run ends where Python's samplers end from the same x_T; Play/Pause runs
and stops the time slider, Home and End move it to its ends; an empty seed box keeps the last
seed, says so, and every control goes on drawing; eta is dimmed and out of the Tab order but for
DDIM. The book's page, with the trained model, is checked in tests/site/test_site_explorer.py
and test_site_live.py.
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
from livemodel import random_conditional_model  # noqa: E402
from sitetools import EXPLORER_PLAY, EXPLORER_TIME, play_then_pause  # noqa: E402
from wheelfiles import wheel_files  # noqa: E402

T, C, PER = 12, 3, 6
CLASSES = ["a", "b", "c"]
ARROW_SOURCES = ("field_arrows", "eps_arrows", "noise_arrows")


def _model(**kwargs) -> DenoisingMLP:
    return random_conditional_model(0.2, T, beta_min=1e-3, num_classes=C, **kwargs)


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
    """The model called ``name`` in the explorer's document (its roots reference each other)."""
    found = list(layout["plot"].document.select({"name": name}))
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
    # one document (its "document_ready" callback draws the first run: the browser tests), a root
    # for the plot and one for each control, in page order
    assert list(layout) == ["plot", *explorer.CONTROL_ORDER]
    assert set(explorer.CONTROL_ORDER) == set(explorer.WIDGETS)
    assert all(root.document is layout["plot"].document for root in layout.values())
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
    assert value["eta"].title == "η (DDIM only)"
    assert value["seed"].value == 0 and value["tail"].value == min(explorer.DEFAULTS["tail"], T)
    assert (value["seed"].low, value["seed"].high) == (0, explorer.SEED_MAX) == (0, 2**31 - 1)
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
    lo, hi = explorer.VIEW_LIMITS  # a little wider than the book's figures
    assert lo == -hi and LIMITS[0] > lo and hi > LIMITS[1]
    from bokeh.models import DataRange1d, WheelZoomTool

    plot = layout["plot"]
    assert plot.match_aspect and plot.aspect_scale == 1
    assert plot.sizing_mode == "scale_width"
    for rng in (plot.x_range, plot.y_range):  # both auto ranges: match_aspect needs that
        assert isinstance(rng, DataRange1d) and rng.range_padding == 0
        assert np.isnan(rng.start) and np.isnan(rng.end)  # not fixed: computed in the page
        (corners,) = rng.renderers  # the ranges follow the square VIEW_LIMITS only
        assert list(corners.data_source.data["x"]) == list(explorer.VIEW_LIMITS)
        assert list(corners.data_source.data["y"]) == list(explorer.VIEW_LIMITS)
    assert plot.toolbar.active_drag is None  # a swipe scrolls the page
    zoom = plot.toolbar.active_scroll
    assert isinstance(zoom, WheelZoomTool) and zoom.modifiers == {"ctrl": True}


def test_colours_and_cues_by_meaning(layout):
    from bokeh.models import Arrow, OpenHead, VeeHead

    arrows = {a.source.name: a for a in layout["plot"].center if isinstance(a, Arrow)}
    # a second cue besides colour: the line style, and the head (open but for the added noise),
    # which a short dashed arrow keeps
    want = {"field_arrows": ("field", "solid", OpenHead), "eps_arrows": ("pred_noise", "dashed",
            OpenHead), "noise_arrows": ("noise", "solid", VeeHead)}  # fmt: skip
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
    for meaning in ("particles", "tail: last positions", "shape's data", "learned field",
                    "predicted noise", "added noise"):  # fmt: skip
        assert meaning in text
    assert legend.count('stroke-dasharray="4 2"') == 1  # the predicted noise's dashed swatch
    # its head open (no fill), as the plot's; the added noise's filled
    swatch = {label.strip(): svg for svg, label in re.findall(r"(<svg.*?</svg>)([^<]*)", legend,
                                                               re.S)}  # fmt: skip
    assert len(swatch) == 6, list(swatch)
    assert 'fill="none"' in swatch["predicted noise ε&#771;"]
    assert 'fill="none"' not in swatch["added noise σ"]
    # the guided eps of eq. (1), as the chapter's prose names it: eps-tilde_theta
    assert "predicted noise ε&#771;<sub>θ</sub> × 0.2" in legend
    assert "role='status'" in html  # the run's line under the plot is announced


def test_html_is_self_contained(html, data):
    assert "/* BEGIN bokeh.min.js */" in html and "bokeh-widgets" in html
    # no <script src=...> or <link href=...> at all: BokehJS and the live code inlined (bokeh.min.js
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
    assert html.count("data-root-id") == 1 + len(explorer.CONTROL_ORDER) and ".explorer-row" in html
    for key in explorer.CONTROL_ORDER:  # each control in its cell of the grid
        assert f"explorer-cell explorer-cell-{key}" in html and f"grid-area: {key}" in html
    # the worker's sources, read by client.js from the page: the live code and worker.js, with ids
    for name, text in (("live", explorer.LIVE_JS), ("worker", explorer.WORKER_JS)):
        assert f'<script id="{explorer.SCRIPT_IDS[name]}">{text}</script>' in html
    assert explorer.CLIENT_JS in html


def test_client_side_ships_as_package_data():
    """The explorer's JavaScript, CSS and HTML are files of the package that importlib.resources
    finds, and a wheel built from pyproject.toml (a non-editable install) ships every one."""
    pytest.importorskip("setuptools")
    assets = files("diffusion2d.plotting.explorer_assets")
    texts = {"update.js": explorer.CALLBACK_JS, "play.js": explorer.PLAY_JS,
             "live_net.js": explorer.LIVE_NET_JS, "live_sample.js": explorer.LIVE_SAMPLE_JS,
             "worker.js": explorer.WORKER_JS,
             "client.js": explorer.CLIENT_JS, "explorer.css": explorer.CSS,
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
    for js in (explorer.WORKER_JS, explorer.CLIENT_JS):
        assert len(js.splitlines()) <= 200 and max(map(len, js.splitlines())) <= 100
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


def _open(browser, html: str, init_script: str | None = None):
    """A page holding ``html`` alone, in a context of its own (``init_script`` run before the
    page's scripts), its first run drawn; (context, page, errors, offsite)."""
    errors, offsite = [], []
    context = browser.new_context()
    if init_script:
        context.add_init_script(init_script)
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
    """The live code alone (no Bokeh) on the small model: the forward pass (with the null label),
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


CLIENT = f"{PLOT}.explorer_client"
RUN = f"{PLOT}.explorer_run"
# From now on, count the calls of the live code's sample and drift on the page (not in the worker)
COUNT_CALLS = """() => { const L = diffusion2dLive; window.__calls = {sample: 0, drift: 0};
  for (const f of ['sample', 'drift']) {
    const g = L[f]; L[f] = (...a) => { window.__calls[f]++; return g(...a); }; } }"""


@pytest.mark.browser
def test_runs_come_from_a_worker_and_the_last_request_wins(browser, html):
    """The page samples in a Web Worker (the live code's sample never runs on the page); of requests
    made in a row, faster than the worker, the last one is the run on show; the learned field's
    frames of the run come from the worker, so that stepping through them (as Play does)
    computes nothing on the page, and they are the page's own computation."""
    context, page, errors, offsite = _open(browser, html)
    try:
        page.evaluate(COUNT_CALLS)
        for name, value in [("seed", 1), ("seed", 2), ("particles", 30), ("seed", 3)]:
            _set(page, [(f"explorer-{name}", "value", value)])
        page.wait_for_function(f"() => {RUN}.seed === 3 && {RUN}.n === 30 && !{CLIENT}.busy()",
                               timeout=60_000)  # fmt: skip
        assert page.evaluate(f"() => {RUN}.key === {CLIENT}.want")
        assert page.evaluate("() => window.__calls.sample") == 0
        # the learned field: the frame shown is computed at once, the others come from the worker
        _set(page, [("explorer-arrows", "active", [0, 1]), ("explorer-time", "value", T)])
        page.wait_for_function(f"""() => {{ const r = {RUN}, X = {CLIENT};
          const f = X.fields.get(diffusion2dExplorer.fieldKey(r));
          return !!f && f.size === r.K && !X.busy(); }}""", timeout=60_000)  # fmt: skip
        drift = page.evaluate("() => window.__calls.drift")
        assert drift == 1, drift  # frame 0, on the page; frames 1 .. K - 1 in the worker
        for t in range(T - 1, 0, -1):
            _set(page, [("explorer-time", "value", t)])
            page.wait_for_function(f"() => ({TITLE})() === 'a, DDPM, t = {t}'")
        assert page.evaluate("() => window.__calls") == {"sample": 0, "drift": 1}
        fields = len(np.arange(*explorer.FIELD_GRID)) ** 2
        assert page.evaluate("() => Bokeh.documents[0].get_model_by_name('field_arrows')"
                             ".data.x_start.length") == fields  # fmt: skip
        same = page.evaluate(f"""() => {{ const r = {RUN}, X = {CLIENT}, L = diffusion2dLive;
          const f = X.fields.get(diffusion2dExplorer.fieldKey(r)), grid = [];
          for (const [x, y] of {json.dumps(_grid())}) grid.push(x, y);
          return [3, r.K - 1].map(k => {{ const mine = L.scaledArrows(
            L.drift(X.model, r, k, grid), {explorer.FIELD_GRID[2]});
            return mine.every((v, i) => v === f.get(k)[i]); }}); }}""")  # fmt: skip
        assert same == [True, True]
    finally:
        context.close()
    assert not errors, errors
    assert not offsite, offsite


def _grid() -> list:
    from diffusion2d.utils import grid

    gx, gy, _ = grid(explorer.FIELD_GRID)
    return np.stack([gx.ravel(), gy.ravel()], 1).tolist()  # (G, 2)


@pytest.mark.browser
def test_without_a_worker_the_page_samples_itself(browser, html):
    """A browser without Web Workers (or a page that forbids them): the page samples on its main
    thread, after painting "Sampling…", and every input still gives its run."""
    context, page, errors, _ = _open(browser, html, init_script="delete window.Worker;")
    try:
        assert page.evaluate("() => typeof Worker") == "undefined"
        page.evaluate(COUNT_CALLS)
        _set(page, [("explorer-seed", "value", 9), ("explorer-sampler", "active", 2),
                    ("explorer-steps", "value", 1)])  # fmt: skip
        page.wait_for_function(f"() => {RUN}.seed === 9 && {RUN}.sampler === 'heun' "
                               f"&& {RUN}.K === 1", timeout=60_000)  # fmt: skip
        assert page.evaluate("() => window.__calls.sample") >= 1  # here, on the page
        page.wait_for_function(f"() => ({TITLE})() === 'a, Heun, t = {T}'")
        status = page.locator(".explorer-status").text_content()
        assert status.startswith("20 particles, 1 step, 1 network evaluation each: sampled in")
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.browser
def test_an_empty_seed_keeps_the_last_seed_and_the_page_goes_on(browser, html):
    """Emptying the seed box (the spinner's value becomes null) keeps the last valid seed, in the
    box too, says so in the reader's words, and every control goes on drawing the run; the live code
    takes the spinner's bound, 2^31 - 1, and no more."""
    context, page, errors, _ = _open(browser, html)
    try:
        box = page.locator(".explorer-seed input")
        box.fill("4")
        box.press("Enter")
        page.wait_for_function(f"() => {RUN}.seed === 4", timeout=60_000)
        key = page.evaluate(RUN_KEY)
        box.fill("")
        box.press("Enter")
        note = f"The seed must be a whole number from 0 to {explorer.SEED_MAX}; it stays 4."
        page.wait_for_function("(note) => document.querySelector('.explorer-status')"
                               ".textContent === note", arg=note)  # fmt: skip
        page.wait_for_function("() => Bokeh.documents[0].get_model_by_name('explorer-seed')"
                               ".value === 4")  # fmt: skip
        assert box.input_value() == "4" and page.evaluate(RUN_KEY) == key
        # the view's controls still draw: time, tail, arrows
        _set(page, [("explorer-time", "value", 5), ("explorer-tail", "value", 3),
                    ("explorer-arrows", "active", [0, 1, 2])])  # fmt: skip
        page.wait_for_function(f"() => ({TITLE})() === 'a, DDPM, t = 5'")
        s = page.evaluate(STATE_JS)
        assert [len(xs) for xs in s["tails"]["xs"]] == [4] * s["run"]["n"]
        assert all(s[name]["x_start"] for name in ARROW_SOURCES)
        # a new input samples again, with seed 4
        _set(page, [("explorer-particles", "value", 30)])
        page.wait_for_function(f"() => {RUN}.n === 30 && {RUN}.seed === 4", timeout=60_000)
        page.wait_for_function(READY)
        bounds = page.evaluate(f"""() => {{ const L = diffusion2dLive, m = {CLIENT}.model;
          const tryit = seed => {{ try {{ L.sample(m, {{n: 1, y: 'a', numSteps: 1, seed}});
            return null; }} catch (e) {{ return e.message; }} }};
          return [L.SEED_MAX, tryit(L.SEED_MAX), tryit(L.SEED_MAX + 1)]; }}""")  # fmt: skip
        assert bounds[:2] == [explorer.SEED_MAX, None]
        assert bounds[2] == f"seed must be an integer in [0, {explorer.SEED_MAX}], got 2147483648"
    finally:
        context.close()
    assert not errors, errors


ETA_STATE = """() => { const m = Bokeh.documents[0].get_model_by_name('explorer-eta');
  const v = Bokeh.index.find_one(m), handle = v.shadow_el.querySelector('[role=slider]');
  return {disabled: m.disabled, tabindex: handle.getAttribute('tabindex'),
          opacity: +getComputedStyle(v.el).opacity}; }"""


@pytest.mark.browser
def test_home_end_on_the_time_slider_and_a_dimmed_eta(browser, html):
    """The time slider runs right to left: Home goes to its left end (t = T), End to its right
    end (t = 0), as the arrow keys go by what they show. Eta is DDIM's alone: for DDPM it is
    disabled, dimmed and out of the Tab order; for DDIM none of that."""
    context, page, errors, _ = _open(browser, html)
    try:
        handle = page.locator(".explorer-time [role=slider]")
        handle.focus()
        page.keyboard.press("ArrowRight")  # one step towards x_0
        page.wait_for_function(f"() => ({TIME})() === {T - 1}")
        page.keyboard.press("End")
        page.wait_for_function(f"() => ({TITLE})() === 'a, DDPM, t = 0: samples x₀'")
        page.keyboard.press("Home")
        page.wait_for_function(f"() => ({TITLE})() === 'a, DDPM, t = {T}'")
        assert page.evaluate(TIME) == T
        off = page.evaluate(ETA_STATE)
        assert off["disabled"] and off["tabindex"] == "-1" and off["opacity"] < 0.6, off
        page.locator(".explorer-sampler button", has_text="DDIM").click()
        page.wait_for_function(f"() => !({ETA_STATE})().disabled && ({ETA_STATE})().opacity === 1")
        assert page.evaluate(ETA_STATE)["tabindex"] == "0"
        page.locator(".explorer-sampler button", has_text="Heun").click()
        page.wait_for_function(f"() => ({ETA_STATE})().disabled && ({ETA_STATE})().opacity < 0.6")
        page.wait_for_function(f"() => ({TITLE})().startsWith('a, Heun')", timeout=60_000)
        assert page.evaluate(ETA_STATE)["tabindex"] == "-1"
    finally:
        context.close()
    assert not errors, errors
