"""Fast checks of diffusion2d.evaluation on tiny data (a circle), the exact denoiser and an
untrained tiny model: values of the metrics, the baselines' order, complete tables, the sweep
and the memorisation statistics."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from diffusion2d import evaluation as ev  # noqa: E402
from diffusion2d.data import train_test_split  # noqa: E402
from diffusion2d.exact import ExactDenoiser  # noqa: E402
from diffusion2d.model import DenoisingMLP  # noqa: E402
from diffusion2d.training import TrainConfig  # noqa: E402

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


def test_identical_sets_score_perfectly(circle):
    m = ev.sample_metrics(circle, circle)
    assert set(m) == set(ev.METRICS)
    assert m["chamfer"] == 0.0
    assert m["nn_mean"] == 0.0
    assert m["frac_close"] == 1.0
    assert m["mmd2"] <= 0.0  # unbiased MMD^2 of a set against itself: below zero (see docstring)


def test_baselines_ordering(circle):
    b = ev.baselines(circle, num_samples=500, seed=0)
    assert set(b) == {"gaussian", "resampled"}
    g, r = b["gaussian"], b["resampled"]
    # jittered copies lie about 0.01 * sqrt(pi/2) from their point: tiny Chamfer, all close
    assert r["nn_mean"] == pytest.approx(0.0125, rel=0.2)
    assert r["chamfer"] < 0.05 < g["chamfer"]
    assert r["mmd2"] < 0.0 < g["mmd2"]
    assert r["frac_close"] == 1.0 > g["frac_close"]
    # deterministic in the seed
    assert ev.baselines(circle, num_samples=500, seed=0) == b
    assert ev.baselines(circle, num_samples=500, seed=1) != b


def test_evaluate_is_seeded_and_exact_denoiser_beats_untrained(circle, exact, untrained):
    a = ev.evaluate(exact, circle, num_samples=300, seed=3)
    assert a == ev.evaluate(exact, circle, num_samples=300, seed=3)
    assert a["chamfer"] < 0.05 and a["frac_close"] == 1.0
    u = ev.evaluate(untrained, circle, num_samples=300, seed=3)
    assert u["chamfer"] > 2 * a["chamfer"]
    for value in (*a.values(), *u.values()):
        assert math.isfinite(value)


def test_results_table_rows_complete(circle, exact, untrained):
    table = ev.results_table(
        {"exact": exact, "mlp": untrained}, circle, {"exact": "copies points"}, num_samples=200
    )
    assert [r["name"] for r in table.rows] == ["gaussian", "resampled", "exact", "mlp"]
    assert table.columns == (*ev.METRICS, "alpha_bar_T", "prior_kl")
    for r in table.rows:
        assert set(table.columns) <= set(r)
        assert all(r[c] is not None for c in ev.METRICS)
    for name in ("exact", "mlp"):
        r = table.row(name)
        assert r["alpha_bar_T"] == pytest.approx(float(exact.alpha_bars[-1]))
        assert r["prior_kl"] > 0
    assert table.row("resampled")["prior_kl"] is None
    assert table.row("exact")["description"] == "copies points"
    md = table.markdown()
    assert md == table._repr_markdown_()
    assert len(md.splitlines()) == 2 + len(table.rows)
    assert all(line.count("|") == len(table.columns) + 3 for line in md.splitlines())
    with pytest.raises(KeyError, match="no row named"):
        table.row("v9")


def test_gentler_schedule_has_larger_prior_mismatch(circle):
    harsh = ExactDenoiser(circle, 1e-4, 0.05, 50)
    gentle = ExactDenoiser(circle, 1e-4, 0.02, 50)
    table = ev.results_table({"harsh": harsh, "gentle": gentle}, circle, num_samples=100)
    assert table.row("harsh")["alpha_bar_T"] < table.row("gentle")["alpha_bar_T"]
    assert table.row("harsh")["prior_kl"] < table.row("gentle")["prior_kl"]


def test_steps_sweep_keys_and_one_step_identity(circle, exact):
    sweep = ev.steps_sweep(exact, circle, (1, 5, 50), num_samples=200, seed=0)
    assert set(sweep) == {(s, k) for s in ("ddpm", "ddim") for k in (1, 5, 50)}
    # one step from x_T: both samplers return the same x0 prediction (eq. 12 with alpha_bar = 1)
    assert sweep["ddpm", 1] == pytest.approx(sweep["ddim", 1])
    # the exact denoiser with all steps lands on the data
    assert sweep["ddim", 50]["chamfer"] < sweep["ddim", 1]["chamfer"]
    assert ev.steps_sweep(exact, circle, (50,), ("ddpm",), num_samples=200)["ddpm", 50] == (
        ev.evaluate(exact, circle, num_samples=200)
    )
    with pytest.raises(ValueError, match="samplers must be among"):
        ev.steps_sweep(exact, circle, (5,), ("euler",))
    fig = ev.steps_plot(sweep, ev.baselines(circle, num_samples=200))
    assert len(fig.axes) == 2


def test_memorisation_exact_copies_untrained_does_not(circle, untrained):
    train, heldout = train_test_split(circle, 0.25, seed=0)
    exact = ExactDenoiser(train, *SCHEDULE)
    st = ev.memorisation(exact, train, heldout, num_samples=400, seed=0)
    assert st.sample_to_train.shape == (400,)
    assert st.train_spacing.shape == (len(train),)
    assert st.copy_radius == pytest.approx(0.1 * st.spacing)
    assert st.frac_copies > 0.95 and st.frac_close == 1.0
    assert st.train_coverage < 0.01
    # a copier covers held-out points only as well as the nearest training point does
    assert st.heldout_coverage == pytest.approx(st.heldout_to_train, abs=0.01)
    su = ev.memorisation(untrained, train, heldout, num_samples=400, seed=0)
    assert su.frac_copies < 0.2 and su.heldout_to_train == st.heldout_to_train
    assert st.samples.shape == (400, 2)
    fig = ev.distance_histograms({"exact": st, "untrained": su})
    assert len(fig.axes) == 2
    fig = ev.coverage_figure({"exact": st, "untrained": su}, train, heldout)
    assert len(fig.axes) == 2


def test_split_for_matches_training(dino):
    config = TrainConfig()
    train, heldout = ev.split_for(config, dino)
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


def test_memorisation_of_matches_memorisation(circle, exact):
    train, heldout = train_test_split(circle, 0.25, seed=0)
    st = ev.memorisation(exact, train, heldout, num_samples=200, seed=0)
    again = ev.memorisation_of(torch.from_numpy(st.samples), train, heldout)
    assert again.frac_copies == st.frac_copies and again.heldout_coverage == st.heldout_coverage
    with pytest.raises(ValueError, match="samples"):
        ev.memorisation_of(torch.zeros(3), train, heldout)


def test_smooth_samples_copy_at_the_rate_of_a_gaussian_kernel(circle):
    """A point lands within r of its kernel centre with probability 1 - exp(-r^2 / 2h^2)."""
    g = torch.Generator().manual_seed(0)
    far = torch.tensor([[0.0, 0.0], [100.0, 0.0]])  # two centres, no overlap
    h, r = 0.2, 0.1
    x = ev.smooth_samples(far, 20_000, h, g)
    d = torch.cdist(x, far).min(1).values
    assert float((d <= r).float().mean()) == pytest.approx(1 - math.exp(-(r**2) / (2 * h**2)),
                                                           abs=0.01)  # fmt: skip
    for bad, match in (({"bandwidth": 0.0}, "bandwidth"), ({"num_samples": 0}, "num_samples")):
        kw = {"points": far, "num_samples": 5, "bandwidth": h, "generator": g} | bad
        with pytest.raises(ValueError, match=match):
            ev.smooth_samples(**kw)


def test_smooth_baseline_and_points_as_samples(circle, _protocol_cache):
    from diffusion2d import protocol as P

    ref = _ref(circle)
    small = P.Protocol(num_samples=300, seeds=(0, 1, 2), mmd_samples=100)
    df = ev.smooth_baseline(ref, 0.05, small)
    assert list(df.index) == [0, 1, 2] and set(P.METRICS) <= set(df.columns)
    assert df.attrs["bandwidth"] == 0.05
    assert df.equals(ev.smooth_baseline(ref, 0.05, small))  # deterministic
    # the held-out points as samples: no copies, every held-out point covered exactly
    s = ev.points_as_samples(ref.heldout, ref, small)
    assert s["frac_copies"] == 0.0 and s["heldout_coverage"] == 0.0


def test_chamfer_by_step_and_protocol_figures(circle, exact, _protocol_cache):
    from diffusion2d import protocol as P

    ref = _ref(circle)
    small = P.Protocol(num_samples=100, seeds=(0, 1, 2), mmd_samples=50)
    runs = {s: P.evaluate(exact, ref, s, protocol=small) for s in ("ddpm", "ddim")}
    c = ev.chamfer_by_step(runs["ddpm"])
    assert list(c.index) == list(range(exact.T, -1, -1))
    assert (c["lo"] <= c["mean"]).all() and (c["mean"] <= c["hi"]).all()
    assert c.loc[0, "mean"] == pytest.approx(P.interval(runs["ddpm"], "chamfer")[0])
    with pytest.raises(ValueError, match="chamfer_by_step"):
        ev.chamfer_by_step(P.baseline("gaussian", ref, small))
    fig = ev.chamfer_by_step_plot(runs, {"noise": P.baseline("gaussian", ref, small)})
    assert len(fig.axes[0].collections) == 2  # one band per sampler
    sweep = {(s, k): P.evaluate(exact, ref, s, num_steps=k, protocol=small)
             for s in ("ddpm", "ddim") for k in (2, 5)}  # fmt: skip
    fig = ev.sweep_plot(sweep, {"noise": P.baseline("gaussian", ref, small)})
    assert len(fig.axes) == 2


def test_rms_radius():
    assert ev.rms_radius(torch.tensor([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(1.0)
