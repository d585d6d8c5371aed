"""The book's figures, split by kind; numbers come from :mod:`diffusion2d.evaluation`,
:mod:`diffusion2d.trajectories` and :mod:`diffusion2d.protocol`.

``style`` (palette by meaning, fonts, sizes, :func:`use_style`, :func:`audit`); ``points``
(point clouds, drift fields); ``curves`` (schedule, losses, embeddings); ``fields`` (learned
against exact noise field); ``particles`` (sampling as particles, figures and video);
``quality`` (sample quality, memorisation); ``animation`` and ``video``; ``explorer`` (+
``explorer_js``). The general figures (style, points, curves) are re-exported here
(``plotting.scatter``); the figures of one chapter's subject are used from their module
(``fields.error_map_figure``, ``particles.step_figure``, ``quality.sweep_plot``, ``animation``,
``explorer``), so that a chapter depends on, and re-runs after an edit of, what it draws.
"""

from .curves import (
    embeddings_figure,
    loss_by_step_figure,
    loss_comparison,
    loss_curve,
    loss_curves,
    schedule_plot,
)
from .points import LIMITS, drift_quiver, noised_grid, samples_over_data, scatter, scatter_grid
from .style import COLORS, COLUMN_WIDTH, CUES, FULL_WIDTH, MIN_FONT, audit, use_style

__all__ = [
    "COLORS", "COLUMN_WIDTH", "CUES", "FULL_WIDTH", "LIMITS", "MIN_FONT", "audit", "drift_quiver",
    "embeddings_figure", "loss_by_step_figure", "loss_comparison", "loss_curve", "loss_curves",
    "noised_grid", "samples_over_data", "scatter", "scatter_grid", "schedule_plot", "use_style",
]  # fmt: skip
