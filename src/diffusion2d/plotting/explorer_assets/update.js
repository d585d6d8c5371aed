// The explorer's callback on every control change but Play (CustomJS code of
// diffusion2d.plotting.explorer, whose view() computes the same in Python: keep the two in step).
// Arguments: the stored columns positions/eps/noise/field ("v", flat int16), the five sources,
// the controls but Play, the plot, T, N, G (grid points), Q (units per data unit), gx/gy (the
// grid). Zero-length arrows (DDPM's last step adds no noise, Algorithm 2) are left out.
const s = sampler.active, k = T - time.value, n = particles.value, L = tail.value;
const on = new Set(arrows.active), q = 1 / Q, P = positions.data.v;
// value c of item i in frame f of sampler block b: arrays are (block, frame, item, 2), flat
const at = (A, b, frames, items, f, i, c) => A[((b * frames + f) * items + i) * 2 + c];
// coordinate c of particle i's path, frames f0..k; the particles are the paths' ends
const f0 = Math.max(0, k - L), ids = [...Array(n).keys()], path = (i, c) =>
  Array.from({length: k - f0 + 1}, (_, j) => at(P, s, T + 1, N, f0 + j, i, c) * q);
const xs = ids.map(i => path(i, 0)), ys = ids.map(i => path(i, 1));
const x = xs.map(p => p[p.length - 1]), y = ys.map(p => p[p.length - 1]);
points.data = {x: x, y: y};
tails.data = {xs: xs, ys: ys};
// arrows from (bx, by) along the vectors of frame k in A (block b), if shown; none for zero
function arrowsTo(src, show, bx, by, A, b, items) {
  const d = {x_start: [], y_start: [], x_end: [], y_end: []};
  if (show && k < T) for (let i = 0; i < bx.length; i++) {
    const u = at(A.data.v, b, T, items, k, i, 0), v = at(A.data.v, b, T, items, k, i, 1);
    if (u == 0 && v == 0) continue;
    d.x_start.push(bx[i]); d.y_start.push(by[i]);
    d.x_end.push(bx[i] + u * q); d.y_end.push(by[i] + v * q);
  }
  src.data = d;
}
arrowsTo(field_arrows, on.has(0), gx, gy, field, s, G);
arrowsTo(eps_arrows, on.has(1), x, y, eps, s, N);
arrowsTo(noise_arrows, on.has(2) && s == 0, x, y, noise, 0, N);
plot.title.text = (s ? "DDIM" : "DDPM") + ", t = " + time.value + (k == T ? ": samples x₀" : "");
