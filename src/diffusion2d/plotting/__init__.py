"""The book's figures: one style in one place, and the static figures chapters draw in one line.

Scope: matplotlib only, no mathematics. Modules:

- ``style``: palette by meaning (:data:`COLORS`, the second cue of each meaning :data:`CUES`,
  runs :data:`RUNS`, samplers :data:`SAMPLERS`), fonts (:data:`MIN_FONT`), sizes
  (:data:`COLUMN_WIDTH`, :data:`FULL_WIDTH`), output at :data:`SAVE_DPI`, :func:`use_style`;
- ``points``: point clouds, small multiples, samples over the data, drift fields;
- ``curves``: the noise schedule, loss curves, the model's embeddings.

- ``particles``, ``particle_figures``: sampling seen as particles (chapter 06);
- ``fields``: the learned noise field next to the exact one (chapter 07);
- ``animation`` (frames) and ``video`` (MP4/WebM, the ``<video>`` element);
- ``explorer`` (+ ``explorer_js``): the interactive sampler page.

The figures are re-exported here (``from diffusion2d import plotting``; ``plotting.scatter``);
``plotting.animation`` and ``plotting.explorer`` are used as modules.
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
from .fields import (
    CENTRES,
    CENTRES_ON_MAP,
    ERROR_CMAP,
    ERROR_GRID,
    FieldComparison,
    compare_fields,
    eps_slope,
    error_by_distance,
    error_heatmap_figure,
    error_map_figure,
    field_comparison_figure,
    loss_by_step,
    loss_by_step_figure,
)
from .particle_figures import paths_figure, snapshot_grid, step_figure
from .particles import (
    EPS_SCALE,
    FIELD_GRID,
    SAMPLER_NAMES,
    STAT_LABELS,
    draw_state,
    endpoint_distance,
    frame_of,
    noise_walk,
    record_pair,
    sampling_video,
    stats_table,
    trajectory_stats,
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
    "CENTRES", "CENTRES_ON_MAP", "EPS_SCALE", "ERROR_CMAP", "ERROR_GRID", "FIELD_GRID",
    "SAMPLER_NAMES", "STAT_LABELS", "FieldComparison", "compare_fields", "draw_state",
    "endpoint_distance", "eps_slope", "error_by_distance", "error_heatmap_figure",
    "error_map_figure", "field_comparison_figure", "frame_of", "loss_by_step",
    "loss_by_step_figure", "noise_walk", "paths_figure", "record_pair", "sampling_video",
    "snapshot_grid", "stats_table", "step_figure", "trajectory_stats",
]  # fmt: skip
