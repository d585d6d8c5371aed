"""Sampling seen as particles (chapter 06) and the learned noise field next to the exact one (07).

Scope: the figures, the animation and summary numbers of those two chapters, in the book's style
(:mod:`diffusion2d.plotting`; frames of the animation by :func:`diffusion2d.animation.render`). No
new mathematics: trajectories come from :func:`trajectories.record_trajectories`, the exact noise
prediction from :class:`exact.ExactDenoiser`, the loss from eq. 14 via :func:`forward.q_sample`.

Conventions. Times in titles and arguments are the paper's t (``T`` = pure-ish noise, ``0`` = the
sample x_0). In a :class:`trajectories.Trajectories`, frame ``k = T - t`` holds x_t and step ``k``
is the reverse step *taken from* x_t (learned field ``field[k]``, prediction ``eps_pred[k]``, added
noise ``added_noise[k]``); at t = 0 there is no step left, so no arrows are drawn.

Arrows, each meaning in its colour of :data:`plotting.COLORS` with a second cue: the learned
field (thin arrows) is rescaled per panel by :func:`plotting.scaled_arrows` (factor in the title);
the added noise sigma_t z (solid arrows) is drawn in data units; the predicted noise eps_theta
(dashed arrows, a unit-variance quantity) is drawn times :data:`EPS_SCALE`.

Computations run on one torch thread (:func:`training.torch_threads`): on a busy two-core machine
more threads only add contention (a 300-particle recording takes 0.2 s instead of 1.4 s).

Modules: ``particles`` (chapter 06: recording both samplers, summary numbers, drawing one state,
the animation), ``particle_figures`` (chapter 06's figures) and ``fields`` (chapter 07: learned vs
exact noise field); everything is re-exported here, so
``from diffusion2d import sampling_plots as sp`` sees one namespace.
"""

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
    Range,
    draw_state,
    endpoint_distance,
    frame_of,
    noise_walk,
    record_pair,
    sampling_video,
    stats_table,
    trajectory_stats,
)

__all__ = [
    "CENTRES",
    "CENTRES_ON_MAP",
    "EPS_SCALE",
    "ERROR_CMAP",
    "ERROR_GRID",
    "FIELD_GRID",
    "SAMPLER_NAMES",
    "STAT_LABELS",
    "FieldComparison",
    "Range",
    "compare_fields",
    "draw_state",
    "endpoint_distance",
    "eps_slope",
    "error_by_distance",
    "error_heatmap_figure",
    "error_map_figure",
    "field_comparison_figure",
    "frame_of",
    "loss_by_step",
    "loss_by_step_figure",
    "noise_walk",
    "paths_figure",
    "record_pair",
    "sampling_video",
    "snapshot_grid",
    "stats_table",
    "step_figure",
    "trajectory_stats",
]
