"""The experiment configs, the workshop comparison and the small measures of chapters 4 and 5."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

from diffusion2d import experiments as E  # noqa: E402
from diffusion2d import plotting  # noqa: E402
from diffusion2d.schedules import get_diffusion_parameters  # noqa: E402
from diffusion2d.training import TrainHistory  # noqa: E402


def test_pool_holds_every_model_of_the_book():
    assert list(E.EXPERIMENTS) == ["v1", "v2", "v3", "v4"]
    assert set(E.POOL) == (set(E.EXPERIMENTS) | set(E.EXTRA) | {"v3short"} | set(E.BEYOND)
                           | set(E.CONDITIONAL))
    # each model of "Beyond DDPM" is experiment 3 with exactly one change (zsnr: two, since an
    # eps-model cannot give x_0 at zero terminal SNR)
    v3 = E.EXPERIMENTS["v3"]
    changes = {name: {f for f in v3.__dataclass_fields__ if getattr(cfg, f) != getattr(v3, f)}
               for name, cfg in E.BEYOND.items()}
    assert changes == {"cosine": {"schedule"}, "zsnr": {"schedule", "prediction"},
                       "x0": {"prediction"}, "v": {"prediction"}, "flow": {"objective"}}
    # chapter 10 (bug 7) trains BASE for the workshop's epochs: that model is in the pool too
    assert E.POOL["v3short"] == E.BASE.replace(epochs=10) and E.WORKSHOP["epochs"] == 10
    long = E.EXTRA["v4long"]
    assert long == E.EXPERIMENTS["v4"].replace(epochs=2 * E.EXPERIMENTS["v4"].epochs)
    assert all(name in E.TITLES for name in E.POOL)
    with pytest.raises(ValueError, match="unknown experiment 'v9'"):
        E.load_experiment("v9")


def test_workshop_comparison_takes_the_book_side_from_the_config():
    df = E.workshop_comparison()
    assert list(df.columns) == ["workshop", "this book", "why"]
    assert df.loc["width", "workshop"] == str(E.WORKSHOP["hidden"])
    assert df.loc["width", "this book"] == str(E.EXPERIMENTS["v3"].hidden)
    assert df.loc["batch size", "this book"] == str(E.EXPERIMENTS["v3"].batch_size)
    assert df.loc["epochs", "this book"] == str(E.EXPERIMENTS["v3"].epochs)
    assert df.loc["held-out points", "this book"].startswith("15%")
    assert df.loc["held-out points", "workshop"].startswith("10%")
    wide = E.workshop_comparison(E.EXPERIMENTS["v3"].replace(hidden=96))
    assert wide.loc["width", "this book"] == "96"
    assert df.notna().all().all() and (df != "").all().all()


def test_signal_scale_correct_and_with_the_workshop_bug():
    cfg = E.EXPERIMENTS["v3"]
    _, _, ab = get_diffusion_parameters(cfg.beta_min, cfg.beta_max, cfg.T)
    assert E.signal_scale(cfg, 25) == pytest.approx(math.sqrt(float(ab[24])), rel=1e-6)
    assert E.signal_scale(cfg, 0) == 1.0
    buggy = math.prod(math.sqrt(float(a)) for a in ab[:25])
    assert E.signal_scale(cfg, 25, workshop_bug=True) == pytest.approx(buggy, rel=1e-6)
    assert E.signal_scale(cfg, 25, workshop_bug=True) < E.signal_scale(cfg, 25)
    # the gentler schedule keeps more of the signal at every step
    assert E.signal_scale(E.EXPERIMENTS["v4"], 25) > E.signal_scale(cfg, 25)
    with pytest.raises(ValueError, match="t must be an int"):
        E.signal_scale(cfg, 51)


def test_prior_terms(dino):
    cfg = E.EXPERIMENTS["v3"]
    terms = E.prior_terms(cfg, dino, num_samples=2000)
    _, _, ab = get_diffusion_parameters(cfg.beta_min, cfg.beta_max, cfg.T)
    assert terms["alpha_bar_T"] == pytest.approx(float(ab[-1]))
    assert terms["matched_kl"] >= 0.0 and terms["prior_kl"] > -0.01
    # the matched Gaussian of data with identity covariance is N(0, I): KL 0
    white = torch.randn(4000, 2, generator=torch.Generator().manual_seed(0))
    white = (white - white.mean(0)) / white.std(0, unbiased=False)
    white = white @ torch.linalg.cholesky(torch.linalg.inv(torch.cov(white.T, correction=0))).T
    assert E.prior_terms(cfg, white, num_samples=500)["matched_kl"] == pytest.approx(0, abs=1e-6)
    # gentler schedule: x_T further from N(0, I)
    assert E.prior_terms(E.EXPERIMENTS["v4"], dino, 2000)["matched_kl"] > terms["matched_kl"]


def test_prior_terms_follow_the_config_schedule(dino):
    """Linear configs end where their schedule ends; the cosine schedule ends near N(0, I), its
    KL resolved (about that of the matched Gaussian, not Monte Carlo noise); zero terminal SNR
    ends exactly at N(0, I): every KL is 0."""
    from diffusion2d.schedules import make_schedule

    cfg = E.EXPERIMENTS["v3"]
    ab = float(get_diffusion_parameters(cfg.beta_min, cfg.beta_max, cfg.T)[2][-1])
    terms = E.prior_terms(cfg, dino, 2000)
    assert terms["alpha_bar_T"] == ab and 0 < terms["prior_kl_se"] < 0.1 * terms["prior_kl"]
    zero = E.prior_terms(E.BEYOND["zsnr"], dino, 2000)
    assert zero == {"alpha_bar_T": 0.0, "prior_kl": 0.0, "prior_kl_se": 0.0, "matched_kl": 0.0}
    cos = E.BEYOND["cosine"]
    terms = E.prior_terms(cos, dino, 2000)
    assert terms["alpha_bar_T"] == float(make_schedule("cosine", 1e-4, 0.05, cos.T)[2][-1])
    assert 0.0 < terms["alpha_bar_T"] < 1e-5
    assert terms["matched_kl"] <= terms["prior_kl"] < 1.2 * terms["matched_kl"]
    assert terms["prior_kl_se"] < 1e-3 * terms["prior_kl"]


def test_prior_kl_control_variate_is_unbiased_and_resolves(dino):
    """One data point: q(x_T) is a Gaussian, the KL has a closed form (matched_kl). The dino: the
    estimate agrees with plain Monte Carlo within its error and, with as many samples, is
    several times sharper; with more points than SECOND_ORDER_MAX it keeps the first-order
    term only."""
    from diffusion2d.metrics import prior_mismatch_kl

    cfg = E.EXPERIMENTS["v4"]
    one = E.prior_terms(E.EXPERIMENTS["v3"], torch.tensor([[0.1, -0.2]]), 20_000)
    assert abs(one["prior_kl"] - one["matched_kl"]) < 4 * one["prior_kl_se"]
    assert one["prior_kl_se"] < 0.01 * one["matched_kl"]
    sharp = E.prior_terms(cfg, dino, 20_000)
    n = 100_000
    plain = prior_mismatch_kl(dino, sharp["alpha_bar_T"], n)
    plain_se = (2 * plain / n) ** 0.5  # sqrt(2 KL / n), the plain estimator's error
    assert abs(plain - sharp["prior_kl"]) < 4 * (plain_se + sharp["prior_kl_se"])
    assert sharp["prior_kl_se"] < 0.2 * plain_se * (n / 20_000) ** 0.5  # at equal samples
    assert sharp["prior_kl"] >= sharp["matched_kl"]
    big = dino.repeat(4, 1)  # (4 M, 2): the same q(x_T), more points than SECOND_ORDER_MAX
    assert len(big) > E.SECOND_ORDER_MAX
    first = E.prior_terms(cfg, big, 20_000)
    assert abs(first["prior_kl"] - sharp["prior_kl"]) < 4 * (first["prior_kl_se"]
                                                              + sharp["prior_kl_se"])
    assert sharp["prior_kl_se"] < first["prior_kl_se"] < plain_se * (n / 20_000) ** 0.5


def test_training_summary_and_fused_flag():
    h = TrainHistory(epochs=[1], train_loss=[1.0], test_loss=[1.0], seconds=99.0,
                     cpu_seconds=12.34)  # the wall clock of a busy machine: not shown
    df = E.training_summary({"v3": (None, h)})
    assert df.loc["v3", "CPU seconds"] == 12.3 and df.loc["v3", "threads"] == 1
    assert df.loc["v3", "gradient steps"] == 2000 * math.ceil(121 * 6 / 256)
    assert isinstance(E.fused_adamw(), bool)


def test_loss_curves():
    h = TrainHistory(epochs=[1, 2, 3], train_loss=[1.0, 0.8, 0.7], test_loss=[1.0, 0.9, 0.9])
    fig = plotting.loss_curves({"a": h, "b": h}, title="t")
    assert len(fig.axes[0].lines) == 4
    with pytest.raises(ValueError, match="histories"):
        plotting.loss_curves({})
    with pytest.raises(ValueError, match=r"histories\['a'\] (has no|is not a TrainHistory)"):
        plotting.loss_curves({"a": object()})


def test_short_titles_and_workshop_split_copies(dino):
    assert set(E.SHORT_TITLES) == set(E.EXPERIMENTS) | set(E.EXTRA)  # chapter 5's models
    assert set(E.TITLES) == set(E.POOL)
    assert all(len(title) <= 24 for title in E.SHORT_TITLES.values())
    assert str(E.EXPERIMENTS["v4"].beta_max) in E.SHORT_TITLES["v4"]
    # every point repeated 6 times, 10 % of the copies held out: nearly all have a twin left
    share = E.workshop_split_copies(dino)
    assert 0.9 <= share <= 1.0
    # distinct points: no copy can be left in training
    assert E.workshop_split_copies(dino, repeats=1) == 0.0


def test_training_summary_time_per_step():
    h = TrainHistory(epochs=[1], train_loss=[1.0], test_loss=[1.0], cpu_seconds=12.0)
    df = E.training_summary({"v3": (None, h)})
    assert df.loc["v3", "ms per step"] == round(12000 / df.loc["v3", "gradient steps"], 2)
