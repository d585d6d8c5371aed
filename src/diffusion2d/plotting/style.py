"""The book's one figure style: palette by meaning, fonts, sizes, output format.

Scope: constants and rcParams, no drawing. Every helper draws inside :func:`style`; every chapter
calls :func:`use_style` once. Sizes are in inches at a *logical* :data:`DPI` of 100 CSS px per
inch, saved at :data:`SAVE_DPI` (twice that) so figures stay sharp on high-density screens, with
:data:`PAD` of margin. :data:`COLUMN_WIDTH` is the widest figure the text column shows unshrunk
at a 1280 px window, :data:`FULL_WIDTH` the widest for a cell tagged ``full-width``. With no text
below :data:`MIN_FONT` points, text stays at least 11 CSS px even in a figure shrunk to 88 %.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from PIL import Image

DPI = 100  # logical pixels per inch: 1 inch of figure = 100 CSS px on the page
RASTER_SCALE = 2  # device pixels per CSS pixel of every raster figure
SAVE_DPI = DPI * RASTER_SCALE
PNG_COLORS = 256  # colours of a figure's PNG on the page (compress_png)
MIN_FONT = 9.0  # points: the smallest text in any figure (ticks, legends, annotations)
LABEL_FONT = 10.0  # points: axis labels and panel titles
PAD = 0.1  # inches of white margin the notebook adds on each side (savefig's tight bbox)
COLUMN_WIDTH = 6.5  # inches: + margins 670 CSS px, inside the column's 672 px at 1280 px
FULL_WIDTH = 8.8  # inches: + margins 900 CSS px, inside the full-width cell's 915 px
PANEL = 2.2  # inches: the default (largest) side of one point-cloud panel
MIN_PANEL = 1.6  # inches: the smallest side of a panel when the number of columns is chosen

# fmt: off
# Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/), one colour per
# meaning, and a second cue per meaning (CUES) so nothing is told by colour alone.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
    "grey": "#999999",
}
COLORS = {
    "data": OKABE_ITO["grey"],            # the dino's points: filled grey dots, drawn beneath
    "samples": OKABE_ITO["blue"],         # generated samples and particles: blue dots
    "noise": OKABE_ITO["vermillion"],     # noise added in a step: solid arrows
    "pred_noise": OKABE_ITO["green"],     # noise predicted by the model: dashed arrows
    "field": OKABE_ITO["purple"],         # drift-field arrows: thin, open heads
    "exact": OKABE_ITO["black"],          # the exact denoiser (chapters 3, 7): dotted lines
    "train": OKABE_ITO["blue"], "test": OKABE_ITO["vermillion"],  # losses: solid vs dashed
    "beta": OKABE_ITO["blue"], "alpha": OKABE_ITO["orange"], "alpha_bar": OKABE_ITO["green"],
    "snr": OKABE_ITO["purple"],
    "centres": OKABE_ITO["sky_blue"],     # noised data's centres on top of a heat map
}
# The second cue of each meaning: line style for curves and arrows, marker for points.
CUES = {
    "data": {"marker": "o"}, "samples": {"marker": "o"},
    "noise": {"linestyle": "-"}, "pred_noise": {"linestyle": "--"}, "field": {"linestyle": "-"},
    "exact": {"linestyle": ":"},
    "train": {"linestyle": "-"}, "test": {"linestyle": "--"},
    "beta": {"linestyle": "-"}, "alpha": {"linestyle": "--"}, "alpha_bar": {"linestyle": "-."},
    "snr": {"linestyle": ":"}, "centres": {"marker": "o"},
}
# Several runs on one axis (e.g. the four experiments): a colour and a marker each, in order.
RUNS = [
    {"color": OKABE_ITO["orange"], "marker": "o"}, {"color": OKABE_ITO["sky_blue"], "marker": "s"},
    {"color": OKABE_ITO["green"], "marker": "^"}, {"color": OKABE_ITO["purple"], "marker": "D"},
    {"color": OKABE_ITO["vermillion"], "marker": "v"}, {"color": OKABE_ITO["blue"], "marker": "P"},
]
# The two samplers wherever both are drawn as lines: colour, marker and line style.
SAMPLERS = {
    "ddpm": {"color": OKABE_ITO["blue"], "marker": "o", "linestyle": "-"},
    "ddim": {"color": OKABE_ITO["orange"], "marker": "s", "linestyle": "--"},
}
# Colours of the frame around the data (axes, grid, text), also allowed in any figure.
NEUTRALS = {"text": "#000000", "axes": "#555555", "grid": "#e6e6e6", "background": "#ffffff"}
SIZES = {"data": 9.0, "samples": 5.0}  # scatter s= (pt^2) in a 3.4-inch panel
STYLE = {
    "figure.dpi": DPI, "savefig.dpi": SAVE_DPI, "font.size": LABEL_FONT,
    "axes.titlesize": LABEL_FONT, "axes.labelsize": LABEL_FONT, "figure.titlesize": LABEL_FONT,
    "xtick.labelsize": MIN_FONT, "ytick.labelsize": MIN_FONT, "legend.fontsize": MIN_FONT,
    "legend.title_fontsize": MIN_FONT, "legend.frameon": False,
    "lines.linewidth": 1.6, "lines.markersize": 5.0, "scatter.edgecolors": "none",
    "axes.prop_cycle": cycler(color=[r["color"] for r in RUNS]),
    # opaque white backgrounds keep figures readable in the theme's dark mode too
    "figure.facecolor": "white", "savefig.facecolor": "white", "axes.facecolor": "white",
    "axes.edgecolor": NEUTRALS["axes"], "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "axes.axisbelow": True, "grid.color": NEUTRALS["grid"],
    "grid.linewidth": 0.6, "image.cmap": "magma_r", "savefig.pad_inches": PAD,
}
QUIVER = {"angles": "xy", "scale_units": "xy", "scale": 1}  # arrows in data units
# fmt: on


def compress_png(data: bytes, colors: int = PNG_COLORS) -> bytes:
    """The PNG ``data`` with at most ``colors`` colours (adaptive palette, no dithering),
    optimised: flat colours and anti-aliased edges look the same at a quarter of the bytes."""
    with Image.open(io.BytesIO(data)) as im:
        small = im.convert("RGB").quantize(colors, method=Image.Quantize.FASTOCTREE,
                                           dither=Image.Dither.NONE)  # fmt: skip
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


def use_style() -> None:
    """Apply :data:`STYLE` globally and, in IPython, show figures as PNG at
    :data:`RASTER_SCALE` device px per CSS px (IPython's "retina" format, whose width metadata
    myst-nb writes onto the ``<img>``; no height, which would distort a figure a narrow screen
    shrinks), reduced by :func:`compress_png`. Outside IPython only the rcParams change."""
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the notebooks only
        return
    shell = get_ipython()
    if shell is None:
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")
    png = shell.display_formatter.formatters["image/png"]
    retina = png.lookup_by_type(Figure)
    if not getattr(retina, "width_only", False):

        def width_only(fig: Figure):
            out = retina(fig)  # (base64 PNG, {"width", "height"}) or None for an empty figure
            if out is None:
                return None
            png = base64.b64encode(compress_png(base64.b64decode(out[0]))).decode("ascii")
            return png, {"width": out[1]["width"]}

        width_only.width_only = True
        png.for_type(Figure, width_only)


@contextmanager
def style() -> Iterator[None]:
    """Apply :data:`STYLE` temporarily (every helper draws inside it). The interactive flag
    survives: a notebook backend first loaded inside switches it on, and restoring it would stop
    the notebook from showing later figures."""
    with mpl.rc_context(STYLE):
        yield
        interactive = mpl.is_interactive()
    mpl.interactive(interactive)


def full_width(fig: Figure) -> Figure:
    """Mark ``fig`` as made for a ``full-width`` cell (up to :data:`FULL_WIDTH` wide)."""
    fig.full_width = True
    return fig


def fit(fig: Figure) -> Figure:
    """Mark ``fig`` for a ``full-width`` cell if it is wider than :data:`COLUMN_WIDTH`."""
    return full_width(fig) if fig.get_size_inches()[0] > COLUMN_WIDTH + 1e-9 else fig


def grid_shape(n: int, ncols: int | None, width: float, panel: float = PANEL):
    """``(rows, columns, side)`` for ``n`` square panels at most ``width`` inches wide with
    0.55 inches for the tick labels: ``ncols`` columns (default: as many as fit at
    :data:`MIN_PANEL`), each as large as fits, at most ``panel``."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if not 0 < width <= FULL_WIDTH:
        raise ValueError(f"width must lie in (0, {FULL_WIDTH}] inches, got {width!r}")
    if ncols is None:
        ncols = max(1, min(n, int((width - 0.55) // MIN_PANEL)))
    ncols = min(ncols, n)
    return -(-n // ncols), ncols, min(panel, (width - 0.55) / ncols)


def audit(fig: Figure) -> dict:
    """Check ``fig`` against the style, as the book shows it (tight bounding box plus
    :data:`PAD`): ``min_font`` (points, over every visible text), ``width`` and ``max_width``
    (inches; :data:`FULL_WIDTH` if marked by :func:`full_width`, else :data:`COLUMN_WIDTH`), and
    ``foreign_colors``, the colours of lines, markers, arrows, patches and text (alpha ignored)
    in neither :data:`OKABE_ITO` nor :data:`NEUTRALS` (colour-mapped images and meshes aside)."""
    from matplotlib.collections import Collection
    from matplotlib.colors import to_hex
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.spines import Spine
    from matplotlib.text import Text

    fig.canvas.draw()
    texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
             and (t.axes is None or t.axes.get_visible())]  # fmt: skip
    frames = {id(fig.patch)} | {id(ax.patch) for ax in fig.axes}
    frames |= {id(leg.legendPatch) for leg in fig.legends + [ax.get_legend() for ax in fig.axes]
               if leg is not None}  # fmt: skip
    colors = []
    for a in fig.findobj(lambda a: isinstance(a, Line2D | Collection | Patch | Text)):
        if not a.get_visible() or id(a) in frames or isinstance(a, Spine):
            continue
        if isinstance(a, Line2D):
            colors += [a.get_color(), a.get_markerfacecolor(), a.get_markeredgecolor()]
        elif isinstance(a, Text):
            colors.append(a.get_color())
        elif isinstance(a, Patch) or a.get_array() is None:  # a collection not colour-mapped
            colors += list(np.atleast_2d(a.get_facecolor()))
            if np.any(np.asarray(a.get_linewidth()) > 0):
                colors += list(np.atleast_2d(a.get_edgecolor()))
    allowed = {c.lower() for c in (*OKABE_ITO.values(), *NEUTRALS.values())}
    seen = {to_hex(c, keep_alpha=False) for c in colors
            if not (isinstance(c, str) and c == "none") and to_rgba(c)[3] > 0}  # fmt: skip
    widest = FULL_WIDTH if getattr(fig, "full_width", False) else COLUMN_WIDTH
    return {
        "min_font": min(float(t.get_fontsize()) for t in texts),
        "width": fig.get_tightbbox(fig.canvas.get_renderer()).width + 2 * PAD,
        "max_width": widest + 2 * PAD,
        "foreign_colors": seen - allowed,
    }
