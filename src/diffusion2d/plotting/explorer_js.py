"""The trajectory explorer's client side: its JavaScript callbacks, its CSS and its legend.

Scope: strings only, no Bokeh objects and no numbers of the model; :mod:`plotting.explorer`
records the data and builds the Bokeh document around these.

- :data:`CALLBACK_JS` runs on every control change: it reads the controls, slices the stored
  int16 arrays and updates the plot's five sources. :func:`plotting.explorer.view` is the same
  computation in Python (the initial state and the tests' reference); keep the two in step.
  Zero-length arrows (DDPM's last step adds no noise, Algorithm 2) are left out, head included.
- :data:`PLAY_JS` runs on the Play/Pause button: it steps t down to 0 on a timer, from the
  current state, and stops at t = 0 or on a second click.
- :data:`CSS` lays the plot and the controls side by side in a wide column and stacks the
  controls under the plot in a narrow one (a phone), the plot scaling to the width;
  :data:`CONTAINER_STYLE` keeps the widget light in the theme's dark mode.
- :data:`HELP` says how to use the controls; :func:`legend_html` names every mark by its
  meaning, with its colour and its second cue.
"""

from __future__ import annotations

from collections.abc import Mapping

# Arguments: the stored columns positions/eps/noise/field ("v", flat int16), the five sources
# (points, tails, field_arrows, eps_arrows, noise_arrows), the controls (time, tail, particles,
# sampler, arrows), the plot, T, N, G (grid points), Q (units per data unit), gx/gy (the grid).
CALLBACK_JS = """
const s = sampler.active, k = T - time.value, n = particles.value, L = tail.value;
const on = new Set(arrows.active), q = 1 / Q;
const P = positions.data.v, E = eps.data.v, V = noise.data.v, F = field.data.v;
// value c of item i in frame f of sampler block b: arrays are (block, frame, item, 2), flat
const raw = (A, b, frames, items, f, i, c) => A[((b * frames + f) * items + i) * 2 + c];
const at = (A, b, frames, items, f, i, c) => raw(A, b, frames, items, f, i, c) * q;
const x = [], y = [], xs = [], ys = [];
for (let i = 0; i < n; i++) {
  x.push(at(P, s, T + 1, N, k, i, 0)); y.push(at(P, s, T + 1, N, k, i, 1));
  const tx = [], ty = [];
  for (let f = Math.max(0, k - L); f <= k; f++) {
    tx.push(at(P, s, T + 1, N, f, i, 0)); ty.push(at(P, s, T + 1, N, f, i, 1));
  }
  xs.push(tx); ys.push(ty);
}
points.data = {x: x, y: y};
tails.data = {xs: xs, ys: ys};
// arrows from (bx, by): vectors of frame k in A (block b, `items` per frame), if shown;
// a zero vector gets no arrow at all (an arrowhead would say something moved)
function arrowsTo(src, show, bx, by, A, b, items) {
  const d = {x_start: [], y_start: [], x_end: [], y_end: []};
  if (show && k < T) for (let i = 0; i < bx.length; i++) {
    const u = raw(A, b, T, items, k, i, 0), v = raw(A, b, T, items, k, i, 1);
    if (u == 0 && v == 0) continue;
    d.x_start.push(bx[i]); d.y_start.push(by[i]);
    d.x_end.push(bx[i] + u * q); d.y_end.push(by[i] + v * q);
  }
  src.data = d;
}
arrowsTo(field_arrows, on.has(0), gx, gy, F, s, G);
arrowsTo(eps_arrows, on.has(1), x, y, E, s, N);
arrowsTo(noise_arrows, on.has(2) && s == 0, x, y, V, 0, N);
plot.title.text = (s ? "DDIM" : "DDPM") + ", t = " + time.value + (k == T ? ": samples x₀" : "");
"""

# Arguments: play (the button), time (the slider), DT (milliseconds per step). The timer lives on
# the button's model, so a second click (or reaching t = 0) finds and clears it.
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
CONTAINER_STYLE = (
    "background:#ffffff;color:#222222;color-scheme:light;padding:8px;border-radius:6px;"
    "overflow-x:auto"
)
# The page's layout. `.explorer-row` wraps: plot and controls side by side when both fit (the
# plot takes most of the growth), the controls on a line of their own under the plot otherwise.
CSS = """
.explorer-row { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: flex-start; }
.explorer-plot-box { flex: 4 1 300px; min-width: 0; max-width: 440px; }
.explorer-controls-box { flex: 1 1 200px; min-width: 0; }
.explorer-legend { font-size: 13px; line-height: 1.45; margin: 4px 0 0 0; }
.explorer-legend svg { vertical-align: middle; margin-right: 4px; }
.explorer-help { font-size: 13px; line-height: 1.4; margin: 6px 0 0 0; }
"""

HELP = (
    "<p class='explorer-help'>Move <b>t</b> from T to 0, or press <b>Play</b>, to run the "
    "sampler; switch between <b>DDPM</b> and <b>DDIM</b> to replay the same starting points. "
    "Arrows show the step taken from x<sub>t</sub>. Zoom: Ctrl + mouse wheel, a pinch, or the "
    "box-zoom tool; the circular arrow resets.</p>"
)

_DASH = {"-": "", "--": ' stroke-dasharray="4 2"'}


def _arrow_svg(color: str, linestyle: str, open_head: bool) -> str:
    head = (
        f'<path d="M21 2 L27 6 L21 10" fill="none" stroke="{color}" stroke-width="1.4"/>'
        if open_head
        else f'<path d="M20 2 L28 6 L20 10 z" fill="{color}"/>'
    )
    return (
        f'<svg width="30" height="12" aria-hidden="true"><line x1="1" y1="6" x2="24" y2="6" '
        f'stroke="{color}" stroke-width="1.6"{_DASH[linestyle]}/>{head}</svg>'
    )


def _dot_svg(color: str) -> str:
    return (
        f'<svg width="30" height="12" aria-hidden="true">'
        f'<circle cx="15" cy="6" r="3.5" fill="{color}"/></svg>'
    )


def legend_html(colors: Mapping[str, str], cues: Mapping[str, Mapping[str, str]],
                eps_scale: float) -> str:  # fmt: skip
    """What each mark means, with its colour and second cue (line style, head, dot)."""
    rows = [
        (_dot_svg(colors["samples"]), "particles x<sub>t</sub>"),
        (_dot_svg(colors["data"]), "training data"),
        (_arrow_svg(colors["field"], cues["field"]["linestyle"], True), "learned field (rescaled)"),
        (_arrow_svg(colors["pred_noise"], cues["pred_noise"]["linestyle"], False),
         f"predicted noise ε<sub>θ</sub> × {eps_scale:g}"),
        (_arrow_svg(colors["noise"], cues["noise"]["linestyle"], False),
         "added noise σ<sub>t</sub>z (DDPM)"),
    ]  # fmt: skip
    lines = "<br>".join(f"{svg}{text}" for svg, text in rows)
    return f"<p class='explorer-legend'>{lines}</p>"
