"""The book's figures: one style in one place, and the static figures chapters draw in one line.

Scope: matplotlib only, no mathematics. Modules:

- ``style``: palette by meaning (:data:`COLORS`, the second cue of each meaning :data:`CUES`,
  runs :data:`RUNS`, samplers :data:`SAMPLERS`), fonts (:data:`MIN_FONT`), sizes
  (:data:`COLUMN_WIDTH`, :data:`FULL_WIDTH`), output at :data:`SAVE_DPI`, :func:`use_style`;
- ``points``: point clouds, small multiples, samples over the data, drift fields;
- ``curves``: the noise schedule, loss curves, the model's embeddings.

Everything is re-exported here (``from diffusion2d import plotting``; ``plotting.scatter``).
Animations are in :mod:`diffusion2d.animation`, sampling figures in
:mod:`diffusion2d.sampling_plots`.
"""

from .curves import (
    PlainLogFormatter,
    embeddings_figure,
    loss_comparison,
    loss_curve,
    loss_curves,
    plain_log,
    schedule_plot,
)
from .points import (
    GRID,
    LIMITS,
    Lim,
    Range,
    arrows,
    as_1d,
    as_points,
    draw_data,
    draw_field,
    drift_quiver,
    noised_grid,
    outer_labels,
    panel_grid,
    point_axes,
    point_size,
    samples_over_data,
    scaled_arrows,
    scatter,
    scatter_grid,
)
from .style import (
    COLORS,
    COLUMN_WIDTH,
    CUES,
    DPI,
    FULL_WIDTH,
    LABEL_FONT,
    MIN_FONT,
    MIN_PANEL,
    NEUTRALS,
    OKABE_ITO,
    PAD,
    PANEL,
    PNG_COLORS,
    QUIVER,
    RASTER_SCALE,
    RUNS,
    SAMPLERS,
    SAVE_DPI,
    SIZES,
    STYLE,
    audit,
    compress_png,
    fit,
    full_width,
    grid_shape,
    max_width,
    style,
    use_style,
)

__all__ = [
    "COLORS", "COLUMN_WIDTH", "CUES", "DPI", "FULL_WIDTH", "GRID", "LABEL_FONT", "LIMITS",
    "MIN_FONT", "MIN_PANEL", "NEUTRALS", "OKABE_ITO", "PAD", "PANEL", "PNG_COLORS", "QUIVER",
    "RASTER_SCALE", "RUNS", "SAMPLERS", "SAVE_DPI", "SIZES", "STYLE", "Lim",
    "PlainLogFormatter", "Range", "arrows", "as_1d", "as_points", "audit", "compress_png",
    "draw_data", "draw_field", "drift_quiver", "embeddings_figure", "fit", "full_width",
    "grid_shape", "loss_comparison", "loss_curve", "loss_curves", "max_width", "noised_grid",
    "outer_labels", "panel_grid", "plain_log", "point_axes", "point_size", "samples_over_data",
    "scaled_arrows", "scatter", "scatter_grid", "schedule_plot", "style", "use_style",
]  # fmt: skip
