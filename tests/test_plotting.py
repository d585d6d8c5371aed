"""Fast checks of the figure helpers (plotting), on Agg; animations: tests/test_animation.py."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figaudit import audit  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402

from diffusion2d import plotting  # noqa: E402
from diffusion2d.plotting.points import PANEL, arrows, panel_grid, scaled_arrows  # noqa: E402
from diffusion2d.plotting.style import (  # noqa: E402
    DPI,
    OKABE_ITO,
    PAD,
    PNG_COLORS,
    RUNS,
    SAMPLERS,
    SAVE_DPI,
    STYLE,
    compress_png,
    fit,
)
from diffusion2d.schedules import get_diffusion_parameters  # noqa: E402
from diffusion2d.training import TrainHistory  # noqa: E402

XR, YR = (-1.0, 1.0, 0.5), (-1.0, 1.0, 0.5)  # a 4 x 4 grid


@pytest.fixture
def cloud() -> torch.Tensor:
    return torch.randn(30, 2, generator=torch.Generator().manual_seed(0))


def _collections(ax, kind):
    return [c for c in ax.collections if isinstance(c, kind)]


def _grids(T: int = 3) -> list[np.ndarray]:
    gx, _ = np.meshgrid(np.arange(*XR), np.arange(*YR))
    rng = np.random.default_rng(0)
    return [np.zeros(gx.shape + (2,))] + [rng.normal(size=gx.shape + (2,)) for _ in range(T)]


def test_scatter_has_points_equal_aspect_and_fixed_limits(cloud):
    fig = plotting.scatter(cloud, title="dino")
    (ax,) = fig.axes
    (points,) = _collections(ax, PathCollection)
    assert points.get_offsets().shape == (30, 2)
    assert ax.get_aspect() == 1.0
    assert ax.get_xlim() == plotting.LIMITS and ax.get_ylim() == plotting.LIMITS
    assert ax.get_title() == "dino" and ax.get_xlabel()


def test_scatter_accepts_numpy(cloud):
    fig = plotting.scatter(cloud.numpy(), kind="samples")
    assert isinstance(fig, matplotlib.figure.Figure)


def test_noised_grid_one_panel_per_step(cloud):
    xs = [cloud * (1 - k / 10) for k in range(11)]
    _, _, ab = get_diffusion_parameters(1e-4, 0.05, 10)
    fig = plotting.noised_grid(xs, [0, 5, 10], alpha_bars=ab)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3
    assert visible[0].get_title().startswith("t = 0")
    assert f"{float(ab[-1]):.2f}" in visible[2].get_title()
    with pytest.raises(ValueError, match="must lie in"):
        plotting.noised_grid(xs, [11], ab)


def test_scatter_grid_hides_unused_panels(cloud):
    fig = plotting.scatter_grid([cloud] * 5, [str(i) for i in range(5)], ncols=3)
    assert sum(ax.get_visible() for ax in fig.axes) == 5
    with pytest.raises(ValueError, match="one title per cloud"):
        plotting.scatter_grid([cloud] * 2, ["a"])


def test_schedule_plot_four_quantities_snr_log():
    sched = get_diffusion_parameters(1e-4, 0.05, 50)
    fig = plotting.schedule_plot(sched)
    assert len(fig.axes) == 3
    assert [len(ax.lines) for ax in fig.axes] == [1, 2, 1]
    assert fig.axes[2].get_yscale() == "log"
    two = plotting.schedule_plot({"a": sched, "b": get_diffusion_parameters(1e-4, 0.02, 50)})
    assert [len(ax.lines) for ax in two.axes] == [2, 4, 2]


def test_schedule_plot_rejects_bad_schedule():
    b, a, ab = get_diffusion_parameters(1e-4, 0.05, 50)
    with pytest.raises(ValueError, match="same length"):
        plotting.schedule_plot((b, a, ab[:10]))
    with pytest.raises(ValueError, match="triple"):
        plotting.schedule_plot((b, a))


def test_drift_quiver_one_quiver_per_step(cloud):
    fig = plotting.drift_quiver(_grids(), [1, 3], data=cloud, xrange=XR, yrange=YR)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2
    for ax in visible:
        assert len(_collections(ax, Quiver)) == 1
        assert ax.get_aspect() == 1.0
    with pytest.raises(ValueError, match="shape"):
        plotting.drift_quiver(_grids(), [1], xrange=(-1, 1, 0.25), yrange=YR)
    with pytest.raises(ValueError, match="outside"):
        plotting.drift_quiver(_grids(), [0], xrange=XR, yrange=YR)


def test_scaled_arrows_clips_long_vectors():
    v = np.array([[1.0, 0.0], [2.0, 0.0], [100.0, 0.0]])
    out, factor = scaled_arrows(v, spacing=1.0, typical=0.5, longest=1.0)
    assert factor == pytest.approx(0.25)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), [0.25, 0.5, 1.0])


def test_loss_curves_of_one_history_train_and_held_out():
    h = TrainHistory(epochs=[1, 2, 3], train_loss=[1.0, 0.5, 0.4], test_loss=[1.1, 0.7, 0.6])
    fig = plotting.loss_curves(h)
    (ax,) = fig.axes
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "held-out"]
    assert [line.get_color() for line in ax.lines] == [plotting.COLORS["train"],
                                                       plotting.COLORS["test"]]  # fmt: skip
    with pytest.raises(ValueError, match="expected"):
        plotting.loss_curves(TrainHistory(epochs=[1, 2, 3], train_loss=[1.0, 0.5],
                                          test_loss=[1.0, 0.5, 0.4]))  # fmt: skip
    with pytest.raises(ValueError, match="expected"):
        plotting.loss_curves(TrainHistory(epochs=[1, 2], train_loss=[1.0, 0.5], test_loss=[1.0]))


def test_scatter_of_samples_over_data(cloud):
    fig = plotting.scatter(torch.randn(100, 2), kind="samples", data=cloud)
    (ax,) = fig.axes
    sizes = sorted(len(c.get_offsets()) for c in _collections(ax, PathCollection))
    assert sizes == [30, 100]
    assert ax.get_aspect() == 1.0
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["data", "samples"]


@pytest.mark.parametrize("bad", [torch.zeros(5, 3), torch.zeros(5), np.zeros((2, 2, 2))])
def test_wrong_point_shapes_raise(bad, cloud):
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plotting.scatter(bad)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plotting.scatter(bad, kind="samples", data=cloud)
    with pytest.raises(ValueError, match=r"data must have shape \(N, 2\)"):
        plotting.scatter(cloud, data=bad)


# --------------------------------------------------------------------------- the book's one style


def _history(k: int):
    epochs = np.arange(1, 101)
    train = 0.3 + 0.6 * np.exp(-epochs / (20 * k))
    return TrainHistory(epochs=list(epochs), train_loss=list(train), test_loss=list(train + 0.05),
                        seconds=1.0)  # fmt: skip


def _helpers():
    """Every figure helper of plotting, with small realistic inputs (a 60-point cloud, T = 20)."""
    g = torch.Generator().manual_seed(0)
    cloud = torch.randn(60, 2, generator=g)
    T = 20
    sched = get_diffusion_parameters(1e-4, 0.05, T)
    xs = [cloud * (1 - k / (2 * T)) for k in range(T + 1)]
    hist = {f"experiment {k}": _history(k) for k in range(1, 5)}
    x1 = np.linspace(-2.5, 2.5, 200)
    freqs = np.logspace(0, 1.3, 16) / 2
    temb = np.sin(np.arange(T)[:, None] * np.linspace(0.01, 1, 32))
    return {
        "scatter": lambda: plotting.scatter(cloud, title="dino (z-normalised)"),
        "scatter_grid (13 shapes, full width)": lambda: plotting.scatter_grid(
            [cloud] * 13, [f"shape {i}" for i in range(13)], width=plotting.FULL_WIDTH),
        "scatter_grid (samples over data)": lambda: plotting.scatter_grid(
            [cloud * 0.9] * 4, [f"experiment {k}" for k in range(1, 5)], kind="samples",
            data=cloud, width=plotting.FULL_WIDTH),
        "scatter_grid (column)": lambda: plotting.scatter_grid(
            [cloud] * 3, ["a", "b", "c"], kind="samples"),
        "noised_grid": lambda: plotting.noised_grid(xs, [0, 5, 10, 20], alpha_bars=sched[2]),
        "schedule_plot": lambda: plotting.schedule_plot(sched),
        "schedule_plot (two)": lambda: plotting.schedule_plot(
            {"beta_max = 0.05": sched, "beta_max = 0.02": get_diffusion_parameters(1e-4, 0.02, T)}),
        "drift_quiver": lambda: plotting.drift_quiver(
            _grids(5), [1, 2, 3, 4, 5], data=cloud, xrange=XR, yrange=YR),
        "scatter (samples over data)": lambda: plotting.scatter(
            cloud * 0.9, title="t", kind="samples", data=cloud),
        "loss_curves (one history)": lambda: plotting.loss_curves(hist["experiment 1"], title="t"),
        "loss_curves": lambda: plotting.loss_curves(
            {"2000 epochs": hist["experiment 1"], "4000 epochs": hist["experiment 2"]}, title="t"),
        "loss_comparison": lambda: plotting.loss_comparison(hist),
        "embeddings_figure": lambda: plotting.embeddings_figure(
            x1, np.sin(2 * np.pi * x1[:, None] * freqs), freqs, temb),
    }  # fmt: skip


@pytest.mark.parametrize("name", list(_helpers()))
def test_every_figure_keeps_the_book_style(name):
    """At its displayed size every text is at least MIN_FONT points (at least 11 CSS px even
    when shrunk to 88 %), the figure fits the column (or the full-width layout it declares), and
    every colour comes from the palette."""
    fig = _helpers()[name]()
    report = audit(fig)
    assert report["min_font"] >= plotting.MIN_FONT, report
    assert report["min_font"] * DPI / 72 * 0.88 >= 11
    assert report["width"] <= report["max_width"] + 1e-6, report
    assert not report["foreign_colors"], report
    plt_close(fig)


def plt_close(fig) -> None:
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_audit_catches_small_text_wide_figures_and_foreign_colours():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2))
    ax.plot([0, 1], [0, 1], color="tab:red")
    ax.set_title("tiny", fontsize=7)
    report = audit(fig)
    assert report["min_font"] == 7
    assert report["width"] > report["max_width"] == plotting.COLUMN_WIDTH + 2 * PAD
    assert report["foreign_colors"] == {"#d62728"}
    assert audit(fit(fig))["max_width"] == plotting.FULL_WIDTH + 0.2
    plt.close(fig)


def test_style_sets_fonts_dpi_and_palette_in_one_place():
    s = STYLE
    assert s["savefig.dpi"] == SAVE_DPI == 2 * s["figure.dpi"] == 200
    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.titlesize",
                "axes.labelsize", "font.size"):  # fmt: skip
        assert s[key] >= plotting.MIN_FONT
    cycle = [c.lower() for c in s["axes.prop_cycle"].by_key()["color"]]
    assert set(cycle) <= {c.lower() for c in OKABE_ITO.values()}
    assert set(plotting.COLORS) <= set(plotting.CUES)
    assert plotting.CUES["pred_noise"]["linestyle"] != plotting.CUES["noise"]["linestyle"]
    assert plotting.CUES["test"]["linestyle"] != plotting.CUES["train"]["linestyle"]
    ddpm, ddim = SAMPLERS.values()
    assert ddpm["marker"] != ddim["marker"] and ddpm["linestyle"] != ddim["linestyle"]
    assert len({r["marker"] for r in RUNS}) == len(RUNS)


def test_use_style_outside_ipython_only_sets_rcparams():
    from IPython.core.interactiveshell import InteractiveShell

    with matplotlib.rc_context():
        plotting.use_style()
        assert matplotlib.rcParams["savefig.dpi"] == 200
        assert matplotlib.rcParams["xtick.labelsize"] == plotting.MIN_FONT
    assert not InteractiveShell.initialized()  # no shell was created on the way


def test_use_style_in_ipython_shows_png_at_twice_the_logical_size():
    """In an IPython shell the figure's PNG has 2 device px per CSS px, and its width metadata
    (what myst-nb writes onto the <img>; no height, so narrow screens keep the aspect) is half
    the PNG's pixels (in a fresh process, so no shell leaks into the other tests)."""
    import subprocess
    import sys

    code = """
import matplotlib; matplotlib.use("Agg")
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
from diffusion2d import plotting
plotting.use_style()
import torch
fig = plotting.scatter(torch.zeros(3, 2))
printer = ip.display_formatter.formatters["image/png"].lookup(fig)  # what a kernel calls
data, meta = printer(fig)
import base64, io
from PIL import Image
w, h = Image.open(io.BytesIO(base64.b64decode(data))).size
plotting.use_style()  # a second call keeps one wrapper
data, meta2 = ip.display_formatter.formatters["image/png"].lookup(fig)(fig)
assert meta2 == meta and "height" not in meta, meta  # the height follows from the aspect
print(Image.open(io.BytesIO(base64.b64decode(data))).mode)  # a palette PNG
print(w, h, meta["width"], round(h * meta["width"] / w))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-5] == "P"
    w, h, mw, mh = map(int, out.stdout.split()[-4:])
    assert abs(w - 2 * mw) <= 1 and abs(h - 2 * mh) <= 1  # metadata: half, rounded down
    assert abs(mw - 3.4 * DPI) < 15  # the logical size: 100 CSS px per inch


def test_log_axes_have_plain_tick_labels():
    fig = plotting.loss_comparison({"a": _history(1), "b": _history(2)})
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels() + ax.get_yticklabels(minor=True)
              if t.get_text()]  # fmt: skip
    assert labels and all("e" not in s and "×" not in s and "^" not in s for s in labels)
    assert {"0.4", "0.6"} <= set(labels)
    snr = plotting.schedule_plot(get_diffusion_parameters(1e-4, 0.05, 50)).axes[2]
    snr.figure.canvas.draw()
    assert {"1", "10", "100", "1000"} <= {t.get_text() for t in snr.get_yticklabels()}


def test_loss_comparison_shares_one_axis_range_and_names_every_run():
    hist = {f"experiment {k}": _history(k) for k in range(1, 5)}
    fig = plotting.loss_comparison(hist)
    train, held_out = fig.axes
    assert train.get_ylim() == held_out.get_ylim()
    assert [len(ax.lines) for ax in fig.axes] == [4, 4]
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == list(hist)
    assert {line.get_linestyle() for line in held_out.lines} == {"--"}
    with pytest.raises(ValueError, match="histories"):
        plotting.loss_comparison({})


def test_panel_grid_fits_the_width():
    import matplotlib.pyplot as plt

    fig, axes, _ = panel_grid(5, None, plotting.FULL_WIDTH)
    assert axes.shape == (1, 5)
    fig, axes, side = panel_grid(13, None, plotting.COLUMN_WIDTH)
    (rows, cols) = axes.shape
    assert rows * cols >= 13 and cols * side + 0.55 <= plotting.COLUMN_WIDTH + 1e-9
    assert fig.get_size_inches()[0] <= plotting.COLUMN_WIDTH
    assert panel_grid(2, None, plotting.COLUMN_WIDTH)[2] == PANEL
    plt.close("all")
    with pytest.raises(ValueError, match="n must"):
        panel_grid(0, None, 5.0)
    with pytest.raises(ValueError, match="width"):
        plotting.scatter_grid([torch.zeros(3, 2)], ["a"], width=20)


def test_scatter_grid_wider_than_the_column_is_marked_full_width(cloud):
    wide = plotting.scatter_grid([cloud] * 5, list("abcde"), ncols=5, width=plotting.FULL_WIDTH)
    narrow = plotting.scatter_grid([cloud] * 5, list("abcde"))
    assert getattr(wide, "full_width", False) and not getattr(narrow, "full_width", False)
    assert wide.get_size_inches()[0] <= plotting.FULL_WIDTH


def test_data_is_grey_dots_beneath_and_samples_blue_on_top(cloud):
    fig = plotting.scatter(cloud * 0.5, kind="samples", data=cloud)
    (ax,) = fig.axes
    data, samples = _collections(ax, PathCollection)
    assert matplotlib.colors.to_hex(data.get_facecolor()[0]) == plotting.COLORS["data"].lower()
    assert matplotlib.colors.to_hex(samples.get_facecolor()[0]) == (
        plotting.COLORS["samples"].lower())
    assert data.get_zorder() < samples.get_zorder()


def test_arrows_by_meaning_dashed_open_predicted_noise_and_no_zero_arrows():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    pts = np.zeros((3, 2))
    vec = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    arrows(ax, pts, vec, "pred_noise")
    arrows(ax, pts, vec, "noise")
    arrows(ax, pts, np.zeros((3, 2)), "noise")  # nothing to draw
    (noise,) = _collections(ax, Quiver)  # the added noise: filled arrows
    assert noise.N == 2
    assert matplotlib.colors.to_hex(noise.get_facecolor()[0]) == plotting.COLORS["noise"].lower()
    # the predicted noise: dashed shafts and open, solid heads (2 arrows: the zero one dropped)
    shafts, heads = (c for c in _collections(ax, LineCollection) if not isinstance(c, Quiver))
    assert len(shafts.get_segments()) == len(heads.get_segments()) == 2
    assert shafts.get_linestyle()[0][1] is not None and heads.get_linestyle()[0][1] is None
    for c in (shafts, heads):
        assert matplotlib.colors.to_hex(c.get_color()[0]) == plotting.COLORS["pred_noise"].lower()
    tips = [seg[1] for seg in heads.get_segments()]  # each head's middle point is the tip
    assert np.allclose(tips, [[1.0, 0.0], [0.0, 1.0]])
    plt.close(fig)


def test_embeddings_figure_checks_shapes():
    x1, f = np.linspace(-1, 1, 10), np.array([0.5, 1.0, 2.0])
    fig = plotting.embeddings_figure(x1, np.sin(x1[:, None] * f), f, np.zeros((5, 4)))
    assert len(fig.axes[0].lines) == 3
    with pytest.raises(ValueError, match="position_features"):
        plotting.embeddings_figure(x1, np.zeros((10, 2)), f, np.zeros((5, 4)))
    with pytest.raises(ValueError, match="time_features"):
        plotting.embeddings_figure(x1, np.zeros((10, 3)), f, np.zeros(5))


def test_compress_png_keeps_the_picture_in_fewer_bytes(cloud):
    import io

    from PIL import Image

    fig = plotting.scatter(cloud * 0.5, "samples", kind="samples", data=cloud)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=SAVE_DPI)
    small = compress_png(buf.getvalue())
    assert len(small) < 0.6 * len(buf.getvalue())
    with Image.open(buf) as a, Image.open(io.BytesIO(small)) as b:
        assert a.size == b.size and b.mode == "P" and len(b.getcolors(1024)) <= PNG_COLORS
        diff = np.abs(np.asarray(a.convert("RGB"), int) - np.asarray(b.convert("RGB"), int))
    assert diff.mean() < 2 and diff.max() < 40
