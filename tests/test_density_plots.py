"""The likelihood chapter's figure, plotting.density.log_density_figure: panels of log densities
on one colour scale with the training and held-out points on top, audited for the book's style."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figaudit import audit  # noqa: E402

from diffusion2d import density  # noqa: E402
from diffusion2d.plotting.density import log_density_figure  # noqa: E402


def _grids():
    train = torch.randn(20, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    grids = {f"h = {h}": density.log_density_grid(
        lambda x, h=h: density.kde_nll(train, x, h), (-2.5, 2.5, 0.1)) for h in (0.1, 0.3, 1.0)}
    return train, grids


def test_log_density_figure_is_legible_and_in_the_palette():
    train, grids = _grids()
    fig = log_density_figure(grids, train[:15], train[15:], vmin=-6.0)
    report = audit(fig)
    assert report["min_font"] >= 9 and report["width"] <= report["max_width"]
    assert not report["foreign_colors"], report["foreign_colors"]
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 3
    vmax = max(float(g[2].max()) for g in grids.values())
    assert all(im.norm.vmin == -6.0 and im.norm.vmax == vmax for im in images)  # one scale
    assert [ax.get_title() for ax in fig.axes[:3]] == list(grids)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["training points", "held-out points"]
    plt.close(fig)


def test_log_density_figure_refuses_bad_input():
    train, grids = _grids()
    with pytest.raises(ValueError, match="at least one"):
        log_density_figure({}, train, train)
    with pytest.raises(ValueError, match="vmin"):
        log_density_figure(grids, train, train, vmin=100.0)
    gx, gy, logp = next(iter(grids.values()))
    with pytest.raises(ValueError, match="one 2-D shape"):
        log_density_figure({"bad": (gx, gy, logp[:-1])}, train, train)
    with pytest.raises(ValueError, match=r"train must have shape \(N, 2\)"):
        log_density_figure(grids, np.zeros(3), train)
