"""Fast checks of the figure helpers (plotting) and the GIF writers (animation), on Agg."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.quiver import Quiver  # noqa: E402
from PIL import Image  # noqa: E402

from diffusion2d import animation, plotting  # noqa: E402
from diffusion2d.schedules import get_diffusion_parameters  # noqa: E402

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
        plotting.noised_grid(xs, [11])


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
    out, factor = plotting.scaled_arrows(v, spacing=1.0, typical=0.5, longest=1.0)
    assert factor == pytest.approx(0.25)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), [0.25, 0.5, 1.0])


def test_loss_curve_train_and_held_out():
    fig = plotting.loss_curve([1, 2, 3], [1.0, 0.5, 0.4], [1.1, 0.7, 0.6])
    (ax,) = fig.axes
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train", "held-out"]
    assert len(plotting.loss_curve([1, 2], [1.0, 0.5]).axes[0].lines) == 1
    with pytest.raises(ValueError, match="expected"):
        plotting.loss_curve([1, 2, 3], [1.0, 0.5])
    with pytest.raises(ValueError, match="expected"):
        plotting.loss_curve([1, 2], [1.0, 0.5], [1.0])


def test_samples_over_data(cloud):
    fig = plotting.samples_over_data(torch.randn(100, 2), cloud)
    (ax,) = fig.axes
    sizes = sorted(len(c.get_offsets()) for c in _collections(ax, PathCollection))
    assert sizes == [30, 100]
    assert ax.get_aspect() == 1.0


@pytest.mark.parametrize("bad", [torch.zeros(5, 3), torch.zeros(5), np.zeros((2, 2, 2))])
def test_wrong_point_shapes_raise(bad, cloud):
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plotting.scatter(bad)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        plotting.samples_over_data(bad, cloud)


def _gif_info(path):
    with Image.open(path) as im:
        return im.format, im.n_frames, im.size


def test_points_gif_frames_size_and_gitignore(tmp_path, cloud):
    frames = [cloud * (1 - k / 10) for k in range(11)]
    arrows = {"noise": [torch.ones_like(cloud) * 0.1] * 11, "pred_noise": [-cloud * 0.1] * 11}
    path = animation.points_gif(
        frames,
        tmp_path / "new" / "a.gif",
        arrows=arrows,
        data=cloud,
        tail=3,
        titles=[f"{k}" for k in range(11)],
        every=3,
    )
    fmt, n, size = _gif_info(path)
    assert fmt == "GIF" and n == 5  # frames 0, 3, 6, 9 and the last
    assert max(size) < 300 and path.stat().st_size < 200_000
    assert (tmp_path / "new" / ".gitignore").read_text().strip() == "*"


def test_forward_noising_gif(tmp_path, cloud):
    xs = [cloud * (1 - k / 5) for k in range(6)]
    _, _, ab = get_diffusion_parameters(1e-4, 0.05, 5)
    path = animation.forward_noising_gif(xs, tmp_path / "f.gif", alpha_bars=ab)
    assert _gif_info(path)[:2] == ("GIF", 6)
    assert path.stat().st_size < 200_000


def test_drift_field_gif(tmp_path, cloud):
    path = animation.drift_field_gif(
        _grids(3), tmp_path / "d.gif", data=cloud, xrange=XR, yrange=YR
    )
    assert _gif_info(path)[:2] == ("GIF", 3)
    with pytest.raises(ValueError, match="outside"):
        animation.drift_field_gif(_grids(3), tmp_path / "e.gif", steps=[0, 1], xrange=XR, yrange=YR)


def test_gif_bad_input(tmp_path, cloud):
    with pytest.raises(ValueError, match="at least 2 frames"):
        animation.points_gif([cloud], tmp_path / "x.gif")
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        animation.points_gif([cloud, torch.zeros(30, 3)], tmp_path / "x.gif")
    with pytest.raises(ValueError, match="one title per frame"):
        animation.points_gif([cloud, cloud], tmp_path / "x.gif", titles=["a"])
    with pytest.raises(ValueError, match="unknown arrow kind"):
        animation.points_gif([cloud, cloud], tmp_path / "x.gif", arrows={"bogus": [cloud, cloud]})
    with pytest.raises(ValueError, match="has shape"):
        animation.points_gif(
            [cloud, cloud], tmp_path / "x.gif", arrows={"noise": [cloud, cloud[:5]]}
        )
    with pytest.raises(ValueError, match="tail"):
        animation.points_gif([cloud, cloud[:5]], tmp_path / "x.gif", tail=2)
    with pytest.raises(ValueError, match=r"\.gif"):
        animation.points_gif([cloud, cloud], tmp_path / "x.png")
    assert not list(tmp_path.glob("*.gif"))


def test_show_embeds_gif(tmp_path, cloud):
    path = animation.points_gif([cloud, cloud + 1], tmp_path / "s.gif")
    img = animation.show(path)
    assert img.format == "gif" and img.data[:3] == b"GIF"
