"""The book's figures: ``style`` (palette by meaning, sizes, :func:`use_style`), ``points`` and
``curves`` (re-exported: ``plotting.scatter``); the figures of one chapter's subject are used from
their module (``fields``, ``particles``, ``quality``, ``animation``, ``explorer``), so that a
chapter re-runs only after an edit of what it draws.
"""

from .curves import (
    embeddings_figure,
    loss_by_step_figure,
    loss_comparison,
    loss_curves,
    schedule_plot,
)
from .points import LIMITS, drift_quiver, noised_grid, scatter, scatter_grid
from .style import COLORS, COLUMN_WIDTH, CUES, FULL_WIDTH, MIN_FONT, use_style

__all__ = [
    "COLORS", "COLUMN_WIDTH", "CUES", "FULL_WIDTH", "LIMITS", "MIN_FONT", "drift_quiver",
    "embeddings_figure", "loss_by_step_figure", "loss_comparison", "loss_curves",
    "noised_grid", "scatter", "scatter_grid", "schedule_plot", "use_style",
]  # fmt: skip
