"""Checks of the trajectory explorer: stored data layout, sizes, the Bokeh document, the JS glue.

A browser test (marked ``browser``) loads a standalone page in the session's shared Chromium (the
``browser`` fixture of tests/conftest.py) and checks that the CustomJS callback draws exactly what
:func:`explorer.view` computes in Python.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from diffusion2d import explorer
from diffusion2d import sampling_plots as sp
from diffusion2d.exact import ExactDenoiser

T, N = 6, 30
GRID = (-2.0, 2.01, 1.0)  # 5 x 5 = 25 grid points


@pytest.fixture(scope="module")
def points() -> torch.Tensor:
    return torch.randn(12, 2, generator=torch.Generator().manual_seed(3))


@pytest.fixture(scope="module")
def runs(points):
    model = ExactDenoiser(points, 1e-3, 0.2, T)
    return sp.record_pair(model, N, torch.Generator().manual_seed(0), grid=GRID)


@pytest.fixture(scope="module")
def stored(runs, points) -> explorer.ExplorerData:
    return explorer.explorer_data(runs, points)


@pytest.fixture(scope="module")
def html(stored) -> str:
    return explorer.explorer_html(explorer.build_explorer(stored, tail=2, num=10))


def test_quantize_rounds_to_thousandths_and_clips():
    q = explorer.quantize(np.array([0.00049, 0.0015, -1.2344, 40.0, -40.0]))
    assert q.dtype == np.int16
    assert q.tolist() == [0, 2, -1234, 32767, -32767]


def test_data_layout(stored, runs):
    assert (stored.T, stored.num_particles) == (T, N)
    assert stored.positions.shape == (2, T + 1, N, 2) and stored.positions.dtype == np.int16
    assert stored.eps.shape == (2, T, N, 2) and stored.eps.dtype == np.int16
    assert stored.noise.shape == (T, N, 2) and stored.noise.dtype == np.int16
    assert stored.field.shape == (2, T, 25, 2) and stored.field.dtype == np.int16
    assert stored.field_factor.shape == (2, T)
    assert stored.grid.shape == (25, 2) and stored.data.shape == (12, 2)
    q = 1 / explorer.QUANT
    for s, name in enumerate(explorer.SAMPLERS):  # block 0 is DDPM, block 1 DDIM
        np.testing.assert_allclose(stored.positions[s] * q, runs[name].positions, atol=q)
        np.testing.assert_allclose(stored.eps[s] * q, runs[name].eps_pred * sp.EPS_SCALE, atol=q)
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
    other = sp.record_pair(ExactDenoiser(points, 1e-3, 0.2, T), N,
                           torch.Generator().manual_seed(9), grid=GRID)  # fmt: skip
    with pytest.raises(ValueError, match="same x_T"):
        explorer.explorer_data({"DDPM": runs["DDPM"], "DDIM": other["DDIM"]})


def test_view_matches_the_controls(stored):
    v = explorer.view(stored, t=T, tail=3, num=10, ddim=False)
    assert len(v["points"]["x"]) == 10
    assert all(len(xs) == 1 for xs in v["tails"]["xs"])  # no past at t = T
    assert len(v["field_arrows"]["x_start"]) == 25
    assert len(v["eps_arrows"]["x_start"]) == len(v["noise_arrows"]["x_start"]) == 10
    v = explorer.view(stored, t=2, tail=3, num=7, ddim=True)
    assert all(len(xs) == 4 for xs in v["tails"]["xs"])
    assert v["noise_arrows"]["x_start"] == []  # DDIM adds no noise
    v = explorer.view(stored, t=0, tail=T, num=N, ddim=False)
    assert v["points"]["x"] == pytest.approx(list(stored.positions[0, T, :, 0] / 1000))
    assert all(len(d["x_start"]) == 0 for k, d in v.items() if k.endswith("arrows"))
    v = explorer.view(stored, t=3, tail=0, num=5, ddim=False, arrows=(1,))
    assert v["field_arrows"]["x_start"] == [] and len(v["eps_arrows"]["x_start"]) == 5


def test_widgets_have_stable_names_and_classes(stored):
    from bokeh.models import CustomJS

    layout = explorer.build_explorer(stored)
    for key, name in explorer.WIDGETS.items():
        w = layout.select_one({"name": name})
        assert w is not None, key
        assert name in w.css_classes
        callbacks = [cb for cbs in w.js_property_callbacks.values() for cb in cbs]
        assert len(callbacks) == 1 and isinstance(callbacks[0], CustomJS)
        assert callbacks[0].code == explorer.CALLBACK_JS
    assert layout.select_one({"name": explorer.PLOT_NAME}) is not None
    time = layout.select_one({"name": "explorer-time"})
    assert (time.start, time.end, time.value, time.direction) == (0, T, T, "rtl")


def test_callback_is_short_glue():
    lines = [ln for ln in explorer.CALLBACK_JS.strip().splitlines() if ln.strip()]
    assert len(lines) <= 40
    for name in ("time", "tail", "particles", "ddim", "arrows", "points", "tails"):
        assert re.search(rf"\b{name}\b", explorer.CALLBACK_JS)


def test_html_is_self_contained(html):
    assert "/* BEGIN bokeh.min.js */" in html and "bokeh-widgets" in html
    # no <script src=...> or <link href=...> at all: BokehJS is inlined (bokeh.min.js itself
    # mentions a MathJax CDN for math text, which the explorer does not use)
    assert not re.search(r"<(script|link)[^>]+(src|href)=", html)
    assert "cdn.bokeh.org" not in html
    assert html.startswith('<div class="explorer"')
    for name in explorer.WIDGETS.values():
        assert name in html
    assert "arrowsTo(field_arrows, on.has(0), gx, gy, F, s, G);" in _docs_json(html)  # the callback


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
    runs = sp.record_pair(model, 300, torch.Generator().manual_seed(0))
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

SET_JS = """([t, tail, n, ddim, arrows]) => {
  const doc = Bokeh.documents[0], get = n => doc.get_model_by_name(n);
  get("explorer-time").value = t; get("explorer-tail").value = tail;
  get("explorer-particles").value = n; get("explorer-ddim").active = ddim;
  get("explorer-arrows").active = arrows;
}"""


@pytest.mark.browser
def test_callback_draws_what_python_computes(stored, html, browser):
    head = "<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
    page_html = f"{head}<body>{html}</body></html>"
    errors, offsite = [], []
    context = browser.new_context()  # a context of its own on the session's browser
    try:
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        # the page has no URL of its own (about:blank): any http(s) request leaves the machine
        page.on("request", lambda r: offsite.append(r.url) if r.url.startswith("http") else None)
        page.set_content(page_html, wait_until="load", timeout=60_000)
        page.wait_for_function("() => window.Bokeh && Bokeh.documents.length > 0", timeout=60_000)
        settings = [(T, 2, 10, False, [0, 1, 2]), (3, 2, 10, False, [0, 1, 2]),
                    (3, 4, 25, True, [0, 1, 2]), (0, T, N, False, [1]),
                    (1, 0, 10, False, [2])]  # fmt: skip
        for t, tail, n, ddim, arrows in settings:
            # the CustomJS callbacks run synchronously when a widget's value is set
            page.evaluate(SET_JS, [t, tail, n, ddim, arrows])
            got = page.evaluate(STATE_JS)
            want = explorer.view(stored, t, tail, n, ddim, tuple(arrows))
            for source, columns in want.items():
                for column, values in columns.items():
                    g = got[source][column]
                    assert len(g) == len(values), (t, source, column)
                    if values and isinstance(values[0], list):
                        for a, b in zip(g, values, strict=True):
                            np.testing.assert_allclose(a, b, atol=1e-9)
                    else:
                        np.testing.assert_allclose(g, values, atol=1e-9)
            assert got["title"].startswith("DDIM" if ddim else "DDPM")
            assert f"t = {t}" in got["title"]
    finally:
        context.close()
    assert not errors, errors
    assert not offsite, offsite
