"""The live explorer's sampler in headless Chromium: milliseconds per run of the page's live code.

On the built explorer page (``--site``, default _build/html; if it is not built, a standalone
page made from the model cache), it times ``diffusion2dLive.sample`` of the book's class-
conditional model, ``--particles`` particles and ``--steps`` steps toward the dino, for DDPM, DDIM
and Heun at a guidance scale other than 0 and 1 (two network evaluations per step) and for DDPM
at scale 1 (one), and prints the median of ``--repeats`` runs (after one warm-up run each):

    live_sample_ms_ddpm_guided: <median ms>
    live_sample_ms_ddim_guided: ...
    live_sample_ms_heun_guided: ...
    live_sample_ms_ddpm_conditional: ...
    live_evaluations_<sampler>_guided: <network evaluations per particle>

and what the page does (the explorer's client.js, sampling in its Web Worker), for Heun at the
guided scale: the median time from a request to its run on the page (sampling, transfer and
drawing), and the time the worker takes for the learned field of all the run's frames (what
Play then only looks up):

    live_page_ms_heun_guided: <median ms, request to run on show>
    live_field_frames_ms_heun_guided: <ms for every frame of the field>

The issue's target: 300 particles x 50 steps with guidance well under 1000 ms on 2 cores. A
report, not a test; run it on an otherwise idle machine:

    python benchmarks/live_explorer.py [--particles 300] [--steps 50] [--repeats 9]
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import statistics
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = "chapters/06b_explorer.html"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
READY = "() => / ms$/.test(document.querySelector('.explorer-status').textContent)"
TIME_JS = """([opts, repeats]) => {
  const L = window.diffusion2dLive;
  const m = L.load(JSON.parse(document.getElementById('explorer-model').textContent));
  L.sample(m, opts);  // warm-up: the JIT compiles the loops
  const ms = [];
  let evaluations = 0;
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    evaluations = L.sample(m, {...opts, seed: i}).evaluations;
    ms.push(performance.now() - t0);
  }
  return {ms, evaluations};
}"""


# Through the page's client (client.js): runs requested as a reader's input would, each until it
# is the run on show; then the learned field of the last run, all frames, computed in the worker
PAGE_JS = """async ([opts, repeats]) => {
  const X = Bokeh.documents[0].get_model_by_name('explorer-plot').explorer_client;
  const until = ok => new Promise(done => { const poll = () => ok() ? done() : setTimeout(poll, 2);
                                             poll(); });
  const ms = [];
  for (let i = 0; i <= repeats; i++) {  // the first: a warm-up
    const t0 = performance.now();
    X.request({...opts, seed: 1000 + i});
    await until(() => X.run && X.run.key === X.want);
    if (i) ms.push(performance.now() - t0);
  }
  const r = X.run, t0 = performance.now();
  X.field(r, 0);  // frame 0 here, the others in the worker
  await until(() => X.fields.get(diffusion2dExplorer.fieldKey(r)).size === r.K && !X.busy());
  return {ms, field: performance.now() - t0};
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass


def standalone_site(folder: Path) -> Path:
    """A page holding the explorer alone, from the model cache (when the book is not built)."""
    from diffusion2d import DATASAURUS_SHAPES, experiments, load_datasaurus
    from diffusion2d.plotting import explorer, live

    model = experiments.load_experiment("cfg")[0]
    data = live.export_model(model, DATASAURUS_SHAPES, load_datasaurus("all"))
    page = folder / PAGE
    page.parent.mkdir(parents=True)
    page.write_text("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
                    f"{explorer.explorer_html(explorer.build_explorer(data), data)}</body></html>",
                    encoding="utf-8")  # fmt: skip
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument("--particles", type=int, default=300)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        site = args.site if (args.site / PAGE).is_file() else standalone_site(Path(tmp))
        handler = functools.partial(_Quiet, directory=str(site))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        runs = {"ddpm_guided": ("ddpm", 1.5), "ddim_guided": ("ddim", 1.5),
                "heun_guided": ("heun", 1.5), "ddpm_conditional": ("ddpm", 1.0)}  # fmt: skip
        results = {}
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/{PAGE}")
                page.wait_for_function("() => !!window.diffusion2dLive", timeout=60_000)
                page.wait_for_function(READY, timeout=60_000)
                for name, (sampler, scale) in runs.items():
                    opts = {"n": args.particles, "numSteps": args.steps, "sampler": sampler,
                            "y": "dino", "guidanceScale": scale}  # fmt: skip
                    results[name] = page.evaluate(TIME_JS, [opts, args.repeats])
                opts = {"n": args.particles, "sampler": "heun", "numSteps": args.steps, "eta": 0,
                        "y": "dino", "guidanceScale": 1.5}  # fmt: skip
                on_page = page.evaluate(PAGE_JS, [opts, args.repeats])
                browser.close()
        finally:
            server.shutdown()
    print(f"# {args.particles} particles, {args.steps} steps, median of {args.repeats} runs "
          f"(page: {'built site' if site == args.site else 'standalone'})")  # fmt: skip
    for name, r in results.items():
        print(f"live_sample_ms_{name}: {statistics.median(r['ms']):.0f}")
    for name, r in results.items():
        if name.endswith("guided"):
            print(f"live_evaluations_{name.split('_')[0]}_guided: {r['evaluations']}")
    print(f"live_page_ms_heun_guided: {statistics.median(on_page['ms']):.0f}")
    print(f"live_field_frames_ms_heun_guided: {on_page['field']:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
