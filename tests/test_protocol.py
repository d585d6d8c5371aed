"""The evaluation protocol: metrics against closed forms, determinism, caching, intervals."""

import math

import pandas as pd
import pytest
import torch

from diffusion2d import cache as cache_mod
from diffusion2d import protocol as P
from diffusion2d.exact import ExactDenoiser
from diffusion2d.samplers import sample
from diffusion2d.training import TrainConfig, loss_batches, train

SMALL = P.Protocol(num_samples=200, seeds=(0, 1, 2), mmd_samples=100)
TINY = TrainConfig(hidden=8, num_blocks=1, epochs=3, eval_every=1, eval_repeats=2, T=10)


@pytest.fixture
def ref(dino):
    return P.Reference.of(TrainConfig(), dino)


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv(cache_mod.ENV_VAR, str(tmp_path))


def test_reference_is_the_training_split(dino, ref):
    from diffusion2d.training import split_for

    train, heldout = split_for(TrainConfig(), dino)
    assert torch.equal(ref.train, train) and torch.equal(ref.heldout, heldout)
    assert len(ref.all) == len(dino) == 142


def test_scores_of_the_data_itself(ref):
    """Samples that *are* the dino points: zero Chamfer and NN distance, all within spacing,
    every training point covered exactly, held-out points covered exactly too."""
    s = P.scores(ref.all.float(), ref, SMALL)
    assert s["chamfer"] == pytest.approx(0.0, abs=1e-12)
    assert s["nn_mean"] == pytest.approx(0.0, abs=1e-12)
    assert s["frac_close"] == 1.0
    assert s["train_coverage"] == pytest.approx(0.0, abs=1e-12)
    assert s["heldout_coverage"] == pytest.approx(0.0, abs=1e-12)
    # the training points are copies of themselves, the held-out ones are not
    assert s["frac_copies"] == pytest.approx(len(ref.train) / len(ref.all))


def test_scores_by_hand(ref):
    x = torch.tensor([[10.0, 0.0], [0.0, 10.0]])
    s = P.scores(x, ref, SMALL)
    nn = torch.cdist(x.double(), ref.all.double()).min(1).values
    back = torch.cdist(ref.all.double(), x.double()).min(1).values
    assert s["chamfer"] == pytest.approx(float(nn.mean() + back.mean()))
    assert s["frac_close"] == 0.0 and s["frac_copies"] == 0.0


def test_t_quantile_against_tables():
    # Student t, two-sided 95%: 12.706 (1 dof), 2.776 (4), 2.228 (10); normal limit 1.960
    for dof, q in ((1, 12.706), (4, 2.776), (10, 2.228), (10_000, 1.960)):
        assert P.t_quantile(0.975, dof) == pytest.approx(q, abs=1e-3)
    with pytest.raises(ValueError, match="t_quantile"):
        P.t_quantile(0.3, 4)


def test_interval_and_compare():
    df = P._frame([{"chamfer": v} for v in (1.0, 2.0, 3.0)], SMALL)
    mean, lo, hi = P.interval(df, "chamfer")
    half = P.t_quantile(0.975, 2) * 1.0 / math.sqrt(3)  # sd of (1, 2, 3) is 1
    assert (mean, lo, hi) == pytest.approx((2.0, 2.0 - half, 2.0 + half))
    far = P._frame([{"chamfer": v} for v in (10.0, 10.1, 10.2)], SMALL)
    assert P.compare(df, far, "chamfer") == -1 and P.compare(far, df, "chamfer") == 1
    assert P.compare(df, df, "chamfer") == 0
    assert P.cell(df, "chamfer") == f"2.000 ± {half:.3f}"


def test_format_interval():
    assert P.format_interval(0.0670, 0.00123) == "0.0670 ± 0.0012"
    assert P.format_interval(0.640, 0.0104) == "0.640 ± 0.010"
    assert P.format_interval(0.032, 0.00041) == "0.0320 ± 0.0004"
    assert P.format_interval(1.0, 0.0) == "1.000 ± 0.000"
    assert P.format_interval(0.294, 0.0041) == "0.2940 ± 0.0041"
    assert P.format_interval(1.9e-6, 1.2e-7) == "1.9e-06 ± 1e-07"


def test_exact_denoiser_lands_on_the_training_points(ref):
    exact = ExactDenoiser(ref.train, 1e-4, 0.05, 50)
    df = P.evaluate(exact, ref, "ddim", protocol=SMALL, by_step=True)
    assert list(df.index) == list(SMALL.seeds)
    assert set(df.columns) == set(P.METRICS)
    assert df["frac_copies"].min() > 0.9  # it only copies
    by_step = df.attrs["chamfer_by_step"]
    assert len(by_step) == len(SMALL.seeds) and len(by_step[0]) == 51
    assert by_step[0][-1] < by_step[0][0]  # x_0 is far closer to the dino than x_T


def test_evaluate_is_deterministic_and_cached(ref, dino, tmp_path, monkeypatch):
    model, _ = train(TINY, data=dino)
    first = P.evaluate(model, ref, "ddpm", protocol=SMALL, by_step=True)
    files = list((tmp_path / "results").glob("*.pt"))
    assert len(files) == 2  # with the trace, and the rows alone under the plain key
    monkeypatch.setattr(P, "samples", lambda *a, **k: pytest.fail("recomputed"))
    again = P.evaluate(model, ref, "ddpm", protocol=SMALL, by_step=True)
    pd.testing.assert_frame_equal(first, again)
    assert again.attrs["chamfer_by_step"] == first.attrs["chamfer_by_step"]
    plain = P.evaluate(model, ref, "ddpm", protocol=SMALL)  # the same rows, not sampled again
    pd.testing.assert_frame_equal(first, plain)
    assert "chamfer_by_step" not in plain.attrs


def test_the_trace_is_computed_only_when_asked(ref, dino, tmp_path, monkeypatch):
    model, _ = train(TINY, data=dino)
    calls = []
    chamfer = P.metrics.chamfer_distance
    monkeypatch.setattr(P.metrics, "chamfer_distance", lambda *a: calls.append(1) or chamfer(*a))
    plain = P.evaluate(model, ref, "ddim", 4, protocol=SMALL)
    assert "chamfer_by_step" not in plain.attrs and len(calls) == len(SMALL.seeds)  # x_0 only
    traced = P.evaluate(model, ref, "ddim", 4, protocol=SMALL, by_step=True)
    pd.testing.assert_frame_equal(plain, traced)  # asking for the trace samples again: same rows
    assert [len(c) for c in traced.attrs["chamfer_by_step"]] == [5] * len(SMALL.seeds)
    assert [c[-1] for c in traced.attrs["chamfer_by_step"]] == list(traced["chamfer"])


def test_the_key_sees_model_sampler_steps_protocol_and_reference(ref, dino):
    model, _ = train(TINY, data=dino)
    other, _ = train(TINY.replace(seed=1), data=dino)

    def key(m=model, sampler="ddpm", steps=None, protocol=SMALL, r=ref):
        return P._key(m, sampler, steps, r, protocol)

    keys = [key(), key(m=other), key(sampler="ddim"), key(steps=5),
            key(protocol=P.Protocol(num_samples=300, seeds=(0, 1, 2), mmd_samples=100)),
            key(r=P.Reference(ref.heldout, ref.train))]  # fmt: skip
    assert len(set(keys)) == len(keys)


def test_sampler_options_enter_the_key_only_when_set(ref, dino, monkeypatch):
    """Default options keep the payload of a run without options (the key chapters had before
    options existed); each set option (DDIM's eta, DDPM's variance) makes another key."""
    model, _ = train(TINY, data=dino)
    payloads = []
    monkeypatch.setattr(P, "result_key", lambda modules, **payload: payloads.append(payload))
    for sampler, opts in (("ddim", {}), ("ddim", {"eta": 0}), ("ddpm", {"variance": "beta"})):
        P._key(model, sampler, 5, ref, SMALL, **P.options(sampler, **opts))
    assert all(set(p) == {"model", "sampler", "num_steps", "reference", "protocol"}
               for p in payloads)  # fmt: skip
    monkeypatch.undo()
    keys = [P._key(model, s, 5, ref, SMALL, **P.options(s, **opts)) for s, opts in (
        ("ddim", {}), ("ddim", {"eta": 0.5}), ("ddim", {"eta": 1}), ("ddpm", {}),
        ("ddpm", {"variance": "beta_tilde"}))]  # fmt: skip
    assert len(set(keys)) == len(keys)
    assert P.options("ddim", eta=1) == P.options("ddim", eta=1.0) == {"eta": 1.0}


def test_evaluate_runs_the_sampler_with_its_options(ref, tmp_path):
    exact = ExactDenoiser(ref.train, 1e-4, 0.05, 10)
    plain = P.evaluate(exact, ref, "ddim", 5, protocol=SMALL)
    noisy = P.evaluate(exact, ref, "ddim", 5, protocol=SMALL, eta=1.0)
    assert len(list((tmp_path / "results").glob("*.pt"))) == 2
    assert not plain.equals(noisy)
    run = P.samples(exact, 0, "ddim", 5, SMALL, eta=1.0)
    direct = sample(SMALL.num_samples, exact, "ddim", torch.Generator().manual_seed(0), 5, eta=1.0)
    assert torch.equal(run[-1], direct[-1])
    assert P.scores(run[-1], ref, SMALL) == noisy.loc[0].to_dict()
    tilde = P.evaluate(exact, ref, "ddpm", 5, protocol=SMALL, variance="beta_tilde")
    assert not tilde.equals(P.evaluate(exact, ref, "ddpm", 5, protocol=SMALL))


def test_a_flow_model_is_sampled_by_its_ode(ref, tmp_path):
    """A VelocityMLP goes to flow.flow_sample (Euler or Heun, noise first), with the same seed's
    generator; its results are cached like any other, under keys of their own."""
    from diffusion2d.flow import VelocityMLP, flow_sample

    torch.manual_seed(0)
    velocity = VelocityMLP(hidden=8, num_blocks=1, T=10)
    for method in ("euler", "heun"):
        run = P.samples(velocity, 1, method, 4, SMALL)
        direct = flow_sample(SMALL.num_samples, velocity, 4, method,
                             torch.Generator().manual_seed(1))  # fmt: skip
        assert len(run) == 5 and all(torch.equal(a, b) for a, b in zip(run, direct, strict=True))
    assert len(P.samples(velocity, 0, "euler", protocol=SMALL)) == velocity.T + 1  # default T
    df = P.evaluate(velocity, ref, "heun", 4, protocol=SMALL, by_step=True)
    assert list(df.index) == list(SMALL.seeds) and len(df.attrs["chamfer_by_step"][0]) == 5
    assert P.scores(P.samples(velocity, 0, "heun", 4, SMALL)[-1], ref, SMALL) == df.loc[0].to_dict()
    P.evaluate(velocity, ref, "euler", 4, protocol=SMALL)
    # heun with its trace and without, euler: the two methods are cached apart
    assert len(list((tmp_path / "results").glob("*.pt"))) == 3
    for sampler, opts in (("ddpm", {}), ("ddim", {}), ("euler", {"eta": 0.5})):
        with pytest.raises(ValueError, match="sampler|eta"):
            P.samples(velocity, 0, sampler, 4, SMALL, **opts)


@pytest.mark.parametrize(("sampler", "opts", "word"), [
    ("ddpm", {"eta": 0.5}, "eta"), ("euler", {"eta": 1.0}, "eta"), ("ddim", {"eta": -1}, "eta"),
    ("ddim", {"eta": True}, "eta"), ("ddim", {"variance": "beta_tilde"}, "variance"),
    ("ddpm", {"variance": "tilde"}, "variance")])  # fmt: skip
def test_an_option_the_sampler_does_not_take_is_refused(ref, sampler, opts, word):
    exact = ExactDenoiser(ref.train, 1e-4, 0.05, 10)
    with pytest.raises(ValueError, match=word):
        P.evaluate(exact, ref, sampler, protocol=SMALL, **opts)
    with pytest.raises(ValueError, match=word):
        P.samples(exact, 0, sampler, protocol=SMALL, **opts)


def test_a_corrupt_cache_file_is_recomputed(ref, tmp_path):
    exact = ExactDenoiser(ref.train, 1e-4, 0.05, 10)
    first = P.evaluate(exact, ref, "ddim", protocol=SMALL)
    (path,) = (tmp_path / "results").glob("*.pt")
    path.write_text("not a torch file")
    pd.testing.assert_frame_equal(P.evaluate(exact, ref, "ddim", protocol=SMALL), first)


def test_baselines(ref, tmp_path, monkeypatch):
    gauss = P.baseline("gaussian", ref, SMALL)
    copy = P.baseline("resampled", ref, SMALL)
    assert P.compare(copy, gauss, "chamfer") == -1
    assert (copy["frac_close"] > 0.95).all()
    with pytest.raises(ValueError, match="name"):
        P.baseline("uniform", ref, SMALL)
    # cached: one file per baseline, loaded again with the same rows (a bandwidth is its own key)
    assert len(list((tmp_path / "results").glob("*.pt"))) == 2
    smooth = P.baseline("smooth", ref, SMALL, bandwidth=0.1)
    assert smooth.attrs["bandwidth"] == 0.1
    scored = []
    monkeypatch.setattr(P, "scores", lambda *a: scored.append(a) or dict.fromkeys(P.METRICS, 0.0))
    pd.testing.assert_frame_equal(P.baseline("gaussian", ref, SMALL), gauss)
    pd.testing.assert_frame_equal(P.baseline("smooth", ref, SMALL, bandwidth=0.1), smooth)
    assert scored == []
    P.baseline("smooth", ref, SMALL, bandwidth=0.2)
    assert len(scored) == len(SMALL.seeds)


def test_table_is_a_dataframe_of_intervals(ref):
    results = {"noise": P.baseline("gaussian", ref, SMALL),
               "copies": P.baseline("resampled", ref, SMALL)}  # fmt: skip
    tab = P.table(results, ("chamfer", "frac_close"))
    assert isinstance(tab, pd.DataFrame)
    assert list(tab.index) == ["noise", "copies"] and list(tab.columns) == [
        "Chamfer", "within spacing"]  # fmt: skip
    assert tab.loc["noise", "Chamfer"] == P.cell(results["noise"], "chamfer")


def test_split_losses_are_the_last_point_of_the_history(dino):
    model, history = train(TINY, data=dino)
    losses = P.split_losses(model, TINY, dino)
    assert losses["train"] == pytest.approx(history.train_loss[-1], abs=1e-6)
    assert losses["held-out"] == pytest.approx(history.test_loss[-1], abs=1e-6)


def test_exact_denoiser_beats_the_network_on_the_training_batch(dino):
    """On the same draws the exact denoiser of the training set is the better noise predictor
    of its training points (it minimises the loss in expectation; on a fixed batch of this size
    the margin is far above the batch's noise)."""
    config = TINY.replace(eval_repeats=16)
    model, _ = train(config, data=dino)
    batches = loss_batches(config, dino)
    train_points = batches["train"][0][: len(batches["train"][0]) // 16]
    exact = ExactDenoiser(train_points, config.beta_min, config.beta_max, config.T)
    losses = {who: P.split_losses(m, config, dino)["train"] for who, m in (("exact", exact),
                                                                          ("model", model))}
    assert losses["exact"] < losses["model"]


def test_bad_input_names_the_argument(ref):
    with pytest.raises(ValueError, match="sampler"):
        P.evaluate(ExactDenoiser(ref.train, 1e-4, 0.05, 10), ref, "rk4", protocol=SMALL)
    with pytest.raises(ValueError, match="seeds"):
        P.Protocol(seeds=(0,))
    with pytest.raises(ValueError, match="num_samples"):
        P.Protocol(num_samples=1)
