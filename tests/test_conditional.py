"""The per-shape guided evaluation (diffusion2d.conditional): each shape's reference is its part of
the split the conditional model saw, results are the protocol's and cached per (shape, scale),
the unconditional runs are shared by the shapes, and bad arguments are named."""

import pandas as pd
import pytest
import torch

from diffusion2d import DATASAURUS_SHAPES, DenoisingMLP, load_datasaurus, sample
from diffusion2d import cache as cache_mod
from diffusion2d import conditional as C
from diffusion2d import protocol as P
from diffusion2d.data import train_test_split
from diffusion2d.experiments import CONDITIONAL, EXPERIMENTS
from diffusion2d.training import TrainConfig, split_for

K = len(DATASAURUS_SHAPES)
SMALL = P.Protocol(num_samples=40, seeds=(0, 1, 2))
CFG = CONDITIONAL["cfg"]


def conditional(seed=0, T=8):
    """A small class-conditional model whose labels matter (random label embedding)."""
    torch.manual_seed(seed)
    model = DenoisingMLP(1e-4, 0.2, T, hidden=16, num_blocks=1, num_classes=K)
    with torch.no_grad():
        model.label.weight.normal_()
    return model.eval()


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv(cache_mod.ENV_VAR, str(tmp_path))
    C._UNCONDITIONAL.clear()


@pytest.fixture(scope="module")
def everything():
    return load_datasaurus("all")


@pytest.fixture(scope="module")
def refs(everything):
    return C.references(CFG, everything)


def _files(tmp_path):
    return sorted((tmp_path / "results").glob("*.pt"))


# --- the references: each shape's part of the model's split ------------------------------------

def test_each_shape_is_split_as_a_model_of_that_shape_alone(refs, everything):
    assert list(refs) == list(DATASAURUS_SHAPES)
    for k, (shape, ref) in enumerate(refs.items()):
        alone = train_test_split(everything[142 * k: 142 * (k + 1)], CFG.holdout_fraction,
                                 seed=CFG.seed)
        assert torch.equal(ref.train, alone[0]) and torch.equal(ref.heldout, alone[1]), shape
    # together they are the split the conditional model trained on
    train, heldout = split_for(CFG, everything)
    assert torch.equal(torch.cat([r.train for r in refs.values()]), train)
    assert torch.equal(torch.cat([r.heldout for r in refs.values()]), heldout)


def test_the_dino_reference_is_the_dino_only_models(refs):
    """Chapter guidance compares the conditional model with experiment 3 on the same points."""
    v3 = P.Reference.of(EXPERIMENTS["v3"])
    assert torch.equal(refs["dino"].train, v3.train)
    assert torch.equal(refs["dino"].heldout, v3.heldout)
    assert refs["dino"].digest() == v3.digest()


def test_references_need_a_conditional_config():
    with pytest.raises(ValueError, match="config must be a class-conditional config"):
        C.references(TrainConfig())


# --- evaluate: the protocol, per shape and scale, cached -----------------------------------------

def test_evaluate_scores_the_seeds_runs_against_the_shape(refs):
    model = conditional()
    df = C.evaluate(model, refs["star"], "star", 2.0, "ddim", protocol=SMALL)
    assert list(df.index) == list(SMALL.seeds) and "mmd2" not in df.columns
    assert set(df.columns) == set(P.METRICS) - {"mmd2"}
    for seed in SMALL.seeds:  # each row is protocol.scores of that seed's x_0
        x0 = C.samples(model, seed, "star", 2.0, "ddim", protocol=SMALL)[-1]
        expected = P.scores(x0, refs["star"], SMALL)
        assert all(df.loc[seed, m] == pytest.approx(expected[m]) for m in df.columns)
    first = C.samples(model, SMALL.seeds[0], "star", 2.0, "ddim", protocol=SMALL)[-1]
    assert torch.equal(df.attrs["samples"], first)
    assert df.attrs["shape"] == "star" and df.attrs["guidance_scale"] == 2.0
    assert P.interval(df, "nn_mean")[1] <= df["nn_mean"].mean()  # the protocol's interval


def test_the_protocols_scores_without_mmd_are_the_same_scores(refs):
    x = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    full, lean = P.scores(x, refs["dino"], SMALL), P.scores(x, refs["dino"], SMALL, mmd=False)
    assert lean.pop("mmd2") is None and full.pop("mmd2") > 0
    assert lean == full


def test_samples_are_the_guided_samplers(refs):
    model = conditional()
    for scale in (1.0, 3.0):
        got = C.samples(model, 4, "dots", scale, "ddpm", 5, SMALL)
        want = sample(SMALL.num_samples, model, "ddpm", torch.Generator().manual_seed(4), 5,
                      y="dots", guidance_scale=scale)
        assert len(got) == 6 and all(torch.equal(a, b) for a, b in zip(got, want, strict=True))


def test_samples_with_ones_own_guided_eps(refs):
    """The exercise's cell: a right guided_eps gives the library's run, a wrong one another."""
    model, seen = conditional(), []

    def yours(m, xt, t, y, guidance_scale):
        seen.append(y)
        eps_uncond = m(xt, t)
        return eps_uncond + guidance_scale * (m(xt, t, y) - eps_uncond)

    for scale in (0.0, 1.0, 3.0):
        got = C.samples(model, 2, "star", scale, "ddim", 5, SMALL, guided_eps=yours)
        want = C.samples(model, 2, "star", scale, "ddim", 5, SMALL)
        assert len(got) == 6
        assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(got, want, strict=True))
    star = DATASAURUS_SHAPES.index("star")  # labels (N,) of the shape's index, as in the text
    assert all(y.dtype == torch.long and y.shape == (SMALL.num_samples,) and (y == star).all()
               for y in seen)
    wrong = C.samples(model, 2, "star", 3.0, "ddim", 5, SMALL,
                      guided_eps=lambda m, xt, t, y, s: m(xt, t, y))  # no guidance
    assert not torch.allclose(wrong[-1], got[-1], atol=1e-3)
    with pytest.raises(ValueError, match="guided_eps must be a function"):
        C.samples(model, 2, "star", 3.0, guided_eps="eps")
    with pytest.raises(ValueError, match=r"guided_eps must return a tensor of shape \(40, 2\)"):
        C.samples(model, 2, "star", 3.0, protocol=SMALL,
                  guided_eps=lambda m, xt, t, y, s: m(xt, t, y).mean(0))


def test_evaluate_is_cached_per_shape_and_scale(refs, tmp_path, monkeypatch):
    model = conditional()
    first = C.sweep(model, refs, (1, 2.5), shapes=("dino", "away"), protocol=SMALL)
    assert list(first) == [("dino", 1.0), ("away", 1.0), ("dino", 2.5), ("away", 2.5)]
    assert len(_files(tmp_path)) == 4
    monkeypatch.setattr(C, "samples", lambda *a, **k: pytest.fail("recomputed"))
    again = C.sweep(model, refs, (1.0, 2.5), shapes=("dino", "away"), protocol=SMALL)
    for key, df in first.items():
        pd.testing.assert_frame_equal(df, again[key])
        assert torch.equal(df.attrs["samples"], again[key].attrs["samples"])


def test_the_key_sees_model_shape_scale_sampler_steps_protocol_and_reference(refs):
    model, other = conditional(), conditional(seed=1)

    def key(m=model, r=refs["dino"], shape="dino", scale=2.0, sampler="ddim", steps=None,
            protocol=SMALL):
        return C._key(m, r, shape, scale, sampler, steps, protocol)

    keys = [key(), key(m=other), key(r=refs["away"]), key(shape="away"), key(scale=4.0),
            key(sampler="ddpm"), key(steps=5),
            key(protocol=P.Protocol(num_samples=40, seeds=(0, 1)))]
    assert len(set(keys)) == len(keys)
    assert "conditional.py" in C.EVALUATION_MODULES and "guidance.py" in C.EVALUATION_MODULES
    assert set(P.EVALUATION_MODULES) <= set(C.EVALUATION_MODULES)


def test_the_unconditional_run_serves_every_shape(refs, monkeypatch):
    model, calls = conditional(), []
    real = C.samples

    def counted(*args, **kwargs):
        calls.append(args[1:4])  # seed, shape, scale
        return real(*args, **kwargs)

    monkeypatch.setattr(C, "samples", counted)
    results = C.sweep(model, refs, (0,), shapes=("dino", "star", "circle"), protocol=SMALL)
    assert len(calls) == len(SMALL.seeds)  # one run per seed, not per shape
    first = [df.attrs["samples"] for df in results.values()]
    assert all(torch.equal(x, first[0]) for x in first)
    # the same samples as the unconditional model (no label), scored against each shape
    uncond = sample(SMALL.num_samples, model, "ddim", torch.Generator().manual_seed(0))[-1]
    assert torch.equal(first[0], uncond)
    assert results["dino", 0.0]["nn_mean"].ne(results["star", 0.0]["nn_mean"]).all()


def test_the_exact_conditional_denoiser_copies_the_shapes_training_points(refs, everything):
    exact = C.exact_conditional(CFG, everything)
    assert exact.num_classes == K and exact.T == CFG.T
    assert torch.equal(exact.data, split_for(CFG, everything)[0])
    df = C.evaluate(exact, refs["circle"], "circle", 1, protocol=SMALL)
    assert df["nn_mean"].max() < 5e-3 and df["frac_close"].min() > 0.95
    with pytest.raises(ValueError, match="schedule must be 'linear'"):
        C.exact_conditional(CFG.replace(schedule="cosine"), everything)


# --- summaries: the mean over the shapes, comparisons, the table --------------------------------

def _rows(values, seeds=(0, 1, 2)):
    df = pd.DataFrame({"nn_mean": values, "heldout_coverage": [2 * v for v in values]},
                      index=pd.Index(seeds, name="seed"))
    df.attrs["confidence"] = 0.95
    return df


def test_mean_over_shapes_is_the_mean_seed_by_seed():
    results = {("dino", 1.0): _rows([1.0, 2.0, 3.0]), ("star", 1.0): _rows([3.0, 4.0, 5.0]),
               ("dino", 2.0): _rows([9.0, 9.0, 9.0])}
    mean = C.mean_over_shapes(results, 1)
    assert mean["nn_mean"].tolist() == [2.0, 3.0, 4.0] and mean.attrs["shapes"] == 2
    assert P.interval(mean, "heldout_coverage")[0] == pytest.approx(6.0)
    assert C.mean_over_shapes(results, 1, shapes=("star",))["nn_mean"].tolist() == [3, 4, 5]
    with pytest.raises(ValueError, match="no shape at guidance_scale=4"):
        C.mean_over_shapes(results, 4)
    results["star", 1.0] = _rows([1.0, 2.0, 3.0], seeds=(5, 6, 7))
    with pytest.raises(ValueError, match="share the protocol's seeds"):
        C.mean_over_shapes(results, 1)


def test_versus_and_table():
    results = {("dino", 1.0): _rows([1.0, 1.1, 0.9]), ("star", 1.0): _rows([1.0, 1.1, 0.9]),
               ("dino", 2.0): _rows([2.0, 2.1, 1.9]), ("star", 2.0): _rows([1.0, 1.2, 0.8])}
    assert C.versus(results, 2, 1, "nn_mean").to_dict() == {"dino": 1, "star": 0}
    assert C.versus(results, 1, 2, "nn_mean").to_dict() == {"dino": -1, "star": 0}
    table = C.table(results, "nn_mean", (1, 2), shapes=("dino", "star"))
    assert list(table.index) == ["dino", "star", "mean"]
    assert list(table.columns) == ["s\u00a0=\u00a01", "s\u00a0=\u00a02"]
    assert table.loc["dino", "s\u00a0=\u00a02"] == P.cell(results["dino", 2.0], "nn_mean")
    assert table.loc["mean", "s\u00a0=\u00a01"] == P.cell(C.mean_over_shapes(results, 1),
                                                          "nn_mean")


def test_means_a_row_per_metric_a_column_per_scale():
    results = {("dino", 1.0): _rows([1.0, 1.1, 0.9]), ("star", 1.0): _rows([3.0, 3.1, 2.9]),
               ("dino", 2.0): _rows([2.0, 2.1, 1.9]), ("star", 2.0): _rows([1.0, 1.2, 0.8])}
    table = C.means(results, ("nn_mean", "heldout_coverage"), (1, 2))
    assert list(table.index) == ["NN distance", "held-out coverage"]
    assert list(table.columns) == ["s\u00a0=\u00a01", "s\u00a0=\u00a02"]
    assert table.loc["NN distance", "s\u00a0=\u00a01"] == P.cell(
        C.mean_over_shapes(results, 1), "nn_mean")
    assert table.loc["held-out coverage", "s\u00a0=\u00a02"].startswith("3.000 ± ")


def test_ratio_is_seed_by_seed():
    a, b = _rows([2.0, 3.0, 8.0]), _rows([1.0, 2.0, 4.0])
    r = C.ratio(a, b)
    assert r["nn_mean"].tolist() == [2.0, 1.5, 2.0] and r["heldout_coverage"].tolist() == [
        2.0, 1.5, 2.0]
    mean, lo, hi = P.interval(r, "nn_mean")
    assert mean == pytest.approx(11 / 6) and lo < mean < hi
    with pytest.raises(ValueError, match="same seeds"):
        C.ratio(a, _rows([1.0, 2.0, 4.0], seeds=(3, 4, 5)))


def _one(metric, values):
    df = pd.DataFrame({metric: values}, index=pd.Index(range(len(values)), name="seed"))
    df.attrs["confidence"] = 0.95
    return df


def test_measures_print_cells_as_the_glue_and_shares_in_percent():
    results = {"a": pd.concat([_one("nn_mean", [0.0512, 0.0513, 0.0514]),
                               _one("frac_copies", [0.40, 0.41, 0.42]),
                               _one("train_coverage", [0.0045, 0.0046, 0.0044])], axis=1),
               "b": pd.concat([_one("nn_mean", [0.00026, 0.00027, 0.00028]),
                               _one("frac_copies", [0.9950, 0.9951, 0.9949]),
                               _one("train_coverage", [1e-8, 2e-8, 0.0])], axis=1)}
    for df in results.values():
        df.attrs["confidence"] = 0.95
    table = C.measures(results, ("nn_mean", "frac_copies", "train_coverage"))
    assert list(table.index) == ["NN distance", "near-copies", "train coverage"]
    assert list(table.columns) == ["a", "b"]
    nn, copies, train = (table.loc[r].tolist() for r in table.index)
    assert nn == ["0.0513 ± 0.0002", "0.0003 ± <0.0001"]  # below 1e-3: the row's decimals
    # every other cell as the prose's glue prints it (protocol.format_interval)
    for j, df in enumerate(results.values()):
        mean, lo, hi = P.interval(df, "frac_copies")
        assert copies[j] == P.format_interval(mean, (hi - lo) / 2, percent=True)
    assert copies[0] == "41.0% ± 2.5%" and copies[1].startswith("99.50% ± ")
    assert train == ["0.0045 ± 0.0002", "<0.0001"]  # no 1.0e-08, no scientific notation


# --- errors name the argument --------------------------------------------------------------------

def test_bad_input_names_the_argument(refs):
    model = conditional()
    plain = DenoisingMLP(1e-4, 0.2, 8, hidden=8, num_blocks=1)
    ref = refs["dino"]
    with pytest.raises(ValueError, match="model must be class-conditional"):
        C.evaluate(plain, ref, "dino", 1.0, protocol=SMALL)
    with pytest.raises(ValueError, match="shape must be one of"):
        C.evaluate(model, ref, "dinosaur", 1.0, protocol=SMALL)
    for bad in (-1.0, float("nan"), float("inf"), True, "2"):
        with pytest.raises(ValueError, match="guidance_scale must be a finite number"):
            C.samples(model, 0, "dino", bad, protocol=SMALL)
    with pytest.raises(ValueError, match="sampler must be one of"):
        C.evaluate(model, ref, "dino", 1.0, "rk4", protocol=SMALL)
    with pytest.raises(ValueError, match="ref must be a protocol.Reference"):
        C.evaluate(model, (ref.train, ref.heldout), "dino", 1.0, protocol=SMALL)
    with pytest.raises(ValueError, match="refs has no reference for the shape.* star"):
        C.sweep(model, {"dino": ref}, (1,), shapes=("dino", "star"), protocol=SMALL)
