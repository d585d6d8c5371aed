"""Log densities on a grid, side by side (the chapter "Likelihood"), from
:func:`density.log_density_grid`, with the training and the held-out points on top.

Scope: matplotlib only. One colour scale for all panels (``magma_r``: dark is dense), clipped
below at ``vmin`` nats so that the tails do not take over the scale.
"""

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np

from .points import as_points, legend_dot, outer_labels, point_axes, point_size
from .style import COLORS, FULL_WIDTH, NEUTRALS, fit, style

Grid = tuple[np.ndarray, np.ndarray, np.ndarray]  # gx, gy (ny, nx), log density (ny, nx)


def log_density_figure(grids: Mapping[str, Grid], train: object, heldout: object,
                       vmin: float = -8.0) -> plt.Figure:
    """A panel per ``grids`` entry ({title: (gx, gy, log p)}) on one colour scale from ``vmin``
    to the largest log density; training points as small sky-blue dots ("centres"), held-out
    points as white circles with a black edge (seen on light and dark). Full width."""
    if not grids:
        raise ValueError("grids must hold at least one (gx, gy, log_density) panel")
    train, heldout = as_points("train", train), as_points("heldout", heldout)
    for title, (gx, gy, logp) in grids.items():
        if not np.shape(gx) == np.shape(gy) == np.shape(logp) or np.ndim(logp) != 2:
            raise ValueError(f"grids[{title!r}] must be (gx, gy, log_density) of one 2-D shape")
    vmax = max(float(np.max(g[2])) for g in grids.values())
    if not vmax > vmin:
        raise ValueError(f"vmin={vmin} must lie below the largest log density {vmax:.3g}")
    n = len(grids)
    side = (FULL_WIDTH - 1.2) / n
    with style():
        fig, axes = plt.subplots(1, n, figsize=(FULL_WIDTH, side + 0.8), squeeze=False,
                                 layout="constrained")  # fmt: skip
        for ax, (title, (gx, gy, logp)) in zip(axes[0], grids.items(), strict=True):
            step_x, step_y = gx[0, 1] - gx[0, 0], gy[1, 0] - gy[0, 0]
            extent = (gx.min() - step_x / 2, gx.max() + step_x / 2,
                      gy.min() - step_y / 2, gy.max() + step_y / 2)  # fmt: skip
            im = ax.imshow(np.clip(logp, vmin, None), origin="lower", extent=extent, vmin=vmin,
                           vmax=vmax, cmap="magma_r", interpolation="nearest")  # fmt: skip
            ax.scatter(*train.T, s=point_size("data", side), color=COLORS["centres"], zorder=2,
                       linewidths=0)  # fmt: skip
            ax.scatter(*heldout.T, s=2.5 * point_size("data", side), linewidths=0.7, zorder=3,
                       facecolor=NEUTRALS["background"], edgecolor=NEUTRALS["text"])
            point_axes(ax, (extent[0], extent[1]), (extent[2], extent[3]))
            ax.grid(False)
            ax.set_title(title)
        outer_labels(axes)
        fig.colorbar(im, ax=axes, shrink=0.85, label="log density (nats)")
        fig.legend(handles=[legend_dot("training points", COLORS["centres"]),
                            legend_dot("held-out points", NEUTRALS["background"], ms=5,
                                       markeredgecolor=NEUTRALS["text"])],
                   loc="outside lower center", ncols=2)  # fmt: skip
    return fit(fig)
