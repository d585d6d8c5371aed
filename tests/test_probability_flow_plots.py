"""The probability-flow chapter's figures: quality against network evaluations
(quality.tradeoff_plot) and the paths of several samplers from one x_T (particles.paths_overlay),
audited for the book's style; the "model" is the exact denoiser of a few points."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figaudit import audit  # noqa: E402

from diffusion2d import samplers  # noqa: E402
from diffusion2d.exact import ExactDenoiser  # noqa: E402
from diffusion2d.plotting import particles, quality  # noqa: E402
from diffusion2d.plotting.style import COLORS  # noqa: E402


def _rows(mean: float) -> pd.DataFrame:
    """Protocol-like rows: five seeds around ``mean``."""
    df = pd.DataFrame({"chamfer": mean * (1 + 0.02 * np.arange(-2, 3))},
                      index=pd.Index(range(5), name="seed"))
    df.attrs["confidence"] = 0.95
    return df


def test_tradeoff_plot_draws_a_line_per_sampler_at_its_evaluations():
    sweep = {(name, n): _rows(1.0 / n + i * 0.01)
             for i, name in enumerate(quality.SAMPLER_STYLES) for n in (2, 5, 10, 50)}
    reference = {"noise": _rows(0.9), "data": _rows(0.02)}
    fig = quality.tradeoff_plot(sweep, reference, xticks=(2, 5, 10, 50))
    report = audit(fig)
    assert report["min_font"] >= 9 and report["width"] <= report["max_width"]
    assert not report["foreign_colors"]
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [s["label"] for s in quality.SAMPLER_STYLES.values()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "5", "10", "50"]
    plt.close(fig)


def test_each_sampler_has_its_own_colour_and_marker():
    styles = quality.SAMPLER_STYLES
    pairs = [(st["color"], st["marker"]) for st in styles.values()]
    assert len(set(pairs)) == len(pairs)
    assert len({st["marker"] for st in styles.values()}) == len(styles)
    # black is the exact denoiser's colour, dashes are DDIM's cue (eta = 0)
    assert all(st["color"] != COLORS["exact"] for st in styles.values())
    assert [n for n, st in styles.items() if st["linestyle"] == "--"] == ["ddim"]
    # the four lines of the flow-matching chapter differ in colour
    flow_chapter = ("ddim", "heun", "flow-euler", "flow-heun")
    assert len({styles[n]["color"] for n in flow_chapter}) == len(flow_chapter)


def test_tradeoff_plot_takes_other_labels():
    sweep = {(name, n): _rows(1.0 / n) for name in ("ddim", "flow-euler") for n in (2, 10)}
    fig = quality.tradeoff_plot(sweep, labels={"ddim": "experiment 3, DDIM"})
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["experiment 3, DDIM", quality.SAMPLER_STYLES["flow-euler"]["label"]]
    plt.close(fig)


def test_tradeoff_plot_refuses_an_unknown_sampler():
    with pytest.raises(ValueError, match="sweep"):
        quality.tradeoff_plot({("rk4", 4): _rows(0.1)})


def test_paths_overlay_from_one_start():
    data = torch.randn(12, 2, generator=torch.Generator().manual_seed(3))
    model = ExactDenoiser(data, 1e-3, 0.2, 6)
    runs = {s: samplers.sample(5, model, s, torch.Generator().manual_seed(0), 3)
            for s in ("ddpm", "ddim", "heun")}
    assert all(torch.equal(run[0], runs["ddim"][0]) for run in runs.values())  # one x_T
    fig = particles.paths_overlay({"3 steps": runs, "again": runs}, data, num=4)
    report = audit(fig)
    assert report["min_font"] >= 9 and report["width"] <= report["max_width"]
    assert not report["foreign_colors"]
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "start $x_T$" and len(labels) == 4
    plt.close(fig)
    with pytest.raises(ValueError, match="ddim"):
        particles.paths_overlay({"bad": {"ddim": [torch.zeros(3)]}})
