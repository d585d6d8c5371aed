"""The book's figures, split by kind; numbers come from :mod:`diffusion2d.evaluation`,
:mod:`diffusion2d.trajectories` and :mod:`diffusion2d.protocol`.

``style`` (palette by meaning, fonts, sizes, :func:`use_style`, :func:`audit`); ``points``
(point clouds, drift fields); ``curves`` (schedule, losses, embeddings); ``fields`` (learned
against exact noise field); ``particles`` (sampling as particles, figures and video);
``evaluation_figures`` (quality, memorisation); ``animation`` and ``video``; ``explorer`` (+
``explorer_js``). The figures chapters call are re-exported here (``plotting.scatter``);
helpers are imported from their module; ``animation`` and ``explorer`` are used as modules.
"""

from .curves import (
    embeddings_figure,
    loss_by_step_figure,
    loss_comparison,
    loss_curve,
    loss_curves,
    schedule_plot,
)
from .evaluation_figures import (
    chamfer_by_step_plot,
    coverage_figure,
    distance_histograms,
    sweep_plot,
)
from .fields import error_heatmap_figure, error_map_figure, field_comparison_figure
from .particles import EPS_SCALE, paths_figure, sampling_video, snapshot_grid, step_figure
from .points import LIMITS, drift_quiver, noised_grid, samples_over_data, scatter, scatter_grid
from .style import COLORS, COLUMN_WIDTH, CUES, FULL_WIDTH, MIN_FONT, audit, use_style

__all__ = [
    "COLORS", "COLUMN_WIDTH", "CUES", "EPS_SCALE", "FULL_WIDTH", "LIMITS", "MIN_FONT", "audit",
    "chamfer_by_step_plot", "coverage_figure", "distance_histograms", "drift_quiver",
    "embeddings_figure", "error_heatmap_figure", "error_map_figure", "field_comparison_figure",
    "loss_by_step_figure", "loss_comparison", "loss_curve", "loss_curves", "noised_grid",
    "paths_figure", "samples_over_data", "sampling_video", "scatter", "scatter_grid",
    "schedule_plot", "snapshot_grid", "step_figure", "sweep_plot", "use_style",
]  # fmt: skip
