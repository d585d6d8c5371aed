"""Fast checks of diffusion2d.evaluation and of the protocol on tiny data (a circle), the exact
denoiser and an untrained tiny model: the baselines' order, the one-step identity, the
memorisation statistics and the protocol figures."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402
from figaudit import audit  # noqa: E402

from diffusion2d import evaluation as ev  # noqa: E402
from diffusion2d import plotting  # noqa: E402
from diffusion2d.data import train_test_split  # noqa: E402
from diffusion2d.exact import ExactDenoiser  # noqa: E402
from diffusion2d.model import DenoisingMLP  # noqa: E402
from diffusion2d.plotting import quality  # noqa: E402
from diffusion2d.training import TrainConfig, split_for  # noqa: E402

SCHEDULE = (1e-4, 0.05, 50)  # the workshop schedule


@pytest.fixture(scope="module")
def circle() -> torch.Tensor:
    angles = torch.linspace(0, 2 * math.pi, 41)[:-1]  # 40 points, spacing ~0.157
    return torch.stack([angles.cos(), angles.sin()], dim=1)


@pytest.fixture(scope="module")
def exact(circle) -> ExactDenoiser:
    return ExactDenoiser(circle, *SCHEDULE)


@pytest.fixture(scope="module")
def untrained() -> DenoisingMLP:
    torch.manual_seed(0)
    return DenoisingMLP(*SCHEDULE, hidden=8, num_blocks=1).eval()


def _small():
    from diffusion2d import protocol as P

    return P.Protocol(num_samples=300, seeds=(0, 1, 2), mmd_samples=150)


def test_baselines_ordering(circle, _protocol_cache):
    from diffusion2d import protocol as P

    ref, small = _ref(circle), _small()
    g, r = P.baseline("gaussian", ref, small), P.baseline("resampled", ref, small)
    # jittered copies lie about 0.01 * sqrt(pi/2) from their point: tiny Chamfer, all close
    assert r["nn_mean"].mean() == pytest.approx(0.0125, rel=0.2)
    assert (r["chamfer"] < 0.05).all() and (g["chamfer"] > 0.05).all()
    assert (r["mmd2"] < 0.0).all() and (g["mmd2"] > 0.0).all()
    assert (r["frac_close"] == 1.0).all() and (g["frac_close"] < 1.0).all()
    # deterministic in the seed: the same rows again, different rows for other seeds
    assert P.baseline("resampled", ref, small).equals(r)
    other = P.Protocol(num_samples=300, seeds=(3, 4, 5), mmd_samples=150)
    assert not P.baseline("resampled", ref, other)["chamfer"].equals(r["chamfer"])


def test_exact_denoiser_beats_untrained(circle, untrained, _protocol_cache):
    from diffusion2d import protocol as P

    ref, small = _ref(circle), _small()
    exact = ExactDenoiser(ref.train, *SCHEDULE)
    a = P.evaluate(exact, ref, "ddpm", protocol=small)
    u = P.evaluate(untrained, ref, "ddpm", protocol=small)
    assert P.compare(a, u, "chamfer") == -1
    assert (a["frac_copies"] > 0.9).all() and (u["frac_copies"] < 0.2).all()
    assert a.notna().all().all() and u.notna().all().all()


def test_gentler_schedule_has_larger_prior_mismatch(circle):
    from diffusion2d import metrics

    harsh = ExactDenoiser(circle, 1e-4, 0.05, 50)
    gentle = ExactDenoiser(circle, 1e-4, 0.02, 50)
    ab_h, ab_g = float(harsh.alpha_bars[-1]), float(gentle.alpha_bars[-1])
    assert ab_h < ab_g
    assert metrics.prior_mismatch_kl(circle, ab_h) < metrics.prior_mismatch_kl(circle, ab_g)


def test_one_step_ddpm_and_ddim_agree(circle, _protocol_cache):
    from diffusion2d import protocol as P

    ref, small = _ref(circle), _small()
    exact = ExactDenoiser(ref.train, *SCHEDULE)
    # one step from x_T: both samplers return the same x0 prediction (eq. 12 with alpha_bar = 1)
    one = {s: P.evaluate(exact, ref, s, num_steps=1, protocol=small) for s in ("ddpm", "ddim")}
    assert one["ddpm"]["chamfer"].to_numpy() == pytest.approx(one["ddim"]["chamfer"].to_numpy())
    full = P.evaluate(exact, ref, "ddim", protocol=small)
    assert P.compare(full, one["ddim"], "chamfer") == -1  # all steps land on the data


def test_memorisation_exact_copies_untrained_does_not(circle, untrained):
    from diffusion2d import protocol as P

    train, heldout = train_test_split(circle, 0.25, seed=0)
    exact = ExactDenoiser(train, *SCHEDULE)
    small = _small()
    ref = P.Reference(train, heldout)
    xs, xu = (P.samples(m, 0, protocol=small)[-1] for m in (exact, untrained))
    st, s = ev.memorisation_of(xs, train, heldout), P.scores(xs, ref, small)
    assert st.sample_to_train.shape == (300,)
    assert st.train_spacing.shape == (len(train),)
    assert st.copy_radius == pytest.approx(0.1 * st.spacing)
    # the protocol's shares use the same copy radius: the copier's samples are all copies
    assert s["frac_copies"] == float((st.sample_to_train <= st.copy_radius).mean())
    assert s["frac_copies"] > 0.95 and (st.sample_to_train <= st.spacing).all()
    assert s["frac_close"] == 1.0 and s["train_coverage"] < 0.01
    # a copier covers held-out points only as well as the nearest training point does
    assert s["heldout_coverage"] == pytest.approx(st.heldout_to_train, abs=0.01)
    su = ev.memorisation_of(xu, train, heldout)
    assert P.scores(xu, ref, small)["frac_copies"] < 0.2
    assert su.heldout_to_train == st.heldout_to_train
    assert st.samples.shape == (300, 2)
    fig = quality.distance_histograms({"exact": st, "untrained": su})
    assert len(fig.axes) == 2
    fig = quality.coverage_figure({"exact": st, "untrained": su}, train, heldout)
    assert len(fig.axes) == 2
    on_top = quality.coverage_figure({"exact": st}, train, heldout, train_on_top=True)
    ax = on_top.axes[0]
    circles = next(c for c in ax.collections if len(c.get_offsets()) == len(train))
    dots = next(c for c in ax.collections if len(c.get_offsets()) == len(st.samples))
    assert circles.get_zorder() > dots.get_zorder()  # the training points over the samples
    assert len(circles.get_facecolor()) == 0 or circles.get_facecolor()[0][3] == 0  # open
    with pytest.raises(ValueError, match="samples"):
        ev.memorisation_of(torch.zeros(3), train, heldout)


def test_split_for_matches_training(dino):
    config = TrainConfig()
    train, heldout = split_for(config, dino)
    expected = train_test_split(dino, config.holdout_fraction, seed=config.seed)
    assert torch.equal(train, expected[0]) and torch.equal(heldout, expected[1])
    assert len(train) + len(heldout) == len(dino)


# --------------------------------------------------------------------------- protocol results


@pytest.fixture
def _protocol_cache(tmp_path, monkeypatch):
    from diffusion2d import cache as cache_mod

    monkeypatch.setenv(cache_mod.ENV_VAR, str(tmp_path))


def _ref(circle):
    from diffusion2d import protocol as P

    train, heldout = train_test_split(circle, 0.25, seed=0)
    return P.Reference(train, heldout)


def test_smooth_samples_copy_at_the_rate_of_a_gaussian_kernel(circle):
    """A point lands within r of its kernel centre with probability 1 - exp(-r^2 / 2h^2)."""
    from diffusion2d.protocol import smooth_samples

    g = torch.Generator().manual_seed(0)
    far = torch.tensor([[0.0, 0.0], [100.0, 0.0]])  # two centres, no overlap
    h, r = 0.2, 0.1
    x = smooth_samples(far, 20_000, h, g)
    d = torch.cdist(x, far).min(1).values
    assert float((d <= r).float().mean()) == pytest.approx(1 - math.exp(-(r**2) / (2 * h**2)),
                                                           abs=0.01)  # fmt: skip
    for bad, match in (({"bandwidth": 0.0}, "bandwidth"), ({"num_samples": 0}, "num_samples")):
        kw = {"points": far, "num_samples": 5, "bandwidth": h, "generator": g} | bad
        with pytest.raises(ValueError, match=match):
            smooth_samples(**kw)


def test_smooth_baseline_and_points_as_samples(circle, _protocol_cache):
    from diffusion2d import protocol as P

    ref = _ref(circle)
    small = P.Protocol(num_samples=300, seeds=(0, 1, 2), mmd_samples=100)
    df = P.baseline("smooth", ref, small, bandwidth=0.05)
    assert list(df.index) == [0, 1, 2] and set(P.METRICS) <= set(df.columns)
    assert df.attrs["bandwidth"] == 0.05
    assert df.equals(P.baseline("smooth", ref, small, bandwidth=0.05))  # deterministic
    # the resampled baseline is the smooth one with the protocol's jitter as bandwidth
    resampled = P.baseline("resampled", ref, small)
    assert resampled.equals(P.baseline("smooth", ref, small, bandwidth=small.jitter))
    with pytest.raises(ValueError, match="bandwidth"):
        P.baseline("smooth", ref, small)
    # the held-out points as samples: no copies, every held-out point covered exactly
    s = P.scores(ref.heldout, ref, small)
    assert s["frac_copies"] == 0.0 and s["heldout_coverage"] == 0.0


def test_chamfer_by_step_and_protocol_figures(circle, exact, _protocol_cache):
    from diffusion2d import protocol as P

    ref = _ref(circle)
    small = P.Protocol(num_samples=100, seeds=(0, 1, 2), mmd_samples=50)
    runs = {s: P.evaluate(exact, ref, s, protocol=small, by_step=True) for s in ("ddpm", "ddim")}
    c = ev.chamfer_by_step(runs["ddpm"])
    assert list(c.index) == list(range(exact.T, -1, -1))
    assert (c["lo"] <= c["mean"]).all() and (c["mean"] <= c["hi"]).all()
    assert c.loc[0, "mean"] == pytest.approx(P.interval(runs["ddpm"], "chamfer")[0])
    with pytest.raises(ValueError, match="by_step=True"):
        ev.chamfer_by_step(P.baseline("gaussian", ref, small))
    with pytest.raises(ValueError, match="by_step=True"):
        ev.chamfer_by_step(P.evaluate(exact, ref, "ddpm", protocol=small))
    fig = quality.chamfer_by_step_plot(runs, {"noise": P.baseline("gaussian", ref, small)})
    assert len(fig.axes[0].collections) == 2  # one band per sampler
    sweep = {(s, k): P.evaluate(exact, ref, s, num_steps=k, protocol=small)
             for s in ("ddpm", "ddim") for k in (2, 5)}  # fmt: skip
    fig = quality.sweep_plot(sweep, {"noise": P.baseline("gaussian", ref, small)})
    assert len(fig.axes) == 2


def test_rms_radius():
    assert ev.rms_radius(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(1.0)


def test_percent_interval_rounds_like_the_protocol():
    from diffusion2d.protocol import format_interval

    assert format_interval(0.079, 0.0038) == "0.0790 ± 0.0038"
    assert format_interval(0.079, 0.0038, percent=True) == "7.90% ± 0.38%"
    assert format_interval(-3.96274, 2e-5) == "-3.9627 ± <0.0001"  # not "± 0.0000"
    assert format_interval(0.5, 0.0) == "0.500 ± 0.000"
    assert format_interval(0.41, 0.012, percent=True) == "41.0% ± 1.2%"
    assert format_interval(1.0, 0.0, percent=True) == "100.0% ± 0.0%"
    assert format_interval(2e-4, 1e-5, percent=True) == "0.02% ± 0.001%"


def test_display_table_plain_labels_and_no_wrap():
    import pandas as pd

    df = pd.DataFrame({"Chamfer": ["0.0670 ± 0.0012"]}, index=pd.Index(["a"], name="seed"))
    html = ev.display_table(df).to_html()
    assert "white-space: nowrap" in html and "font-weight: normal" in html
    assert "td {\n  white-space: nowrap;" in html  # values only: row labels may wrap
    assert ">seed<" not in html and 'class="dataframe"' in html
    assert "white-space" not in ev.display_table(df, nowrap=False).to_html()
    assert ">0.558<" in ev.display_table(pd.DataFrame({"L": [0.558]})).to_html()


def test_quality_keep_the_book_style(circle, exact, untrained, _protocol_cache):
    """Every text at least plotting.MIN_FONT points, each figure within the column or the
    full-width layout it declares, every colour from the palette; both samplers told apart by a
    second cue (marker and line style), not by colour alone."""
    from diffusion2d import protocol as P

    small = P.Protocol(num_samples=100, seeds=(0, 1, 2), mmd_samples=50)
    ref = _ref(circle)
    runs = {s: P.evaluate(exact, ref, s, protocol=small, by_step=True) for s in ("ddpm", "ddim")}
    sweep = {(s, k): P.evaluate(exact, ref, s, num_steps=k, protocol=small)
             for s in ("ddpm", "ddim") for k in (2, 5)}  # fmt: skip
    noise = {"noise": P.baseline("gaussian", ref, small)}
    train, heldout = train_test_split(circle, 0.2, seed=0)
    stats = {name: ev.memorisation_of(P.samples(m, 0, protocol=small)[-1], train, heldout)
             for name, m in (("exact", exact), ("untrained", untrained), ("again", exact))}
    figures = {
        "chamfer_by_step_plot": quality.chamfer_by_step_plot(runs, noise),
        "sweep_plot": quality.sweep_plot(sweep, noise),
        "distance_histograms": quality.distance_histograms(stats),
        "coverage_figure": quality.coverage_figure(stats, train, heldout),
    }
    for name, fig in figures.items():
        report = audit(fig)
        assert report["min_font"] >= plotting.MIN_FONT, (name, report)
        assert report["width"] <= report["max_width"] + 1e-6, (name, report)
        assert not report["foreign_colors"], (name, report)
    ddpm, ddim = figures["chamfer_by_step_plot"].axes[0].lines[:2]
    assert ddpm.get_marker() != ddim.get_marker() and ddpm.get_linestyle() != ddim.get_linestyle()


def test_a_reference_line_is_named_on_the_side_away_from_the_curves():
    """A floor under the curves gets its name below the line, a ceiling above it, and neither
    name covers a point of a curve (Fig. 8.1's "resampled dino" once sat on the curves)."""
    import pandas as pd
    from matplotlib.transforms import Bbox

    def rows(value):
        return pd.DataFrame({"chamfer": [value, value + 1e-3, value - 1e-3]}).rename_axis("seed")

    sweep = {(s, k): rows(0.3 / k + (0.01 if s == "ddpm" else 0.0))
             for s in ("ddpm", "ddim") for k in (2, 5, 10, 25, 50)}  # fmt: skip
    fig = quality.sweep_plot(sweep, {"floor": rows(0.005), "ceiling": rows(0.2)},
                             columns=("chamfer",))
    ax = fig.axes[0]
    fig.canvas.draw()
    names = {t.get_text(): t for t in ax.texts}
    assert names["floor"].get_va() == "top" and names["ceiling"].get_va() == "bottom"
    points = [p for line in ax.lines if line.get_label() in ("DDPM", "DDIM")
              for p in ax.transData.transform(line.get_xydata())]
    for text in names.values():
        box = Bbox(text.get_window_extent())
        assert not any(box.contains(x, y) for x, y in points), text.get_text()
    floor_y = ax.transData.transform((1, 0.005))[1]
    assert names["floor"].get_window_extent().y0 >= ax.bbox.y0 - 1  # inside the axes
    assert floor_y > ax.bbox.y0


def test_markdown_table_aligns_numbers_right_and_never_breaks_a_value():
    import pandas as pd

    df = pd.DataFrame({"Chamfer": ["0.0670 ± 0.0012", "0.1290 ± <0.0001"], "steps": [50, 10],
                       "loss": [0.12345, 2.0], "note": ["a|b", "two words"]},
                      index=["v3", "exact denoiser"])
    lines = ev.markdown_table(df).data.split("\n")
    assert lines[0] == "|  | Chamfer | steps | loss | note |"
    assert lines[1] == "| :-- | --: | --: | --: | :-- |"  # labels and text left, numbers right
    nb = ev.NBSP
    assert lines[2] == f"| v3 | 0.0670{nb}±{nb}0.0012 | 50 | 0.123 | a\\|b |"
    assert lines[3] == f"| exact denoiser | 0.1290{nb}±{nb}<0.0001 | 10 | 2.000 | two words |"
    wrapped = ev.markdown_table(df, precision=1, nowrap=False).data
    assert "| 0.1 |" in wrapped and "two words" in wrapped
    assert f"| 0.0670 ±{nb}0.0012 |" in wrapped  # breaks only before the "±"
    named = ev.markdown_table(df.rename_axis("model").assign(epochs=[2000, "–"])).data
    assert named.startswith("| model |") and named.split("\n")[1].endswith("--: |")
    assert "| 0.12345 |" in ev.markdown_table(df, precision=None).data
    with pytest.raises(TypeError, match="df must be a pandas DataFrame"):
        ev.markdown_table([[1, 2]])
