"""The figure audit of the tests: :func:`audit` measures a figure as the book shows it (smallest
font, width with margins, colours outside the palette) against the style of
:mod:`diffusion2d.plotting.style`. Test tooling, not part of the installed package: a test imports
it as ``from figaudit import audit`` (pytest puts ``tests/`` on ``sys.path``)."""

from __future__ import annotations

import numpy as np
from matplotlib.collections import Collection
from matplotlib.colors import to_hex, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.spines import Spine
from matplotlib.text import Text

from diffusion2d.plotting.style import COLUMN_WIDTH, FULL_WIDTH, NEUTRALS, OKABE_ITO, PAD


def audit(fig: Figure) -> dict:
    """Check ``fig`` as the book shows it: ``min_font`` (points, visible text), ``width`` and
    ``max_width`` (inches, with ``PAD``; by ``fit``'s mark), and ``foreign_colors``, the
    colours drawn (not colour-mapped) in neither ``OKABE_ITO`` nor ``NEUTRALS``."""
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
