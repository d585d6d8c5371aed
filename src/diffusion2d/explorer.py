"""The trajectory explorer: sampling replayed in a static web page, with no kernel.

The workshop's widget needed a running Python kernel. Here the build records both samplers once
(:func:`sampling_plots.record_pair`: DDPM and deterministic DDIM from the same x_T) and Bokeh draws
the recording in the browser. The page gets the workshop's four controls, plus arrow toggles:

========================  ==================================  =================================
control                   Bokeh widget (``name`` and CSS       what it sets
                          class, see :data:`WIDGETS`)
========================  ==================================  =================================
diffusion time t          Slider ``explorer-time``            T (left) .. 0 (right: x_0)
tail length               Slider ``explorer-tail``            frames of path drawn behind points
number of particles       Slider ``explorer-particles``       how many of the recorded particles
deterministic (DDIM)      Checkbox ``explorer-ddim``          DDIM run instead of the DDPM run
arrows                    CheckboxGroup ``explorer-arrows``   field / eps_theta / added noise
========================  ==================================  =================================

The plot itself is named ``explorer-plot``. Every control runs one short
:class:`bokeh.models.CustomJS` callback (:data:`CALLBACK_JS`) that slices the stored arrays; all
the computation happened in the build. Arrow conventions follow :mod:`sampling_plots`: at time t
the arrows belong to the reverse step taken from x_t (purple: the learned field, rescaled per
step; blue: eps_theta times ``EPS_SCALE``; red: the added noise sigma_t z, DDPM only); at t = 0
no step is left.

Size: the stored arrays are int16 in thousandths of a data unit (:data:`QUANT`; 0.001 is far
below a pixel), which Bokeh ships gzip-compressed and base64-encoded. BokehJS itself is inlined
from the installed ``bokeh`` package (``bokeh.min.js`` and ``bokeh-widgets.min.js``, about
1.6 MB), so the page needs no CDN and makes no request off its own server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .plotting import COLORS, LIMITS, as_points, scaled_arrows
from .sampling_plots import EPS_SCALE
from .trajectories import Trajectories

QUANT = 1000  # stored integers are thousandths of a data unit
PLOT_NAME = "explorer-plot"
WIDGETS = {
    "time": "explorer-time",
    "tail": "explorer-tail",
    "particles": "explorer-particles",
    "ddim": "explorer-ddim",
    "arrows": "explorer-arrows",
}
ARROW_LABELS = ("learned field (purple)", "predicted noise (blue)", "added noise (red)")
# A light box: BokehJS draws dark text on a transparent background, unreadable in dark mode.
CONTAINER_STYLE = (
    "background:#ffffff;color:#222222;color-scheme:light;padding:8px;border-radius:6px;"
    "overflow-x:auto"
)
CONTROL_WIDTH = 200  # pixels; with the default plot width the explorer fits the content column
SAMPLERS = ("DDPM", "DDIM")  # index 0 and 1 of the stored arrays
BOKEH_COMPONENTS = ("bokeh", "bokeh-widgets")  # the BokehJS bundles the page inlines


@dataclass
class ExplorerData:
    """What the page stores. Integer arrays are int16 in units of 1 / :data:`QUANT`.

    positions (2, T+1, N, 2): sampler (0 DDPM, 1 DDIM), frame k (x_{T-k}), particle, coordinate;
    eps (2, T, N, 2): eps_theta of step k times ``EPS_SCALE``; noise (T, N, 2): DDPM's added noise;
    field (2, T, G, 2): the learned field of step k at the G grid points, rescaled per step by
    :func:`plotting.scaled_arrows` (factors in ``field_factor`` (2, T)); grid (G, 2) float32;
    data (M, 2) float32: the training data drawn faintly behind (M may be 0).
    """

    T: int
    num_particles: int
    positions: np.ndarray
    eps: np.ndarray
    noise: np.ndarray
    field: np.ndarray
    field_factor: np.ndarray
    grid: np.ndarray
    data: np.ndarray

    @property
    def nbytes(self) -> int:
        """Bytes of the stored arrays before compression."""
        arrays = (self.positions, self.eps, self.noise, self.field, self.grid, self.data)
        return sum(a.nbytes for a in arrays)


def quantize(x: np.ndarray) -> np.ndarray:
    """Round to thousandths and store as int16 (values are clipped to +-32.767)."""
    return np.clip(np.round(np.asarray(x, dtype=np.float64) * QUANT), -32767, 32767).astype(
        np.int16
    )


def explorer_data(runs: Mapping[str, Trajectories], data: object = None) -> ExplorerData:
    """Pack a DDPM and a DDIM recording (``{"DDPM": ..., "DDIM": ...}`` from
    :func:`sampling_plots.record_pair`, same x_T and grid) into :class:`ExplorerData`."""
    missing = [s for s in SAMPLERS if s not in runs]
    if missing:
        raise ValueError(f"runs must hold {SAMPLERS}, missing {missing}")
    ddpm, ddim = (runs[s] for s in SAMPLERS)
    if ddpm.deterministic or not ddim.deterministic:
        raise ValueError("runs['DDPM'] must be stochastic and runs['DDIM'] deterministic")
    if ddpm.positions.shape != ddim.positions.shape or ddpm.field.shape != ddim.field.shape:
        raise ValueError("the DDPM and DDIM runs must have the same particles, steps and grid")
    if not np.array_equal(ddpm.positions[0], ddim.positions[0]):
        raise ValueError("the DDPM and DDIM runs must start from the same x_T")
    T, N = ddpm.eps_pred.shape[:2]
    spacing = float(ddpm.grid_x[0, 1] - ddpm.grid_x[0, 0])
    fields, factors = [], []
    for run in (ddpm, ddim):
        scaled = [scaled_arrows(run.field[k].astype(np.float64), spacing) for k in range(T)]
        fields.append(np.stack([v.reshape(-1, 2) for v, _ in scaled]))  # (T, G, 2)
        factors.append([f for _, f in scaled])
    grid = np.stack([ddpm.grid_x.ravel(), ddpm.grid_y.ravel()], 1).astype(np.float32)
    back = np.zeros((0, 2)) if data is None else as_points("data", data)
    return ExplorerData(
        T=int(T),
        num_particles=int(N),
        positions=quantize(np.stack([ddpm.positions, ddim.positions])),
        eps=quantize(np.stack([ddpm.eps_pred, ddim.eps_pred]) * EPS_SCALE),
        noise=quantize(ddpm.added_noise),
        field=quantize(np.stack(fields)),
        field_factor=np.asarray(factors, dtype=np.float32),
        grid=grid,
        data=back.astype(np.float32),
    )


# The whole client side: read the controls, slice the stored int16 arrays, update five sources.
CALLBACK_JS = """
const s = ddim.active ? 1 : 0, k = T - time.value, n = particles.value, L = tail.value;
const on = new Set(arrows.active), q = 1 / Q;
const P = positions.data.v, E = eps.data.v, V = noise.data.v, F = field.data.v;
// value c of item i in frame f of sampler block b: arrays are (block, frame, item, 2), flat
const at = (A, b, frames, items, f, i, c) => A[((b * frames + f) * items + i) * 2 + c] * q;
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
// arrows from (bx, by): vectors of frame k in A (block b, `items` per frame), if shown
function arrowsTo(src, show, bx, by, A, b, items) {
  const d = {x_start: [], y_start: [], x_end: [], y_end: []};
  if (show && k < T) for (let i = 0; i < bx.length; i++) {
    d.x_start.push(bx[i]); d.y_start.push(by[i]);
    d.x_end.push(bx[i] + at(A, b, T, items, k, i, 0));
    d.y_end.push(by[i] + at(A, b, T, items, k, i, 1));
  }
  src.data = d;
}
arrowsTo(field_arrows, on.has(0), gx, gy, F, s, G);
arrowsTo(eps_arrows, on.has(1), x, y, E, s, N);
arrowsTo(noise_arrows, on.has(2) && s == 0, x, y, V, 0, N);
plot.title.text = (s ? "DDIM" : "DDPM") + ", t = " + time.value
  + (k == T ? " (samples x₀)" : "") + ", " + n + " particles";
"""


def view(data: ExplorerData, t: int, tail: int, num: int, ddim: bool,
         arrows: tuple[int, ...] = (0, 1, 2)) -> dict[str, dict[str, list]]:  # fmt: skip
    """What the page shows for one setting of the controls, computed in Python exactly as
    :data:`CALLBACK_JS` computes it in the browser (the initial state, and the tests' reference)."""
    s, k, q = int(ddim), data.T - t, 1.0 / QUANT
    P = data.positions[s].astype(np.float64) * q  # (T+1, N, 2)
    pts = P[k, :num]
    out = {
        "points": {"x": pts[:, 0].tolist(), "y": pts[:, 1].tolist()},
        "tails": {
            "xs": [P[max(0, k - tail) : k + 1, i, 0].tolist() for i in range(len(pts))],
            "ys": [P[max(0, k - tail) : k + 1, i, 1].tolist() for i in range(len(pts))],
        },
    }

    def arrows_to(show, base, vectors):
        if not show or k >= data.T:
            return {"x_start": [], "y_start": [], "x_end": [], "y_end": []}
        end = base + vectors.astype(np.float64) * q
        return {"x_start": base[:, 0].tolist(), "y_start": base[:, 1].tolist(),
                "x_end": end[:, 0].tolist(), "y_end": end[:, 1].tolist()}  # fmt: skip

    k_step = min(k, data.T - 1)  # the arrays have no step at k = T (nothing is drawn then)
    grid = data.grid.astype(np.float64)
    out["field_arrows"] = arrows_to(0 in arrows, grid, data.field[s, k_step])
    out["eps_arrows"] = arrows_to(1 in arrows, pts, data.eps[s, k_step, :num])
    out["noise_arrows"] = arrows_to(2 in arrows and s == 0, pts, data.noise[k_step, :num])
    return out


def build_explorer(
    data: ExplorerData,
    tail: int = 10,
    num: int = 100,
    width: int = 410,
):
    """The Bokeh layout: the plot (``explorer-plot``) beside the controls of :data:`WIDGETS`."""
    from bokeh.layouts import column, row
    from bokeh.models import (
        Arrow,
        Checkbox,
        CheckboxGroup,
        ColumnDataSource,
        CustomJS,
        Div,
        Slider,
        VeeHead,
    )
    from bokeh.plotting import figure

    T, N = data.T, data.num_particles
    num = min(num, N)
    init = view(data, T, tail, num, ddim=False)
    plot = figure(
        name=PLOT_NAME, width=width, height=width, x_range=LIMITS, y_range=LIMITS,
        match_aspect=True, tools="pan,wheel_zoom,box_zoom,reset", toolbar_location="below",
        title=f"DDPM, t = {T}, {num} particles", output_backend="canvas",
    )  # fmt: skip
    plot.xaxis.axis_label, plot.yaxis.axis_label = "x₁", "x₂"
    if len(data.data):
        plot.scatter(data.data[:, 0], data.data[:, 1], size=3, color=COLORS["data"], alpha=0.3)
    sources = {name: ColumnDataSource(values, name=name) for name, values in init.items()}
    plot.multi_line("xs", "ys", source=sources["tails"], color=COLORS["samples"], alpha=0.35,
                    line_width=1)  # fmt: skip
    for name, color, alpha, size in (("field_arrows", COLORS["field"], 0.55, 5),
                                     ("eps_arrows", COLORS["pred_noise"], 1.0, 4),
                                     ("noise_arrows", COLORS["noise"], 1.0, 4)):  # fmt: skip
        head = VeeHead(size=size, line_color=color, fill_color=color, line_alpha=alpha,
                       fill_alpha=alpha)  # fmt: skip
        plot.add_layout(Arrow(end=head, source=sources[name], line_color=color, line_alpha=alpha,
                              line_width=1.2, x_start="x_start", y_start="y_start",
                              x_end="x_end", y_end="y_end"))  # fmt: skip
    plot.scatter("x", "y", source=sources["points"], size=4, color=COLORS["samples"])

    def widget(cls, key, **kwargs):
        if cls is Slider:  # room for the handle at either end of the track
            kwargs.setdefault("margin", (5, 14, 5, 14))
            width = CONTROL_WIDTH - 28
        else:
            width = CONTROL_WIDTH
        return cls(name=WIDGETS[key], css_classes=[WIDGETS[key]], width=width, **kwargs)

    controls = {
        # right to left: T at the left end, so moving right runs the sampler towards x_0
        "time": widget(
            Slider,
            "time",
            start=0,
            end=T,
            value=T,
            step=1,
            direction="rtl",
            title="diffusion time t",
        ),  # fmt: skip
        "tail": widget(Slider, "tail", start=0, end=T, value=tail, step=1, title="tail length"),
        "particles": widget(
            Slider,
            "particles",
            start=min(10, N),
            end=N,
            value=num,
            step=min(10, N),
            title="number of particles",
        ),  # fmt: skip
        "ddim": widget(Checkbox, "ddim", label="deterministic (DDIM)", active=False),
        "arrows": widget(CheckboxGroup, "arrows", labels=list(ARROW_LABELS), active=[0, 1, 2]),
    }
    stored = {  # one int16 column "v" each, flat in the layout of ExplorerData
        key: ColumnDataSource({"v": getattr(data, key).ravel()}, name=f"explorer-store-{key}")
        for key in ("positions", "eps", "noise", "field")
    }
    callback = CustomJS(
        args=dict(
            **stored, plot=plot, T=T, N=N, G=len(data.grid), Q=QUANT,
            gx=data.grid[:, 0].tolist(), gy=data.grid[:, 1].tolist(), **sources, **controls,
        ),
        code=CALLBACK_JS,
    )  # fmt: skip
    for key, w in controls.items():
        w.js_on_change("active" if key in ("ddim", "arrows") else "value", callback)
    help_text = Div(
        width=CONTROL_WIDTH,
        text=(
            "<p style='font-size:0.85em;margin:0'>Move <b>t</b> from T to 0 to run the sampler; "
            "tick <b>DDIM</b> to replay the same starting points deterministically. Arrows show "
            "the step taken from x<sub>t</sub>: learned field (purple, rescaled per step), "
            f"predicted noise ε<sub>θ</sub> × {EPS_SCALE:g} (blue) and added noise (red).</p>"
        ),
    )
    return row(plot, column(*controls.values(), help_text))


def explorer_html(layout) -> str:
    """HTML for a notebook output: BokehJS inlined from the installed package, then the
    document (``bokeh.embed.components``). Loads nothing from a CDN."""
    from bokeh.embed import components
    from bokeh.resources import Resources

    resources = Resources(mode="inline", components=list(BOKEH_COMPONENTS))
    script, div = components(layout)
    return (
        f'<div class="explorer" style="{CONTAINER_STYLE}">{resources.render_js()}\n{div}\n'
        f"{script}</div>"
    )


def show_explorer(runs: Mapping[str, Trajectories], data: object = None, **kwargs):
    """An ``IPython.display.HTML`` with the explorer for ``runs`` (the last line of a cell)."""
    from IPython.display import HTML

    return HTML(explorer_html(build_explorer(explorer_data(runs, data), **kwargs)))
