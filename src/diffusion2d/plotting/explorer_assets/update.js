// The explorer's callback on every control but Play, and once when the page is ready (CustomJS
// code of diffusion2d.plotting.explorer). Arguments: the sources points, tails, data,
// field_arrows, eps_arrows, noise_arrows; the controls but Play; the plot; grid, spacing (the
// learned field's points and spacing); EPS (the scale of eps_theta's arrows); IDS (the ids of
// the scripts client.js reads); SAMPLERS (live_sample.js's sampler names, in the toggle's order);
// SEED_MAX (the seed's bound). It asks client.js for the run of the inputs, sampled in a worker
// when they changed, and draws frame k (k steps done) of the run on show, the last one sampled.
const X = plot.explorer_client
  || (plot.explorer_client = diffusion2dExplorer.client(IDS, grid, spacing, () => draw()));
const status = document.querySelector(".explorer-status");
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
if (!(Number.isInteger(seed.value) && seed.value >= 0 && seed.value <= SEED_MAX)) {
  const kept = X.want ? JSON.parse(X.want).seed : 0;  // the last valid seed
  X.note = `The seed must be a whole number from 0 to ${SEED_MAX}; it stays ${kept}.`;
  seed.value = kept;  // runs this callback again
  return draw();
}
eta.disabled = sampler.active !== SAMPLERS.indexOf("ddim");
eta.css_classes = ["explorer-eta", ...(eta.disabled ? ["explorer-off"] : [])];
X.request({n: particles.value, sampler: SAMPLERS[sampler.active], numSteps: steps.value,
           eta: eta.value, y: shape.value, guidanceScale: guidance.value, seed: seed.value});
draw();

function draw() {
  const run = X.run;
  status.textContent = X.error || X.note || (!run || X.pending() ? "Sampling…"
    : `${plural(run.n, "particle")}, ${plural(run.K, "step")}, ${plural(run.evaluations,
       "network evaluation")} each: sampled in ${Math.round(run.ms)} ms`);
  if (!run) return;
  const m = X.model, old = plot.explorer_run;
  if (run !== old) {  // a new run on show: its shape's points (a block each), its steps
    plot.explorer_run = run;
    const per = m.points.length / 2 / m.C, y0 = run.y * per;
    const at = (i, c) => m.points[2 * (y0 + i) + c];
    data.data = {x: Array.from({length: per}, (_, i) => at(i, 0)),
                 y: Array.from({length: per}, (_, i) => at(i, 1))};
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
  // arrows of step k from the points b (flat (N, 2)) along the vectors v (scaled by s), if shown;
  // none of zero length
  const on = new Set(arrows.active);
  function arrowsTo(src, show, b, v, s) {
    const d = {x_start: [], y_start: [], x_end: [], y_end: []};
    if (show && k < K) for (let i = 0; i < b.length / 2; i++) {
      const u = v[2 * i] * s, w = v[2 * i + 1] * s;
      if (u === 0 && w === 0) continue;
      d.x_start.push(b[2 * i]); d.y_start.push(b[2 * i + 1]);
      d.x_end.push(b[2 * i] + u); d.y_end.push(b[2 * i + 1] + w);
    }
    src.data = d;
  }
  const xy = P.subarray(k * N2, (k + 1) * N2);
  arrowsTo(field_arrows, on.has(0), grid, on.has(0) && k < K ? X.field(run, k) : [], 1);
  arrowsTo(eps_arrows, on.has(1), xy, run.eps.subarray(k * N2, (k + 1) * N2), EPS);
  arrowsTo(noise_arrows, on.has(2), xy, run.noise.subarray(k * N2, (k + 1) * N2), 1);
  plot.title.text = `${m.classes[run.y]}, ${sampler.labels[SAMPLERS.indexOf(run.sampler)]}, `
    + `t = ${t}${k === K ? ": samples x₀" : ""}`;
  diffusion2dExplorer.label({time, tail, particles, guidance, steps, eta, seed, sampler}, t);
}
