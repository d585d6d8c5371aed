"""The live explorer's network and samplers on the built page, against PyTorch (Chromium).

The page (default chapters/06b_explorer.html, override with EXPLORER_PAGE) holds the class-
conditional model the book trained (``experiments.load_experiment("cfg")``, loaded here from the
model cache, the torch side of every comparison) and ``window.diffusion2dLive`` (LIVE_JS). The
tests check, with the tolerances of :mod:`diffusion2d.plotting.live` that the chapter quotes:

- parity: the page's eps_theta equals PyTorch's on a fixed set of (x, t, y), the null label
  included, within FORWARD_TOL; deterministic DDIM runs (guided and not, all steps and fewer)
  from the same x_T end within DDIM_TOL of ``samplers.sample``'s, and so do DDPM and Heun fed the
  same noise;
- the explorer itself, driven through its controls: 300 dinosaur particles at guidance scale 1
  lie on average within DINO_TOL of a point of the dinosaur; the slowest run is sampled in a
  Web Worker: the status line says "Sampling…" meanwhile and the page's main thread is never
  blocked for long;
- bad input: an unknown shape name or a class index out of range throws an Error naming ``y``;
- page weight: everything the page loads, text gzipped as GitHub Pages serves it (the rule of
  benchmarks/build_budget.py), stays within 3 MB.
"""

from __future__ import annotations

import gzip
import os
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
import torch
from sitetools import Visit, toc_pages

from diffusion2d import experiments, load_datasaurus, samplers
from diffusion2d.plotting.explorer import MAX_PARTICLES, MODEL_ID, PLOT_NAME
from diffusion2d.plotting.live import DDIM_TOL, DINO_TOL, FORWARD_TOL

pytestmark = [pytest.mark.build, pytest.mark.browser]

EXPLORER_PAGE = os.environ.get("EXPLORER_PAGE", "chapters/06b_explorer.html")
PAGE_BUDGET = 3_000_000  # bytes transferred, text gzipped as GitHub Pages serves it
TEXT = (".html", ".htm", ".js", ".css", ".svg", ".json", ".txt")  # as build_budget.gzipped_size

READY = """() => { const s = document.querySelector('.explorer-status');
  return !!(window.diffusion2dLive && s && / ms$/.test(s.textContent)); }"""
# The page's model, loaded once from its JSON
MODEL = f"""(window.__liveModel = window.__liveModel
  || diffusion2dLive.load(JSON.parse(document.getElementById('{MODEL_ID}').textContent)))"""
FORWARD = f"""([x, t, y]) => Array.from(diffusion2dLive.forward({MODEL}, x, t, y))"""
SAMPLE = f"""(opts) => {{ const r = diffusion2dLive.sample({MODEL}, opts);
  return {{x0: Array.from(r.positions.subarray(r.K * 2 * r.n)), evaluations: r.evaluations}}; }}"""


@pytest.fixture(scope="module")
def model():
    return experiments.load_experiment("cfg")[0]


@pytest.fixture(scope="module")
def live_page(site, base_url, browser):
    """The explorer page at 1280 px, its first run drawn; one per module (read-only tests)."""
    if EXPLORER_PAGE not in toc_pages():
        pytest.fail(f"{EXPLORER_PAGE} is not in _toc.yml")
    v = Visit(browser, base_url, EXPLORER_PAGE).open()
    try:
        v.page.wait_for_function(READY, timeout=90_000)
        yield v
        v.assert_clean()
    finally:
        v.close()


def test_forward_pass_matches_pytorch(live_page, model):
    g = torch.Generator().manual_seed(0)
    n = 256
    x = torch.randn(n, 2, generator=g) * 1.5  # (n, 2), the data's range and beyond
    ends = torch.tensor([0, model.T - 1])  # the first and the last step, then any
    t = torch.cat([ends, torch.randint(0, model.T, (n - 2,), generator=g)])
    y = torch.randint(0, model.num_classes + 1, (n,), generator=g)  # num_classes: the null label
    with torch.no_grad():
        want = model(x, t, y).numpy()  # (n, 2)
    labels = [None if int(v) == model.num_classes else int(v) for v in y]
    got = np.asarray(live_page.page.evaluate(FORWARD, [x.flatten().tolist(), t.tolist(), labels]))
    assert np.abs(got.reshape(n, 2) - want).max() <= FORWARD_TOL


def _python_run(model, n, seed, sampler, num_steps, guidance_scale, eta=0.0):
    """``samplers.sample``'s run and the draws it made: x_T, then the z of each noisy step."""
    out = samplers.sample(n, model, sampler, generator=torch.Generator().manual_seed(seed),
                          num_steps=num_steps, eta=eta, y="dino", guidance_scale=guidance_scale)
    g = torch.Generator().manual_seed(seed)
    x_T = torch.randn(n, 2, generator=g)
    assert torch.equal(x_T, out[0])
    steps = samplers.timesteps(model.T, num_steps)
    noisy = sampler == "ddpm" or (sampler == "ddim" and eta > 0)
    z = [torch.randn(n, 2, generator=g) for _ in steps[1:]] if noisy else []
    return x_T, z, out[-1].numpy()


@pytest.mark.parametrize(("sampler", "num_steps", "scale", "eta", "tol"), [
    ("ddim", None, 1.0, 0.0, DDIM_TOL),  # the standard: deterministic DDIM
    ("ddim", 10, 2.5, 0.0, DDIM_TOL),  # guided: two evaluations per step, fewer steps
    ("ddim", None, 0.0, 0.0, DDIM_TOL),  # unconditional
    ("ddim", 20, 1.5, 0.5, DDIM_TOL),  # eta > 0, the same noise
    ("ddpm", None, 1.5, 0.0, DDIM_TOL),  # the same noise
    ("ddpm", 7, 1.0, 0.0, DDIM_TOL),  # the respaced schedule
    ("heun", 12, 2.0, 0.0, DDIM_TOL),
])  # fmt: skip
def test_a_run_from_the_same_start_ends_where_python_ends(live_page, model, sampler, num_steps,
                                                         scale, eta, tol):  # fmt: skip
    n, seed = 100, 7
    x_T, z, want = _python_run(model, n, seed, sampler, num_steps, scale, eta)
    opts = {"n": n, "sampler": sampler, "numSteps": num_steps or model.T, "eta": eta,
            "y": "dino", "guidanceScale": scale, "xT": x_T.flatten().tolist(),
            "z": torch.cat(z).flatten().tolist() if z else None}  # fmt: skip
    got = live_page.page.evaluate(SAMPLE, opts)
    assert np.abs(np.asarray(got["x0"]).reshape(n, 2) - want).max() <= tol
    per_eval = 1 if scale in (0.0, 1.0) else 2
    assert got["evaluations"] == per_eval * samplers.evaluations(sampler, num_steps, model.T)


def test_explorer_samples_the_dino_at_guidance_scale_1(live_page):
    """Through the controls: the dinosaur, DDPM, all steps, guidance scale 1, 300 particles."""
    page = live_page.page
    page.evaluate(f"""() => {{ const get = n => Bokeh.documents[0].get_model_by_name(n);
      get('explorer-shape').value = 'dino'; get('explorer-sampler').active = 0;
      for (const [n, v] of [['guidance', 1], ['particles', {MAX_PARTICLES}]]) {{
        get('explorer-' + n).value = v; get('explorer-' + n).value_throttled = v; }} }}""")
    run = f"Bokeh.documents[0].get_model_by_name('{PLOT_NAME}').explorer_run"
    page.wait_for_function(f"() => {run}.n === {MAX_PARTICLES}", timeout=60_000)
    got = page.evaluate(f"""() => {{ const r = {run};
      return {{y: r.y, s: r.guidanceScale, sampler: r.sampler, K: r.K,
              x0: Array.from(r.positions.subarray(r.K * 2 * r.n))}}; }}""")
    assert (got["y"], got["s"], got["sampler"]) == (0, 1, "ddpm")
    x0 = torch.tensor(got["x0"], dtype=torch.float64).reshape(-1, 2)  # (300, 2)
    nearest = torch.cdist(x0, load_datasaurus("dino").double()).min(dim=1).values
    assert len(x0) == MAX_PARTICLES and nearest.mean() <= DINO_TOL, float(nearest.mean())


# From now on: the longest task on the page's main thread, and every text of the status line
WATCH = """() => { window.__longest = 0; window.__statuses = [];
  new PerformanceObserver(list => { for (const e of list.getEntries())
    window.__longest = Math.max(window.__longest, e.duration); }).observe({type: 'longtask'});
  const status = document.querySelector('.explorer-status');
  new MutationObserver(() => window.__statuses.push(status.textContent))
    .observe(status, {childList: true, characterData: true, subtree: true}); }"""


def test_the_page_stays_responsive_while_it_samples(live_page, model):
    """The slowest run (Heun at guidance scale 2 in all T steps, 300 particles: 2 (2T - 1)
    network evaluations per particle, about a second on a laptop) is sampled in a Web Worker:
    the status line says "Sampling…" until it arrives, and no task on the page's main thread
    takes even half as long as the run did (on the main thread, the run would block it for all
    of it)."""
    page = live_page.page
    page.evaluate(WATCH)
    page.evaluate(f"""() => {{ const get = n => Bokeh.documents[0].get_model_by_name(n);
      get('explorer-shape').value = 'dino'; get('explorer-sampler').active = 2;
      get('explorer-seed').value = 17;
      const values = [['guidance', 2], ['steps', {model.T}], ['particles', {MAX_PARTICLES}]];
      for (const [n, v] of values) {{
        get('explorer-' + n).value = v; get('explorer-' + n).value_throttled = v; }} }}""")
    run = f"Bokeh.documents[0].get_model_by_name('{PLOT_NAME}').explorer_run"
    page.wait_for_function(f"""() => {{ const r = {run};
      return r.sampler === 'heun' && r.n === {MAX_PARTICLES} && r.guidanceScale === 2
        && r.seed === 17 && r.K === {model.T}; }}""", timeout=120_000)  # fmt: skip
    page.wait_for_function(READY, timeout=60_000)
    ms, longest, statuses = page.evaluate(f"() => [{run}.ms, window.__longest, window.__statuses]")
    assert "Sampling…" in statuses, statuses
    evaluations = 2 * samplers.evaluations("heun", None, model.T)
    want = f"{MAX_PARTICLES} particles, {model.T} steps, {evaluations} network evaluations each"
    assert statuses[-1].startswith(want), statuses
    assert longest < ms / 2, f"a task of {longest:.0f} ms on the page; the run took {ms:.0f} ms"


def test_bad_input_throws_an_error_naming_the_argument(live_page):
    messages = live_page.page.evaluate(f"""() => {{ const L = diffusion2dLive, m = {MODEL};
      const calls = [() => L.sample(m, {{n: 5, y: 'trex'}}), () => L.sample(m, {{n: 5, y: 13}}),
        () => L.sample(m, {{n: 5, y: -1}}), () => L.guidedEps(m, [0, 0], 0, 'trex'),
        () => L.forward(m, [0, 0], 0, 14), () => L.forward(m, [0, 0], 50, 0),
        () => L.sample(m, {{n: 5, y: 'dino', sampler: 'euler'}}),
        () => L.sample(m, {{n: 5, y: 'dino', guidanceScale: -1}})];
      return calls.map(f => {{ try {{ f(); return null; }} catch (e) {{ return e.message; }} }});
    }}""")
    assert all(messages), messages
    for message in messages[:5]:
        assert message.startswith("y must be"), message
    assert "dino, away" in messages[0] and '"trex"' in messages[0]
    assert "[0, 12]" in messages[1] and "[0, 13]" in messages[4]  # 13: the null label
    assert [m.split(" ")[0] for m in messages[5:]] == ["t", "sampler", "guidanceScale"]


def _transferred(site, url: str) -> int:
    """Bytes a server that gzips text (as GitHub Pages does) sends for a local ``url`` of the
    site: the rule of benchmarks/build_budget.py."""
    path = site / unquote(urlsplit(url).path).lstrip("/")
    data = path.read_bytes()
    return len(gzip.compress(data, 6)) if path.suffix in TEXT else len(data)


def test_page_weight_within_budget(site, base_url, browser):
    """Everything the explorer page loads (HTML with BokehJS, the live code and model inlined, the
    theme's CSS, scripts and fonts, MathJax), as a gzipping server transfers it, fits the budget
    (the same bytes unzipped, as this test's server sends them, are reported beside it)."""
    v = Visit(browser, base_url, EXPLORER_PAGE).open()
    try:
        v.page.wait_for_function(READY, timeout=90_000)
        entries = v.page.evaluate("""() => performance.getEntriesByType('navigation')
          .concat(performance.getEntriesByType('resource'))
          .map(e => [e.name, e.encodedBodySize])""")
    finally:
        v.close()
    local = {url: size for url, size in entries if url.startswith(base_url)}
    assert EXPLORER_PAGE in " ".join(local) and len(local) == len(entries), entries
    total = sum(_transferred(site, url) for url in local)
    raw = sum(local.values())
    assert 0 < total <= PAGE_BUDGET, f"{total / 1e6:.2f} MB gzipped ({raw / 1e6:.2f} MB raw)"
