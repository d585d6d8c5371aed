"""The trajectory explorer's client side, strings only: its JavaScript callbacks and its CSS.

:data:`CALLBACK_JS` runs on every control change (:func:`plotting.explorer.view` is the same
computation in Python: keep the two in step); :data:`PLAY_JS` on the Play/Pause button.
"""

# Arguments: the stored columns positions/eps/noise/field ("v", flat int16), the five sources,
# the controls but Play, the plot, T, N, G (grid points), Q (units per data unit), gx/gy (the
# grid). Zero-length arrows (DDPM's last step adds no noise, Algorithm 2) are left out.
CALLBACK_JS = """
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
"""

# Arguments: play (the button), time (the slider), DT (milliseconds per step). Steps t down to 0
# from where it is; the timer lives on the button's model, so a second click (or t = 0) stops it.
PLAY_JS = """
const stop = () => { clearInterval(play.explorer_timer); play.explorer_timer = null;
                     play.label = "Play"; };
if (play.explorer_timer) { stop(); return; }
if (time.value <= time.start) time.value = time.end;  // at x_0: start again from x_T
play.label = "Pause";
play.explorer_timer = setInterval(() => {
  time.value = Math.max(time.start, time.value - 1);
  if (time.value <= time.start) stop();
}, DT);
"""

# A light box: BokehJS draws dark text on a transparent background, unreadable in dark mode.
CONTAINER_STYLE = ("background:#ffffff;color:#222222;color-scheme:light;padding:8px;"
                   "border-radius:6px;overflow-x:auto")
# `.explorer-row` wraps: plot and controls side by side when both fit (the plot takes most of
# the growth), the controls on a line of their own under the plot otherwise (a phone).
CSS = """
.explorer-row { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-start; }
.explorer-plot-box { flex: 4 1 300px; min-width: 0; max-width: 440px; }
.explorer-controls-box { flex: 1 1 200px; min-width: 0; }
.explorer-legend { font-size: 13px; line-height: 1.45; margin: 4px 0 0 0; }
.explorer-legend svg { vertical-align: middle; margin-right: 4px; }
.explorer-help { font-size: 13px; line-height: 1.4; margin: 6px 0 0 0; }
"""

HELP = ("<p class='explorer-help'>Move <b>t</b> from T to 0, or press <b>Play</b>, to run the "
        "sampler; switch between <b>DDPM</b> and <b>DDIM</b> to replay the same starting points. "
        "Arrows show the step taken from x<sub>t</sub>. Zoom: Ctrl + mouse wheel, a pinch, or "
        "the box-zoom tool; the circular arrow resets.</p>")
