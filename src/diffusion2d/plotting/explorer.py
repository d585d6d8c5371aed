"""The trajectory explorer: sampling replayed in a static web page, with no kernel.

The workshop's widget needed a running Python kernel. Here the build records both samplers once
(:func:`plotting.record_pair`: DDPM and deterministic DDIM from the same x_T) and Bokeh draws
the recording in the browser. The page gets the workshop's four controls, plus Play and arrows:

=====================  =======================================  ================================
control                Bokeh widget (``name`` and CSS class,    what it sets
                       see :data:`WIDGETS`)
=====================  =======================================  ================================
diffusion time t       Slider ``explorer-time``                 T (left) .. 0 (right: x_0)
Play / Pause           Button ``explorer-play``                 steps t down to 0 on a timer
sampler                RadioButtonGroup ``explorer-sampler``    DDPM | DDIM (same x_T)
tail length            Slider ``explorer-tail``                 frames of path drawn behind
number of particles    Slider ``explorer-particles``            how many recorded particles
arrows                 CheckboxGroup ``explorer-arrows``        field / eps_theta / added noise
=====================  =======================================  ================================

The plot is named ``explorer-plot``. Every control but Play runs one short
:class:`bokeh.models.CustomJS` callback (:data:`explorer_js.CALLBACK_JS`) that slices the stored
arrays; all the computation happened in the build. Arrows follow :mod:`.particles`: at time t
they belong to the reverse step taken from x_t (the learned field, rescaled per step; eps_theta
times ``EPS_SCALE``; the added noise sigma_t z, DDPM only), with colours and line styles by
meaning from :data:`plotting.COLORS` and :data:`plotting.CUES`; at t = 0 no step is left.

Layout (:data:`explorer_js.CSS`): the plot keeps an equal aspect (x and y ranges follow the
frame's shape, ``match_aspect``) and scales to the column; the controls sit beside it in a wide
column and under it on a phone. No drag tool is active (a swipe scrolls the page); the wheel
zooms with Ctrl held (a plain wheel scrolls the page), a pinch zooms on a touch screen.

Size: the stored arrays are int16 in thousandths of a data unit (:data:`QUANT`; 0.001 is far
below a pixel), which Bokeh ships gzip-compressed and base64-encoded. BokehJS itself is inlined
from the installed ``bokeh`` package (``bokeh.min.js`` and ``bokeh-widgets.min.js``, about
1.6 MB), so the page needs no CDN and makes no request off its own server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..trajectories import Trajectories
from .explorer_js import CALLBACK_JS, CONTAINER_STYLE, CSS, HELP, PLAY_JS, legend_html
from .particles import EPS_SCALE
from .points import LIMITS, as_points, scaled_arrows
from .style import COLORS, CUES

QUANT = 1000  # stored integers are thousandths of a data unit
PLOT_NAME = "explorer-plot"
WIDGETS = {
    "time": "explorer-time",
    "play": "explorer-play",
    "sampler": "explorer-sampler",
    "tail": "explorer-tail",
    "particles": "explorer-particles",
    "arrows": "explorer-arrows",
}
ARROW_LABELS = ("learned field", "predicted noise", "added noise")
ARROW_KINDS = ("field", "pred_noise", "noise")  # their keys in plotting.COLORS and CUES
DEFAULTS = {"tail": 10, "num": 50, "arrows": (1,)}  # a calm start: 50 particles, eps_theta only
STEP_MS = 150  # Play: milliseconds per step (T = 50 plays in 7.5 s)
SAMPLERS = ("DDPM", "DDIM")  # index 0 and 1 of the stored arrays, and of the sampler toggle
BOKEH_COMPONENTS = ("bokeh", "bokeh-widgets")  # the BokehJS bundles the page inlines
_DASHES = {"-": "solid", "--": "dashed"}  # matplotlib line styles of CUES in Bokeh's names


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
    :func:`plotting.record_pair`, same x_T and grid) into :class:`ExplorerData`."""
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


def view(data: ExplorerData, t: int, tail: int, num: int, ddim: bool,
         arrows: tuple[int, ...] = DEFAULTS["arrows"]) -> dict[str, dict[str, list]]:  # fmt: skip
    """What the page shows for one setting of the controls, computed in Python exactly as
    :data:`CALLBACK_JS` computes it in the browser (the initial state, and the tests' reference).
    A zero vector (in stored units) gets no arrow."""
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
        keep = (vectors != 0).any(axis=-1)  # (items,)
        if not show or k >= data.T or not keep.any():
            return {"x_start": [], "y_start": [], "x_end": [], "y_end": []}
        base, end = base[keep], base[keep] + vectors[keep].astype(np.float64) * q
        return {"x_start": base[:, 0].tolist(), "y_start": base[:, 1].tolist(),
                "x_end": end[:, 0].tolist(), "y_end": end[:, 1].tolist()}  # fmt: skip

    k_step = min(k, data.T - 1)  # the arrays have no step at k = T (nothing is drawn then)
    grid = data.grid.astype(np.float64)
    out["field_arrows"] = arrows_to(0 in arrows, grid, data.field[s, k_step])
    out["eps_arrows"] = arrows_to(1 in arrows, pts, data.eps[s, k_step, :num])
    out["noise_arrows"] = arrows_to(2 in arrows and s == 0, pts, data.noise[k_step, :num])
    return out


def _check_settings(data: ExplorerData, tail: int, num: int, arrows) -> None:
    if not 0 <= tail <= data.T:
        raise ValueError(f"tail must be in 0..{data.T}, got {tail}")
    if not 1 <= num <= data.num_particles:
        raise ValueError(f"num must be in 1..{data.num_particles}, got {num}")
    if not set(arrows) <= set(range(len(ARROW_LABELS))):
        raise ValueError(f"arrows must be indices into {ARROW_LABELS}, got {arrows}")


def _plot(data: ExplorerData, sources: dict):
    """The square-range plot: data, tails, the three kinds of arrow, particles."""
    from bokeh.models import Arrow, OpenHead, VeeHead, WheelZoomTool
    from bokeh.plotting import figure

    zoom = WheelZoomTool(modifiers={"ctrl": True})  # a plain wheel scrolls the page
    plot = figure(
        name=PLOT_NAME, sizing_mode="scale_width", width=400, height=440, match_aspect=True,
        tools=["pan", zoom, "box_zoom", "reset"], active_drag=None, active_scroll=zoom,
        toolbar_location="below", title=f"DDPM, t = {data.T}", output_backend="canvas",
    )  # fmt: skip
    # the ranges cover LIMITS x LIMITS and grow along one axis to keep one data unit square
    corners = plot.scatter(list(LIMITS), list(LIMITS), size=0, alpha=0)
    for rng in (plot.x_range, plot.y_range):
        rng.renderers, rng.range_padding = [corners], 0
    plot.xaxis.axis_label, plot.yaxis.axis_label = "x₁", "x₂"
    plot.axis.major_label_text_font_size, plot.toolbar.logo = "12px", None  # no text below 11px
    if len(data.data):
        plot.scatter(data.data[:, 0], data.data[:, 1], size=4, color=COLORS["data"], alpha=0.6)
    plot.multi_line("xs", "ys", source=sources["tails"], color=COLORS["samples"], alpha=0.35,
                    line_width=1)  # fmt: skip
    for name, kind, alpha in zip(("field_arrows", "eps_arrows", "noise_arrows"), ARROW_KINDS,
                                 (0.75, 1.0, 1.0), strict=True):  # fmt: skip
        color, dash = COLORS[kind], _DASHES[CUES[kind]["linestyle"]]
        head = (OpenHead(size=6, line_color=color, line_alpha=alpha, line_width=1.2)
                if kind == "field" else
                VeeHead(size=6, line_color=color, fill_color=color, fill_alpha=alpha))  # fmt: skip
        plot.add_layout(Arrow(end=head, source=sources[name], line_color=color, line_alpha=alpha,
                              line_width=1.3, line_dash=dash, x_start="x_start",
                              y_start="y_start", x_end="x_end", y_end="y_end"))  # fmt: skip
    plot.scatter("x", "y", source=sources["points"], size=5, color=COLORS["samples"])
    return plot


def build_explorer(data: ExplorerData, tail: int | None = None, num: int | None = None,
                   arrows: tuple[int, ...] = DEFAULTS["arrows"]) -> dict:  # fmt: skip
    """The two Bokeh roots of the page, ``{"plot": ..., "controls": ...}`` (one document): the
    plot (``explorer-plot``) and a column with the controls of :data:`WIDGETS`. ``tail`` and
    ``num`` default to :data:`DEFAULTS`, or to T and all particles if those are fewer."""
    from bokeh.layouts import column, row
    from bokeh.models import (
        Button,
        CheckboxGroup,
        ColumnDataSource,
        CustomJS,
        RadioButtonGroup,
        Slider,
    )

    T, N = data.T, data.num_particles
    tail = min(DEFAULTS["tail"], T) if tail is None else tail
    num = min(DEFAULTS["num"], N) if num is None else num
    _check_settings(data, tail, num, arrows)
    init = view(data, T, tail, num, ddim=False, arrows=tuple(arrows))
    sources = {name: ColumnDataSource(values, name=name) for name, values in init.items()}
    plot = _plot(data, sources)

    def widget(cls, key, **kwargs):
        kwargs.setdefault("sizing_mode", "stretch_width")
        if cls is Slider:  # room for the handle at either end of the track
            kwargs.setdefault("margin", (4, 12, 4, 12))
        return cls(name=WIDGETS[key], css_classes=[WIDGETS[key]], **kwargs)

    def slider(key, title, start, end, value, step, **kwargs):
        return widget(Slider, key, title=title, start=start, end=end, value=value, step=step,
                      **kwargs)  # fmt: skip

    step = min(10, N)
    controls = {  # time runs right to left: T at the left end, moving right runs the sampler
        "time": slider("time", "diffusion time t", 0, T, T, 1, direction="rtl"),
        "play": widget(Button, "play", label="Play", sizing_mode=None, width=76),
        "sampler": widget(RadioButtonGroup, "sampler", labels=list(SAMPLERS), active=0),
        "tail": slider("tail", "tail length", 0, T, tail, 1),
        "particles": slider("particles", "number of particles", step, N, num, step),
        "arrows": widget(CheckboxGroup, "arrows", labels=list(ARROW_LABELS), active=list(arrows)),
    }
    stored = {  # one int16 column "v" each, flat in the layout of ExplorerData
        key: ColumnDataSource({"v": getattr(data, key).ravel()}, name=f"explorer-store-{key}")
        for key in ("positions", "eps", "noise", "field")
    }
    inputs = {k: w for k, w in controls.items() if k != "play"}
    callback = CustomJS(
        args=dict(
            **stored, plot=plot, T=T, N=N, G=len(data.grid), Q=QUANT,
            gx=data.grid[:, 0].tolist(), gy=data.grid[:, 1].tolist(), **sources, **inputs,
        ),
        code=CALLBACK_JS,
    )  # fmt: skip
    for key, w in inputs.items():
        w.js_on_change("active" if key in ("sampler", "arrows") else "value", callback)
    play = CustomJS(args=dict(play=controls["play"], time=controls["time"], DT=STEP_MS),
                    code=PLAY_JS)  # fmt: skip
    controls["play"].js_on_event("button_click", play)
    buttons = row(controls["play"], controls["sampler"], sizing_mode="stretch_width")
    column_ = column(controls["time"], buttons, controls["tail"], controls["particles"],
                     controls["arrows"], sizing_mode="stretch_width")  # fmt: skip
    return {"plot": plot, "controls": column_}


def explorer_html(layout: Mapping) -> str:
    """HTML for a notebook output: BokehJS inlined from the installed package, the page's CSS,
    the two roots of ``layout`` (:func:`build_explorer`) with the legend and help text, and the
    document (``bokeh.embed.components``). Loads nothing from a CDN."""
    from bokeh.embed import components
    from bokeh.resources import Resources

    resources = Resources(mode="inline", components=list(BOKEH_COMPONENTS))
    script, divs = components({"plot": layout["plot"], "controls": layout["controls"]})
    legend = legend_html(COLORS, CUES, EPS_SCALE)
    return (
        f'<div class="explorer" style="{CONTAINER_STYLE}"><style>{CSS}</style>'
        f"{resources.render_js()}\n<div class='explorer-row'>"
        f"<div class='explorer-plot-box'>{divs['plot']}</div>"
        f"<div class='explorer-controls-box'>{divs['controls']}{legend}{HELP}</div></div>\n"
        f"{script}</div>"
    )


def show_explorer(runs: Mapping[str, Trajectories], data: object = None, **kwargs):
    """An ``IPython.display.HTML`` with the explorer for ``runs`` (the last line of a cell)."""
    from IPython.display import HTML

    return HTML(explorer_html(build_explorer(explorer_data(runs, data), **kwargs)))
