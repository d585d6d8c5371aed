"""Checks of chapter 06/07's analyses and figures: recordings and their numbers (trajectories),
field errors and losses per step (evaluation), and the figures of plotting.

The "model" is the exact denoiser of a few points with a short schedule, so everything is cheap
and deterministic.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figaudit import audit  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

from diffusion2d import evaluation as ev  # noqa: E402
from diffusion2d import plotting  # noqa: E402
from diffusion2d import trajectories as tr  # noqa: E402
from diffusion2d.exact import ExactDenoiser  # noqa: E402
from diffusion2d.plotting import fields, particles  # noqa: E402

T = 6
GRID = (-2.0, 2.01, 1.0)  # 5 x 5


@pytest.fixture(scope="module")
def data() -> torch.Tensor:
    return torch.randn(12, 2, generator=torch.Generator().manual_seed(3))


@pytest.fixture(scope="module")
def model(data) -> ExactDenoiser:
    return ExactDenoiser(data, 1e-3, 0.2, T)


@pytest.fixture(scope="module")
def runs(model):
    return tr.record_pair(model, 20, torch.Generator().manual_seed(0), grid=GRID)


def _quivers(ax):
    return [c for c in ax.collections if isinstance(c, Quiver)]


def _dashed_shafts(ax) -> list:
    """Segments of the dashed arrow shafts (the predicted noise) drawn on ``ax``."""
    from matplotlib.collections import LineCollection

    return [seg for c in ax.collections
            if isinstance(c, LineCollection) and not isinstance(c, Quiver)
            and c.get_linestyle()[0][1] is not None for seg in c.get_segments()]


def test_record_pair_starts_both_samplers_from_the_same_points(runs):
    assert list(runs) == ["DDPM", "DDIM"]
    ddpm, ddim = runs["DDPM"], runs["DDIM"]
    assert not ddpm.deterministic and ddim.deterministic
    assert ddpm.positions.shape == ddim.positions.shape == (T + 1, 20, 2)
    np.testing.assert_array_equal(ddpm.positions[0], ddim.positions[0])
    assert ddpm.field.shape == (T, 5, 5, 2)
    assert not ddim.added_noise.any()
    assert ddpm.added_noise[:-1].any() and not ddpm.added_noise[-1].any()  # none at the end


def test_record_pair_is_reproducible(model):
    a = tr.record_pair(model, 8, torch.Generator().manual_seed(5), grid=GRID)
    b = tr.record_pair(model, 8, torch.Generator().manual_seed(5), grid=GRID)
    for name in a:
        np.testing.assert_array_equal(a[name].positions, b[name].positions)


def test_frame_of_maps_paper_time_to_frame(runs):
    run = runs["DDPM"]
    assert tr.frame_of(run, T) == 0 and tr.frame_of(run, 0) == T
    for bad in (-1, T + 1, 2.5, True):
        with pytest.raises(ValueError, match="t must be"):
            tr.frame_of(run, bad)


def test_trajectory_stats_add_up(runs, data):
    for run in runs.values():
        stats = tr.trajectory_stats(run, data)
        assert set(stats) == {
            "path_length", "net_move", "drift_total", "noise_total", "noise_net", "chamfer"
        }  # fmt: skip
        assert stats["net_move"] <= stats["path_length"] + 1e-6  # triangle inequality
        assert stats["noise_net"] <= stats["noise_total"] + 1e-6
        assert stats["path_length"] <= stats["drift_total"] + stats["noise_total"] + 1e-5
        assert stats["chamfer"] > 0
    assert tr.trajectory_stats(runs["DDIM"], data)["noise_total"] == 0.0
    stats = {name: tr.trajectory_stats(run, data) for name, run in runs.items()}
    table = tr.stats_table(stats)
    assert list(table.columns) == ["DDPM", "DDIM"] and len(table) == len(tr.STAT_LABELS)
    assert table.loc[tr.STAT_LABELS["noise_total"], "DDIM"] == 0.0


def test_noise_walk_against_a_simulated_walk():
    """The random walk of DDPM's added noise: summed step length ~ sqrt(pi/2) sum sigma_t, net
    displacement ~ sqrt(pi/2) sqrt(sum sigma_t^2), checked by simulation."""
    betas = torch.linspace(1e-4, 0.05, 50)
    walk = tr.noise_walk(betas)
    sigma = betas[1:].double().sqrt()  # no noise at t = 0
    assert walk["sum_sigma"] == pytest.approx(float(sigma.sum()))
    assert walk["root_sum_sq"] == pytest.approx(float(sigma.pow(2).sum().sqrt()))
    z = torch.randn(20_000, len(sigma), 2, generator=torch.Generator().manual_seed(0)).double()
    steps = sigma[None, :, None] * z  # (N, T-1, 2)
    assert walk["noise_total"] == pytest.approx(float(steps.norm(dim=-1).sum(1).mean()), rel=0.01)
    assert walk["noise_net"] == pytest.approx(float(steps.sum(1).norm(dim=-1).mean()), rel=0.02)
    with pytest.raises(ValueError, match="betas"):
        tr.noise_walk(torch.tensor([[0.1]]))


def test_eps_slope_linear_gaussian():
    """For Gaussian data N(0, I) the exact E[eps | x_t] is sqrt(1 - alpha_bar_t) x_t: the slope
    of the exact denoiser of many Gaussian points approaches it."""
    pts = torch.randn(4000, 2, generator=torch.Generator().manual_seed(1))
    pts = (pts - pts.mean(0)) / pts.std(0)
    exact = ExactDenoiser(pts, 1e-3, 0.2, T)
    for t in (T, 3):
        expected = float((1 - exact.alpha_bars[t - 1]).sqrt())
        assert ev.eps_slope(exact, pts, t, num=4000) == pytest.approx(expected, abs=0.03)
    for bad in (0, T + 1, 1.5):
        with pytest.raises(ValueError, match="t must be"):
            ev.eps_slope(exact, pts, bad)


def test_endpoint_distance(runs):
    assert tr.endpoint_distance(runs["DDIM"], runs["DDIM"]) == 0.0
    assert tr.endpoint_distance(runs["DDPM"], runs["DDIM"]) > 0.0


def test_draw_state_arrows_and_field(runs, data):
    fig, ax = plt.subplots()
    factor = particles.draw_state(ax, runs["DDPM"], 3, data, num=5, tail=2)
    assert factor is not None and factor > 0
    quivers = _quivers(ax)
    assert len(quivers) == 2  # filled arrows: the field and the added noise
    assert quivers[0].N == 25 and quivers[1].N == 5
    assert len(_dashed_shafts(ax)) == 5  # the predicted noise: dashed arrows
    fig, ax = plt.subplots()
    particles.draw_state(ax, runs["DDIM"], 3, num=5)
    assert len(_quivers(ax)) == 1  # DDIM adds no noise: the field only
    assert len(_dashed_shafts(ax)) == 5
    fig, ax = plt.subplots()
    assert particles.draw_state(ax, runs["DDPM"], 0, num=5) is None  # no step left at t = 0
    assert not _quivers(ax)


def test_figures_have_one_panel_per_run_and_time(runs, data):
    fig = particles.step_figure(runs, 2, data, num=5)
    assert [ax.get_title().split(",")[0] for ax in fig.axes] == ["DDPM", "DDIM"]
    assert len(particles.paths_figure(runs, data, num=5).axes) == 2
    fig = particles.snapshot_grid(runs, [T, 3, 0], data, num=5)
    assert len(fig.axes) == 6
    assert fig.axes[5].get_title() == "DDIM, t = 0"


def test_compare_fields_of_the_exact_denoiser_with_itself_is_zero(model, data):
    comp = ev.compare_fields(model, model, [1, T], grid=GRID)
    assert comp.learned.shape == comp.exact.shape == (2, 5, 5, 2)
    assert comp.sq_error.shape == (2, 5, 5) and np.allclose(comp.sq_error, 0, atol=1e-10)
    assert comp.centres.shape == (2, 12, 2)
    abars = model.alpha_bars.double().numpy()[[0, T - 1]]  # the schedule at t = 1 and t = T
    np.testing.assert_allclose(comp.centres, np.sqrt(abars)[:, None, None] * data.double().numpy())
    assert (comp.distance >= 0).all()


def test_compare_fields_rejects_bad_times_and_schedules(model, data):
    with pytest.raises(ValueError, match="times"):
        ev.compare_fields(model, model, [0])
    other = ExactDenoiser(data, 1e-3, 0.1, T)
    with pytest.raises(ValueError, match="schedule"):
        ev.compare_fields(model, other, [1])


class _Zero(torch.nn.Module):
    """Predicts eps = 0 everywhere, with the schedule of ``like``."""

    def __init__(self, like):
        super().__init__()
        self.T, self.betas, self.alphas, self.alpha_bars = (
            like.T, like.betas, like.alphas, like.alpha_bars,
        )  # fmt: skip

    def forward(self, xt, t):
        return torch.zeros_like(xt)


def test_error_by_distance_bins_every_point(model):
    comp = ev.compare_fields(_Zero(model), model, [1, 3], grid=GRID)
    edges = np.array([0.0, 0.5, 1.0, 100.0])
    table, counts = ev.error_by_distance(comp, edges)
    assert table.shape == counts.shape == (2, 3)
    assert (counts.sum(axis=1) == 25).all()
    err, dist = comp.sq_error[0].ravel(), comp.distance[0].ravel()
    sel = dist < 0.5
    if sel.any():
        assert table[0, 0] == pytest.approx(err[sel].mean())


def test_loss_by_step_the_exact_denoiser_wins_on_its_own_points(model, data):
    losses = ev.loss_by_step({"exact": model, "zero": _Zero(model)}, data, repeats=8)
    assert set(losses) == {"exact", "zero"} and losses["exact"].shape == (T,)
    assert (losses["exact"] <= losses["zero"] + 1e-6).all()
    assert losses["zero"].mean() == pytest.approx(1.0, abs=0.2)  # E|eps|^2 per coordinate


def test_field_figures_draw(model):
    comp = ev.compare_fields(model, model, [1, T], grid=GRID)
    fig = fields.field_comparison_figure(comp)
    assert len([ax for ax in fig.axes if _quivers(ax)]) == 4
    assert len(fields.error_map_figure(comp).axes) == 3  # two maps and a colour bar
    assert len(fields.error_heatmap_figure(comp, [0.0, 1.0, 10.0]).axes) == 2
    fig = plotting.loss_by_step_figure({"a": {"m": np.ones(T)}, "b": {"m": np.ones(T)}})
    assert [ax.get_title() for ax in fig.axes] == ["a", "b"]


def _sampling_figures(runs, data, model):
    comp = ev.compare_fields(model, model, [1, 3, 5, T], grid=GRID)
    losses = {split: {"model": np.linspace(1, end, T), "exact": np.ones(T)}
              for split, end in (("training points", 0.5), ("held-out points", 0.6))}
    return {
        "step_figure": lambda: particles.step_figure(runs, 3, data, num=10),
        "paths_figure": lambda: particles.paths_figure(runs, data, num=10),
        "snapshot_grid": lambda: particles.snapshot_grid(runs, [T, 5, 4, 3, 1, 0], data, num=10),
        "field_comparison_figure": lambda: fields.field_comparison_figure(comp),
        "error_map_figure": lambda: fields.error_map_figure(comp),
        "error_heatmap_figure": lambda: fields.error_heatmap_figure(comp, [0.0, 0.5, 1.0, 10.0]),
        "loss_by_step_figure": lambda: plotting.loss_by_step_figure(losses),
    }


@pytest.mark.parametrize("name", ["step_figure", "paths_figure", "snapshot_grid",
                                  "field_comparison_figure", "error_map_figure",
                                  "error_heatmap_figure", "loss_by_step_figure"])  # fmt: skip
def test_sampling_figures_keep_the_book_style(name, runs, data, model):
    """Every text at least MIN_FONT points, the figure within the column (or the full-width
    layout it declares), every colour (but colour-mapped errors) from the palette."""
    from diffusion2d import plotting

    fig = _sampling_figures(runs, data, model)[name]()
    report = audit(fig)
    assert report["min_font"] >= plotting.MIN_FONT, report
    assert report["width"] <= report["max_width"] + 1e-6, report
    assert not report["foreign_colors"], report
    plt.close(fig)


def test_snapshot_grid_rows_per_run_and_visible_tails(runs, data):
    """Six times in rows of three: two rows per run, DDPM above DDIM, each panel the size the
    column allows; the last moves are drawn as lines, thick and opaque enough to see."""
    from matplotlib.collections import LineCollection

    fig = particles.snapshot_grid(runs, [T, 5, 4, 3, 1, 0], data, num=10, tail=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == [f"DDPM, t = {t}" for t in (T, 5, 4)]
    assert titles[6:9] == [f"DDIM, t = {t}" for t in (T, 5, 4)]
    assert len(fig.axes) == 12
    fig.canvas.draw()
    side = fig.axes[0].get_position().width * fig.get_size_inches()[0]
    assert side > 1.5  # inches; the old grid's 1.9-inch panels were shown shrunk to 1.1
    tails = [c for ax in fig.axes for c in ax.collections if isinstance(c, LineCollection)]
    assert tails and all(c.get_linewidth()[0] >= 1.0 and c.get_alpha() >= 0.5 for c in tails)
    # fewer times than a row: one row per run
    fig = particles.snapshot_grid(runs, [T, 3], data, num=5)
    assert len(fig.axes) == 4


def test_step_figure_legend_names_meanings_with_a_second_cue(runs, data):
    fig = particles.step_figure(runs, 3, data, num=5)
    (legend,) = fig.legends
    entries = {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles,
                                               strict=True)}  # fmt: skip
    pred = next(h for label, h in entries.items() if label.startswith("predicted noise"))
    added = next(h for label, h in entries.items() if label.startswith("added noise"))
    assert pred.get_linestyle() == "--" and added.get_linestyle() == "-"
    words = {w for label in entries for w in label.split()}
    assert not words & {"red", "blue", "orange", "purple", "green", "grey"}  # meanings, no colours
