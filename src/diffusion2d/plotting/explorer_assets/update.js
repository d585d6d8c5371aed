// The explorer's callback on every control but Play, and once when the page is ready (CustomJS
// code of diffusion2d.plotting.explorer). Arguments: the sources points, tails, data,
// field_arrows, eps_arrows, noise_arrows; the controls but Play; the plot; gx, gy, spacing (the
// learned field's grid); EPS (the scale of eps_theta's arrows); MODEL (the id of the model's
// JSON); SAMPLERS (live.js's sampler names, in the toggle's order). When an input of the run
// changed, live.js samples a new run; then frame k of it is drawn, k = steps done.
const L = window.diffusion2dLive, status = document.querySelector(".explorer-status");
const m = plot.explorer_model
  || (plot.explorer_model = L.load(JSON.parse(document.getElementById(MODEL).textContent)));
const opts = {n: particles.value, sampler: SAMPLERS[sampler.active], numSteps: steps.value,
              eta: eta.value, y: shape.value, guidanceScale: guidance.value, seed: seed.value};
eta.disabled = opts.sampler !== "ddim";
const key = JSON.stringify(opts);
let run = plot.explorer_run;
if (!run || run.key !== key) {
  const t0 = performance.now();
  try { run = L.sample(m, opts); } catch (err) { status.textContent = err.message; return; }
  run.ms = performance.now() - t0; run.key = key; run.fields = new Map();
  const old = plot.explorer_run;
  plot.explorer_run = run;
  const per = m.points.length / 2 / m.C, y0 = run.y * per;  // the shape's points, a block each
  data.data = {x: Array.from({length: per}, (_, i) => m.points[2 * (y0 + i)]),
               y: Array.from({length: per}, (_, i) => m.points[2 * (y0 + i) + 1])};
  status.textContent = `${run.n} particles, ${run.K} steps, ${run.evaluations} network `
    + `evaluations each: sampled in ${Math.round(run.ms)} ms`;
  if (time.end !== run.K) {  // keep the slider's place: as far through the new run
    const frac = old ? time.value / time.end : 1;
    time.end = run.K;
    time.value = Math.round(frac * run.K);  // runs this callback again: it draws
  }
}
const n = run.n, K = run.K, k = K - Math.min(time.value, K), N2 = 2 * n, P = run.positions;
const t = k < K ? run.steps[k] + 1 : 0;  // frame k is x_t, t = T .. 0; its step is t - 1
// the particles at frame k, each dragging its path from frame k - tail
const f0 = Math.max(0, k - tail.value), ids = [...Array(n).keys()];
const path = (i, c) => Array.from({length: k - f0 + 1}, (_, j) => P[(f0 + j) * N2 + 2 * i + c]);
const xs = ids.map(i => path(i, 0)), ys = ids.map(i => path(i, 1));
const x = xs.map(p => p[p.length - 1]), y = ys.map(p => p[p.length - 1]);
points.data = {x, y};
tails.data = {xs, ys};
// arrows of step k from (bx, by) along the vectors v (scaled by s), if shown; none for zero
const on = new Set(arrows.active);
function arrowsTo(src, show, bx, by, v, s) {
  const d = {x_start: [], y_start: [], x_end: [], y_end: []};
  if (show && k < K) for (let i = 0; i < bx.length; i++) {
    const u = v[2 * i] * s, w = v[2 * i + 1] * s;
    if (u === 0 && w === 0) continue;
    d.x_start.push(bx[i]); d.y_start.push(by[i]); d.x_end.push(bx[i] + u); d.y_end.push(by[i] + w);
  }
  src.data = d;
}
let field = run.fields.get(k);  // the step's deterministic move on the grid, computed once
if (on.has(0) && k < K && !field) {
  const g = Float64Array.from(gx.flatMap((gxi, i) => [gxi, gy[i]]));
  run.fields.set(k, field = L.scaledArrows(L.drift(m, run, k, g), spacing));
}
arrowsTo(field_arrows, on.has(0), gx, gy, field || [], 1);
arrowsTo(eps_arrows, on.has(1), x, y, run.eps.subarray(k * N2, (k + 1) * N2), EPS);
arrowsTo(noise_arrows, on.has(2), x, y, run.noise.subarray(k * N2, (k + 1) * N2), 1);
// names for assistive technology that Bokeh's widgets lack: each slider's handle, the toggle
for (const w of [time, tail, particles, guidance, steps, eta, seed, sampler]) {
  const v = Bokeh.index.find_one(w), el = v && (v.shadow_el || v.el);
  if (!el) continue;
  const handle = el.querySelector("[role=slider]"), label = w.title || "sampler";
  if (handle) handle.setAttribute("aria-label", label.replace(/ t$/, ""));
  if (w === time && handle) handle.setAttribute("aria-valuetext", `t = ${t}`);
  el.querySelectorAll(".bk-spin-btn")
    .forEach((b, i) => b.setAttribute("aria-label", `${label} ${i ? "down" : "up"}`));
  if (w === sampler) {
    el.firstElementChild.setAttribute("role", "group");
    el.firstElementChild.setAttribute("aria-label", label);
    el.querySelectorAll("button")
      .forEach((b, i) => b.setAttribute("aria-pressed", i === sampler.active));
  }
}
plot.title.text = `${shape.value}, ${sampler.labels[sampler.active]}, t = ${t}`
  + (k === K ? ": samples x₀" : "");
