"""The trajectory explorer: sampling replayed in a static web page, with no kernel.

DDPM and deterministic DDIM recorded from the same x_T (:func:`trajectories.record_pair`), drawn by
Bokeh with the controls of :data:`WIDGETS`; each but Play runs one ``CustomJS`` callback
(:data:`CALLBACK_JS`; :func:`view` in Python) that slices the stored int16 arrays. At time t the
arrows belong to the step taken from x_t (as in :mod:`.particles`). Equal aspect, scaled to the
column; no active drag tool (a swipe scrolls the page), Ctrl + wheel zooms. BokehJS is inlined: no
request off-site. The client side (JavaScript, CSS, HTML) is package data in ``explorer_assets/``.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

from ..trajectories import Trajectories
from . import explorer_assets
from .particles import EPS_SCALE
from .points import LIMITS, as_points, scaled_arrows
from .style import COLORS, CUES

QUANT = 1000  # stored integers are thousandths of a data unit
PLOT_NAME = "explorer-plot"
WIDGETS = {k: f"explorer-{k}" for k in ("time", "play", "sampler", "tail", "particles", "arrows")}
# the kinds of arrow (keys of plotting.COLORS and CUES), in the order of the arrows checkboxes
ARROWS = {"field": "learned field", "pred_noise": "predicted noise", "noise": "added noise"}
DEFAULTS = {"tail": 10, "num": 50, "arrows": (1,)}  # a calm start: 50 particles, eps_theta only
STEP_MS = 150  # Play: milliseconds per step (T = 50 plays in 7.5 s)
SAMPLERS = ("DDPM", "DDIM")  # index 0 and 1 of the stored arrays, and of the sampler toggle
# CustomJS code: on every control change but Play, on Play/Pause; the page's CSS; the HTML around
# the roots (in a light box: BokehJS's dark text is unreadable on a dark page): legend, help text
CALLBACK_JS, PLAY_JS, CSS, PAGE = ((files(explorer_assets) / name).read_text("utf-8") for name in
                                   ("update.js", "play.js", "explorer.css", "page.html"))


@dataclass
class ExplorerData:
    """What the page stores: int16 arrays in units of 1 / :data:`QUANT` (sampler 0 DDPM, 1 DDIM;
    frame k holds x_{T-k}; step k is the step taken from it), float32 grid and data."""

    T: int
    num_particles: int
    positions: np.ndarray  # (2, T+1, N, 2): sampler, frame k, particle, coordinate
    eps: np.ndarray  # (2, T, N, 2): eps_theta of step k times EPS_SCALE
    noise: np.ndarray  # (T, N, 2): DDPM's added noise
    field: np.ndarray  # (2, T, G, 2): the learned field at G grid points, by scaled_arrows per step
    grid: np.ndarray  # (G, 2)
    data: np.ndarray  # (M, 2): the training data, drawn faintly behind (M may be 0)

    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))


def quantize(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(np.asarray(x, np.float64) * QUANT), -32767, 32767).astype(np.int16)


def explorer_data(runs: Mapping[str, Trajectories], data: object = None) -> ExplorerData:
    """Pack ``{"DDPM": ..., "DDIM": ...}`` of :func:`trajectories.record_pair` into ExplorerData."""
    if set(SAMPLERS) - set(runs):
        raise ValueError(f"runs must hold {SAMPLERS}, missing {set(SAMPLERS) - set(runs)}")
    ddpm, ddim = (runs[s] for s in SAMPLERS)
    if ddpm.deterministic or not ddim.deterministic:
        raise ValueError("runs['DDPM'] must be stochastic and runs['DDIM'] deterministic")
    if ddpm.positions.shape != ddim.positions.shape or ddpm.field.shape != ddim.field.shape:
        raise ValueError("the DDPM and DDIM runs must have the same particles, steps and grid")
    if not np.array_equal(ddpm.positions[0], ddim.positions[0]):
        raise ValueError("the DDPM and DDIM runs must start from the same x_T")
    spacing = float(ddpm.grid_x[0, 1] - ddpm.grid_x[0, 0])
    field = [[scaled_arrows(f.astype(np.float64), spacing)[0].reshape(-1, 2) for f in run.field]
             for run in (ddpm, ddim)]  # (2, T, G, 2): rescaled per step
    return ExplorerData(
        T=ddpm.eps_pred.shape[0], num_particles=ddpm.eps_pred.shape[1],
        positions=quantize(np.stack([ddpm.positions, ddim.positions])),
        eps=quantize(np.stack([ddpm.eps_pred, ddim.eps_pred]) * EPS_SCALE),
        noise=quantize(ddpm.added_noise), field=quantize(field),
        grid=np.stack([ddpm.grid_x.ravel(), ddpm.grid_y.ravel()], 1).astype(np.float32),
        data=(np.zeros((0, 2)) if data is None else as_points("data", data)).astype(np.float32),
    )


def view(data: ExplorerData, t: int, tail: int, num: int, ddim: bool,
         arrows: tuple[int, ...] = DEFAULTS["arrows"]) -> dict[str, dict[str, list]]:  # fmt: skip
    """What the page shows for one setting of the controls, exactly as :data:`CALLBACK_JS`
    computes it in the browser (the initial state; the tests' reference). Zero vectors: no arrow."""
    s, k, q = int(ddim), data.T - t, 1.0 / QUANT
    P = data.positions[s].astype(np.float64) * q  # (T+1, N, 2)
    pts, path = P[k, :num], P[max(0, k - tail) : k + 1, :num]  # (num, 2), (L, num, 2)
    out = {"points": {"x": pts[:, 0].tolist(), "y": pts[:, 1].tolist()},
           "tails": {"xs": path[..., 0].T.tolist(), "ys": path[..., 1].T.tolist()}}  # fmt: skip
    k_step = min(k, data.T - 1)  # the arrays have no step at k = T (nothing is drawn then)
    for name, show, base, vectors in (
        ("field_arrows", 0 in arrows, data.grid.astype(np.float64), data.field[s, k_step]),
        ("eps_arrows", 1 in arrows, pts, data.eps[s, k_step, :num]),
        ("noise_arrows", 2 in arrows and s == 0, pts, data.noise[k_step, :num]),  # DDPM only
    ):
        keep = (vectors != 0).any(axis=-1) & (show and k < data.T)  # (items,)
        end = base[keep] + vectors[keep] * q
        out[name] = {"x_start": base[keep, 0].tolist(), "y_start": base[keep, 1].tolist(),
                     "x_end": end[:, 0].tolist(), "y_end": end[:, 1].tolist()}  # fmt: skip
    return out


def build_explorer(data: ExplorerData, tail: int | None = None, num: int | None = None,
                   arrows: tuple[int, ...] = DEFAULTS["arrows"]) -> dict:  # fmt: skip
    """The page's two Bokeh roots, ``{"plot": ..., "controls": ...}`` (one document): the plot
    (``explorer-plot``: data, tails, three kinds of arrow, particles) and the :data:`WIDGETS`."""
    from bokeh.layouts import column, row
    from bokeh.models import Button, CheckboxGroup, ColumnDataSource, CustomJS, Slider
    from bokeh.models import RadioButtonGroup as Toggle
    from bokeh.models.annotations import Arrow, OpenHead, VeeHead
    from bokeh.models.tools import WheelZoomTool
    from bokeh.plotting import figure

    T, N = data.T, data.num_particles
    tail = min(DEFAULTS["tail"], T) if tail is None else tail
    num = min(DEFAULTS["num"], N) if num is None else num
    if not 0 <= tail <= T:
        raise ValueError(f"tail must be in 0..{T}, got {tail}")
    if not 1 <= num <= N:
        raise ValueError(f"num must be in 1..{N}, got {num}")
    if not set(arrows) <= set(range(len(ARROWS))):
        raise ValueError(f"arrows must be indices into {list(ARROWS.values())}, got {arrows}")
    init = view(data, T, tail, num, ddim=False, arrows=tuple(arrows))
    sources = {name: ColumnDataSource(values, name=name) for name, values in init.items()}

    zoom = WheelZoomTool(modifiers={"ctrl": True})  # a plain wheel scrolls the page
    plot = figure(
        name=PLOT_NAME, sizing_mode="scale_width", width=400, height=440, match_aspect=True,
        tools=["pan", zoom, "box_zoom", "reset"], active_drag=None, active_scroll=zoom,
        toolbar_location="below", title=f"DDPM, t = {T}", output_backend="canvas",
        x_axis_label="x₁", y_axis_label="x₂",
    )  # fmt: skip
    # the ranges cover LIMITS x LIMITS and grow along one axis to keep one data unit square
    corners = plot.scatter(list(LIMITS), list(LIMITS), size=0, alpha=0)
    for rng in (plot.x_range, plot.y_range):
        rng.renderers, rng.range_padding = [corners], 0
    plot.axis.major_label_text_font_size, plot.toolbar.logo = "12px", None  # no text below 11px
    if len(data.data):
        plot.scatter(data.data[:, 0], data.data[:, 1], size=4, color=COLORS["data"], alpha=0.6)
    plot.multi_line("xs", "ys", source=sources["tails"], color=COLORS["samples"], alpha=0.35,
                    line_width=1)  # fmt: skip
    for name, kind, alpha in zip(("field_arrows", "eps_arrows", "noise_arrows"), ARROWS,
                                 (0.75, 1.0, 1.0), strict=True):  # fmt: skip
        color, dash = COLORS[kind], {"-": "solid", "--": "dashed"}[CUES[kind]["linestyle"]]
        head = (OpenHead(size=6, line_color=color, line_alpha=alpha, line_width=1.2)
                if kind == "field" else
                VeeHead(size=6, line_color=color, fill_color=color, fill_alpha=alpha))  # fmt: skip
        plot.add_layout(Arrow(end=head, source=sources[name], line_color=color, line_alpha=alpha,
                              line_width=1.3, line_dash=dash))  # from (x_start, y_start)
    plot.scatter("x", "y", source=sources["points"], size=5, color=COLORS["samples"])

    wide = {"sizing_mode": "stretch_width"}
    slider = {**wide, "margin": (4, 12, 4, 12)}  # room for the handle at either end
    controls = {  # time runs right to left: T at the left end, moving right runs the sampler
        "time": Slider(title="diffusion time t", start=0, end=T, value=T, step=1, direction="rtl",
                       **slider),  # fmt: skip
        "play": Button(label="Play", width=76),
        "sampler": Toggle(labels=list(SAMPLERS), active=0, **wide),
        "tail": Slider(title="tail length", start=0, end=T, value=tail, step=1, **slider),
        "particles": Slider(title="number of particles", start=min(10, N), end=N, value=num,
                            step=min(10, N), **slider),  # fmt: skip
        "arrows": CheckboxGroup(labels=list(ARROWS.values()), active=list(arrows), **wide),
    }
    for key, w in controls.items():
        w.name, w.css_classes = WIDGETS[key], [WIDGETS[key]]
    stored = {key: ColumnDataSource({"v": getattr(data, key).ravel()}, name=f"explorer-store-{key}")
              for key in ("positions", "eps", "noise", "field")}  # int16, flat as in ExplorerData
    inputs = {k: w for k, w in controls.items() if k != "play"}
    callback = CustomJS(code=CALLBACK_JS, args=dict(
        **stored, **sources, **inputs, plot=plot, T=T, N=N, G=len(data.grid), Q=QUANT,
        gx=data.grid[:, 0].tolist(), gy=data.grid[:, 1].tolist()))  # fmt: skip
    for key, w in inputs.items():
        w.js_on_change("active" if key in ("sampler", "arrows") else "value", callback)
    play = dict(play=controls["play"], time=controls["time"], DT=STEP_MS)
    controls["play"].js_on_event("button_click", CustomJS(args=play, code=PLAY_JS))
    buttons = row(controls["play"], controls["sampler"], **wide)
    return {"plot": plot, "controls": column(controls["time"], buttons, controls["tail"],
                                             controls["particles"], controls["arrows"], **wide)}


def explorer_html(layout: Mapping) -> str:
    """HTML for a notebook output: :data:`PAGE` filled in with BokehJS (inlined, nothing from a
    CDN), the CSS, the roots of ``layout`` (:func:`build_explorer`) and the legend's styles."""
    from bokeh.embed import components
    from bokeh.resources import Resources

    resources = Resources(mode="inline", components=["bokeh", "bokeh-widgets"])
    script, divs = components({"plot": layout["plot"], "controls": layout["controls"]})
    dash = {f"{k}_dash": ' stroke-dasharray="4 2"' * (CUES[k]["linestyle"] == "--") for k in ARROWS}
    return PAGE.rstrip("\n").format(css=CSS, bokehjs=resources.render_js(), script=script, **divs,
                                    eps_scale=EPS_SCALE, **COLORS, **dash)


def show_explorer(runs: Mapping[str, Trajectories], data: object = None, **kwargs):
    """An ``IPython.display.HTML`` with the explorer for ``runs`` (the last line of a cell)."""
    from IPython.display import HTML

    return HTML(explorer_html(build_explorer(explorer_data(runs, data), **kwargs)))
