"""The live explorer: the book's class-conditional model samples in the reader's browser.

The trained network (its weights exported by :func:`live.export_model`) runs in JavaScript
(``explorer_assets/live_net.js``: the forward pass and classifier-free guidance; ``live_sample.js``:
DDPM, DDIM and Heun; one script, ``LIVE_JS``),
with no kernel, in a Web Worker (``worker.js``, started by ``client.js`` from a Blob of the page's
own scripts), so the page stays responsive while it samples. Bokeh draws the plot and the
controls of :data:`WIDGETS`: the run's inputs (:data:`RUN_CONTROLS`: shape, guidance scale,
sampler, number of steps, eta, particles, seed) and the view of it (time, tail, arrows; Play).
Every control but Play runs one ``CustomJS`` callback (:data:`CALLBACK_JS`), which asks for a new
run when an input of the run changed and draws frame k of the run on show (the last one
sampled); the same callback asks for the first run when the page is ready. At time t the
arrows belong to the step taken from x_t (as in :mod:`.particles`). Equal aspect, scaled to the
column; no active drag tool (a swipe scrolls the page), Ctrl + wheel zooms. Each control is a
root of its own in a CSS grid: one column beside the plot, two under it (a phone). BokehJS is
inlined: no request off-site. The client side (JavaScript, CSS, HTML) is package data in
``explorer_assets/``.
"""

import json
from collections.abc import Mapping
from importlib.resources import files

import numpy as np

from ..utils import grid
from . import explorer_assets
from .particles import EPS_SCALE
from .style import COLORS, CUES

PLOT_NAME = "explorer-plot"
MODEL_ID = "explorer-model"  # the <script type="application/json"> that holds the model
SCRIPT_IDS = {"model": MODEL_ID, "live": "explorer-live", "worker": "explorer-worker"}
RUN_CONTROLS = ("shape", "guidance", "sampler", "steps", "eta", "particles", "seed")
WIDGETS = {k: f"explorer-{k}" for k in ("time", "play", "tail", "arrows", *RUN_CONTROLS)}
# the kinds of arrow (keys of plotting.COLORS and CUES), in the order of the arrows checkboxes
ARROWS = {"field": "learned field", "pred_noise": "predicted noise", "noise": "added noise"}
SAMPLERS = {"DDPM": "ddpm", "DDIM": "ddim", "Heun": "heun"}  # toggle label: live_sample.js's name
# a calm start: DDPM's 50 steps of 100 dino particles at guidance scale 1, eps_theta arrows only
DEFAULTS = {"shape": "dino", "guidance": 1.0, "sampler": "DDPM", "eta": 0.0, "particles": 100,
            "seed": 0, "tail": 10, "arrows": (1,)}  # fmt: skip
MAX_PARTICLES, GUIDANCE_MAX, GUIDANCE_STEP = 300, 4.0, 0.25
SEED_MAX = 2**31 - 1  # the seed spinner's bound, and live_sample.js's
# the plot's square (data units), a little wider than points.LIMITS: the default run's starting
# points x_T lie inside; with more particles a few may not (x_T is Gaussian)
VIEW_LIMITS = (-3.25, 3.25)
TAIL_ALPHA = 0.35  # the tails: the particles' colour, faint
FIELD_GRID = (-2.5, 2.51, 0.25)  # the learned field's grid (21 x 21), as record_trajectories'
STEP_MS = 150  # Play: milliseconds per step (50 steps play in 7.5 s)
# The time slider shows x_t's t, T .. 0 (its value is the steps left: t itself for all T steps)
TIME_JS = """const r = plot.explorer_run;
if (!r) return tick;
const k = r.K - tick;  // the frame: k steps done
return k < r.K ? r.steps[k] + 1 : 0;"""
# CustomJS code: on every control change but Play (and once, when the page is ready), on
# Play/Pause; the module of the network and samplers; the worker that runs it; the page's side
# of the worker (and the controls' accessible names); the page's CSS; the HTML around the roots
# (in a light box: BokehJS's dark text is unreadable on a dark page): status, legend, help text
CALLBACK_JS, PLAY_JS, LIVE_NET_JS, LIVE_SAMPLE_JS, WORKER_JS, CLIENT_JS, CSS, PAGE = (
    (files(explorer_assets) / name).read_text("utf-8")
    for name in ("update.js", "play.js", "live_net.js", "live_sample.js", "worker.js",
                 "client.js", "explorer.css", "page.html"))
LIVE_JS = LIVE_NET_JS + "\n" + LIVE_SAMPLE_JS  # one script: the network, then its samplers
# the controls in page order, each a root of its own in a cell of the page's CSS grid
CONTROL_ORDER = ("time", "play", "tail", "particles", "sampler", "shape", "seed", "guidance",
                 "steps", "eta", "arrows")


def _check(name: str, value: object, ok: bool, what: str) -> None:
    if not ok:
        raise ValueError(f"{name} must be {what}, got {value!r}")


def build_explorer(model_data: Mapping, **settings) -> dict:
    """The page's Bokeh roots, ``{"plot": ..., "time": ..., ...}`` (the plot, then each control of
    :data:`CONTROL_ORDER`), one document, for the model exported as ``model_data``
    (:func:`live.export_model`); ``settings`` override :data:`DEFAULTS` (``steps``: the model's
    T; ``shape``: the first class if the model has no dino). The plot (``explorer-plot``: the
    shape's points, tails, three kinds of arrow, particles) starts empty: the callback draws the
    first run when the page is ready."""
    from bokeh.document import Document
    from bokeh.models import (
        Button,
        CheckboxGroup,
        ColumnDataSource,
        CustomJS,
        CustomJSTickFormatter,
        Select,
        Slider,
        Spinner,
    )
    from bokeh.models import RadioButtonGroup as Toggle
    from bokeh.models.annotations import Arrow, OpenHead, VeeHead
    from bokeh.models.tools import WheelZoomTool
    from bokeh.plotting import figure

    T, classes = model_data["T"], list(model_data["classes"])
    unknown = set(settings) - set(DEFAULTS) - {"steps"}
    _check("settings", sorted(unknown), not unknown, f"among {sorted(DEFAULTS)} and steps")
    first = DEFAULTS["shape"] if DEFAULTS["shape"] in classes else classes[0]
    s = {**DEFAULTS, "shape": first, "steps": T, **settings}
    _check("shape", s["shape"], s["shape"] in classes, f"one of {classes}")
    _check("sampler", s["sampler"], s["sampler"] in SAMPLERS, f"one of {list(SAMPLERS)}")
    _check("steps", s["steps"], isinstance(s["steps"], int) and 1 <= s["steps"] <= T, f"in 1..{T}")
    _check("particles", s["particles"], isinstance(s["particles"], int)
           and 1 <= s["particles"] <= MAX_PARTICLES, f"in 1..{MAX_PARTICLES}")  # fmt: skip
    _check("tail", s["tail"], isinstance(s["tail"], int) and 0 <= s["tail"] <= T, f"in 0..{T}")
    _check("guidance", s["guidance"], 0 <= s["guidance"] <= GUIDANCE_MAX, f"in 0..{GUIDANCE_MAX}")
    _check("eta", s["eta"], 0 <= s["eta"] <= 1, "in 0..1")
    _check("arrows", s["arrows"], set(s["arrows"]) <= set(range(len(ARROWS))),
           f"indices into {list(ARROWS.values())}")  # fmt: skip

    columns = {"points": ("x", "y"), "tails": ("xs", "ys"), "data": ("x", "y"),
               **dict.fromkeys(("field_arrows", "eps_arrows", "noise_arrows"),
                               ("x_start", "y_start", "x_end", "y_end"))}  # fmt: skip
    sources = {name: ColumnDataSource({c: [] for c in cols}, name=name)
               for name, cols in columns.items()}  # fmt: skip
    zoom = WheelZoomTool(modifiers={"ctrl": True})  # a plain wheel scrolls the page
    plot = figure(
        name=PLOT_NAME, sizing_mode="scale_width", width=400, height=440, match_aspect=True,
        tools=["pan", zoom, "box_zoom", "reset"], active_drag=None, active_scroll=zoom,
        toolbar_location="below", title=" ", output_backend="canvas",
        x_axis_label="x₁", y_axis_label="x₂",
    )  # fmt: skip
    # the ranges cover the square VIEW_LIMITS and grow along one axis to keep one unit square
    corners = plot.scatter(list(VIEW_LIMITS), list(VIEW_LIMITS), size=0, alpha=0)
    for rng in (plot.x_range, plot.y_range):
        rng.renderers, rng.range_padding = [corners], 0
    plot.axis.major_label_text_font_size, plot.toolbar.logo = "12px", None  # no text below 11px
    plot.scatter("x", "y", source=sources["data"], size=4, color=COLORS["data"], alpha=0.6)
    plot.multi_line("xs", "ys", source=sources["tails"], color=COLORS["samples"],
                    alpha=TAIL_ALPHA, line_width=1)  # fmt: skip
    for name, kind, alpha in zip(("field_arrows", "eps_arrows", "noise_arrows"), ARROWS,
                                 (0.75, 1.0, 1.0), strict=True):  # fmt: skip
        color, dash = COLORS[kind], {"-": "solid", "--": "dashed"}[CUES[kind]["linestyle"]]
        # open heads but for the added noise: a short dashed arrow keeps a second cue, its head
        head = (VeeHead(size=6, line_color=color, fill_color=color, fill_alpha=alpha)
                if kind == "noise" else
                OpenHead(size=6, line_color=color, line_alpha=alpha, line_width=1.3))  # fmt: skip
        plot.add_layout(Arrow(end=head, source=sources[name], line_color=color, line_alpha=alpha,
                              line_width=1.3, line_dash=dash))  # from (x_start, y_start)
    plot.scatter("x", "y", source=sources["points"], size=5, color=COLORS["samples"])

    wide = {"sizing_mode": "stretch_width"}
    slider = {**wide, "margin": (4, 12, 4, 12)}  # room for the handle at either end
    controls = {  # time runs right to left: T at the left end, moving right runs the sampler
        "time": Slider(title="diffusion time t", start=0, end=s["steps"], value=s["steps"], step=1,
                       direction="rtl", format=CustomJSTickFormatter(code=TIME_JS, args={
                           "plot": plot}), **slider),  # fmt: skip
        "play": Button(label="Play", width=76),
        "tail": Slider(title="tail length", start=0, end=T, value=s["tail"], step=1, **slider),
        "arrows": CheckboxGroup(labels=list(ARROWS.values()), active=list(s["arrows"]), **wide),
        "shape": Select(title="shape", options=classes, value=s["shape"], **wide),
        "guidance": Slider(title="guidance scale", start=0, end=GUIDANCE_MAX,
                           value=s["guidance"], step=GUIDANCE_STEP, **slider),  # fmt: skip
        "sampler": Toggle(labels=list(SAMPLERS), active=list(SAMPLERS).index(s["sampler"]), **wide),
        "steps": Slider(title="number of steps", start=1, end=T, value=s["steps"], step=1,
                        **slider),  # fmt: skip
        "eta": Slider(title="η (DDIM only)", start=0, end=1, value=s["eta"], step=0.1,
                      **slider),  # disabled (and dimmed) by the callback but for DDIM (enabled
                      # here: BokehJS leaves a slider made disabled without its bar colour)
        "particles": Slider(title="number of particles", start=10, end=MAX_PARTICLES,
                            value=s["particles"], step=10, **slider),  # fmt: skip
        "seed": Spinner(title="seed", low=0, high=SEED_MAX, step=1, value=s["seed"], mode="int",
                        **wide),  # fmt: skip
    }
    for key, w in controls.items():
        w.name, w.css_classes = WIDGETS[key], [WIDGETS[key]]
    gx, gy, _ = grid(FIELD_GRID)
    callback = CustomJS(code=CALLBACK_JS, args=dict(
        **sources, **{k: w for k, w in controls.items() if k != "play"}, plot=plot,
        grid=np.stack([gx.ravel(), gy.ravel()], 1).ravel().tolist(),  # (G, 2), flat
        spacing=FIELD_GRID[2], EPS=EPS_SCALE, IDS=SCRIPT_IDS, SAMPLERS=list(SAMPLERS.values()),
        SEED_MAX=SEED_MAX))  # fmt: skip
    for key, w in controls.items():  # a slider of the run computes on release, not per pixel
        prop = {"sampler": "active", "arrows": "active"}.get(key, "value")
        if key in ("guidance", "steps", "eta", "particles"):
            prop = "value_throttled"
        if key != "play":
            w.js_on_change(prop, callback)
    play = dict(play=controls["play"], time=controls["time"], DT=STEP_MS)
    controls["play"].js_on_event("button_click", CustomJS(args=play, code=PLAY_JS))
    layout = {"plot": plot, **{key: controls[key] for key in CONTROL_ORDER}}
    doc = Document()
    for root in layout.values():
        doc.add_root(root)
    doc.js_on_event("document_ready", callback)  # the first run
    return layout


def explorer_html(layout: Mapping, model_data: Mapping) -> str:
    """HTML for a notebook output: :data:`PAGE` filled in with BokehJS (inlined, nothing from a
    CDN), ``LIVE_JS``, worker.js and client.js, the model's data, the CSS, the roots of ``layout``
    (:func:`build_explorer`; each control in a cell of the grid) and the legend's styles."""
    from bokeh.embed import components
    from bokeh.resources import Resources

    resources = Resources(mode="inline", components=["bokeh", "bokeh-widgets"])
    script, divs = components(dict(layout))
    cells = "".join(f"<div class='explorer-cell explorer-cell-{key}'>{divs[key]}</div>"
                    for key in CONTROL_ORDER)  # fmt: skip
    dash = {f"{k}_dash": ' stroke-dasharray="4 2"' * (CUES[k]["linestyle"] == "--") for k in ARROWS}
    model = json.dumps(model_data, separators=(",", ":")).replace("</", "<\\/")
    return PAGE.rstrip("\n").format(
        css=CSS, bokehjs=resources.render_js(), script=script, plot=divs["plot"], controls=cells,
        live=LIVE_JS, worker=WORKER_JS, client=CLIENT_JS, model=model,
        **{f"{k}_id": v for k, v in SCRIPT_IDS.items()}, eps_scale=EPS_SCALE,
        tail_alpha=TAIL_ALPHA, **COLORS, **dash)


def show_explorer(model_data: Mapping, **settings):
    """An ``IPython.display.HTML`` with the explorer of the exported model (the last line of a
    cell); ``settings`` as in :func:`build_explorer`."""
    from IPython.display import HTML

    return HTML(explorer_html(build_explorer(model_data, **settings), model_data))
