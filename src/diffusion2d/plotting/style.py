"""The book's one figure style: palette by meaning, fonts, sizes, output format.

Scope: constants and rcParams, no drawing; every helper draws inside :func:`style`, every chapter
calls :func:`use_style` once. Sizes are inches at a logical :data:`DPI` of 100 CSS px per inch,
saved at :data:`SAVE_DPI` (2 device px per CSS px: sharp on high-density screens).
"""

import base64
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib as mpl
from matplotlib.figure import Figure
from PIL import Image

DPI = 100  # logical pixels per inch: 1 inch of figure = 100 CSS px on the page
SAVE_DPI = 2 * DPI  # device pixels per inch of every raster figure
PNG_COLORS = 256  # colours of a figure's PNG on the page (compress_png)
MIN_FONT = 9.0  # points: the smallest text in any figure, >= 11 CSS px even shrunk to 88 %
LABEL_FONT = 10.0  # points: axis labels and panel titles
PAD = 0.1  # inches of white margin the notebook adds on each side (savefig's tight bbox)
COLUMN_WIDTH = 6.5  # inches: + margins 670 CSS px, inside the column's 672 px at 1280 px
FULL_WIDTH = 8.8  # inches: + margins 900 CSS px, inside the full-width cell's 915 px

# fmt: off
# Okabe & Ito's colour-blind-safe palette (https://jfly.uni-koeln.de/color/), one colour per
# meaning, and a second cue per meaning (CUES) so nothing is told by colour alone.
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73",
             "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
             "grey": "#999999"}
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
CUES = {"data": {"marker": "o"}, "samples": {"marker": "o"},
        "noise": {"linestyle": "-"}, "pred_noise": {"linestyle": "--"}, "field": {"linestyle": "-"},
        "exact": {"linestyle": ":"}, "train": {"linestyle": "-"}, "test": {"linestyle": "--"},
        "beta": {"linestyle": "-"}, "alpha": {"linestyle": "--"}, "alpha_bar": {"linestyle": "-."},
        "snr": {"linestyle": ":"}, "centres": {"marker": "o"}}
# Several runs on one axis (e.g. the four experiments): a colour and a marker each, in order.
RUNS = [{"color": OKABE_ITO[c], "marker": m} for c, m in zip(
    ("orange", "sky_blue", "green", "purple", "vermillion", "blue"), "os^DvP", strict=True)]
# The two samplers wherever both are drawn as lines: colour, marker and line style.
SAMPLERS = {"ddpm": {"color": OKABE_ITO["blue"], "marker": "o", "linestyle": "-"},
            "ddim": {"color": OKABE_ITO["orange"], "marker": "s", "linestyle": "--"}}
# Colours of the frame around the data (axes, grid, text), also allowed in any figure.
NEUTRALS = {"text": "#000000", "axes": "#555555", "grid": "#e6e6e6", "background": "#ffffff"}
STYLE = {
    "figure.dpi": DPI, "savefig.dpi": SAVE_DPI, "font.size": LABEL_FONT,
    "axes.titlesize": LABEL_FONT, "axes.labelsize": LABEL_FONT, "figure.titlesize": LABEL_FONT,
    "xtick.labelsize": MIN_FONT, "ytick.labelsize": MIN_FONT, "legend.fontsize": MIN_FONT,
    "legend.title_fontsize": MIN_FONT, "legend.frameon": False,
    "lines.linewidth": 1.6, "lines.markersize": 5.0, "scatter.edgecolors": "none",
    "axes.prop_cycle": mpl.cycler(color=[r["color"] for r in RUNS]),
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
    """Apply :data:`STYLE`; in IPython also show figures as "retina" PNG reduced by
    :func:`compress_png`, with only the width metadata that myst-nb writes onto the ``<img>`` (a
    height would distort a figure that a narrow screen shrinks)."""
    mpl.rcParams.update(STYLE)
    shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    if shell is None:  # not in a notebook (whose kernel runs IPython)
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")
    png = shell.display_formatter.formatters["image/png"]
    retina = png.lookup_by_type(Figure)
    if getattr(retina, "__name__", "") != "width_only":

        def width_only(fig: Figure):
            out = retina(fig)  # (base64 PNG, {"width", "height"}) or None for an empty figure
            if out is not None:
                png = base64.b64encode(compress_png(base64.b64decode(out[0]))).decode("ascii")
                return png, {"width": out[1]["width"]}

        png.for_type(Figure, width_only)


@contextmanager
def style() -> Iterator[None]:
    """Apply :data:`STYLE` temporarily. The interactive flag survives: a notebook backend first
    loaded inside switches it on, and restoring it would hide the notebook's later figures."""
    with mpl.rc_context(STYLE):
        yield
        interactive = mpl.is_interactive()
    mpl.interactive(interactive)


def fit(fig: Figure) -> Figure:
    fig.full_width = fig.get_size_inches()[0] > COLUMN_WIDTH + 1e-9
    return fig
