"""How a schedule passes a model's noise error on (diffusion2d.schedule_errors): the two gains
against their closed forms, and the error of a stand-in model against the exact denoiser."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from diffusion2d import schedule_errors as SE
from diffusion2d.exact import ExactDenoiser, exact_eps
from diffusion2d.schedules import make_schedule, register_schedule


def test_ddpm_gain_is_the_eps_coefficient_of_eq_11():
    betas, alphas, alpha_bars = make_schedule("linear", 1e-4, 0.05, 50)
    gain = SE.ddpm_gain(betas, alphas, alpha_bars)
    b, a, ab = (float(v[-1]) for v in (betas, alphas, alpha_bars))
    assert gain.shape == (50,) and gain[-1] == pytest.approx(b / math.sqrt(a * (1 - ab)))
    # the cosine schedule's last beta is clipped at 0.999: a gain of about sqrt(1000)
    cos = make_schedule("cosine", 1e-4, 0.05, 50)
    assert SE.ddpm_gain(*cos)[-1] == pytest.approx(0.999 / math.sqrt(0.001), rel=1e-3)
    assert np.isinf(SE.ddpm_gain(*make_schedule("linear_zero_snr", 1e-4, 0.05, 50))[-1])


def test_x0_gain_is_the_eps_coefficient_of_the_predicted_x0():
    alpha_bars = torch.tensor([0.99, 0.5, 0.01, 0.0])
    expected = [math.sqrt(0.01 / 0.99), 1.0, math.sqrt(99.0), math.inf]
    assert SE.x0_gain(alpha_bars) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="alpha_bars"):
        SE.x0_gain(torch.ones(2, 2))


class _Zero(nn.Module):
    """Predicts eps = 0 on a given schedule."""

    def __init__(self, schedule: str, T: int = 6):
        super().__init__()
        register_schedule(self, 0.05, 0.4, T, schedule)

    def forward(self, xt, t):
        return torch.zeros_like(xt)


def test_eps_error_of_the_exact_denoiser_is_zero_and_of_zero_is_the_exact_eps():
    data = torch.randn(7, 2, generator=torch.Generator().manual_seed(1))
    exact = ExactDenoiser(data, 0.05, 0.4, 6)
    assert SE.eps_error_by_step(exact, data, repeats=20) == pytest.approx(np.zeros(6), abs=1e-5)
    zero = SE.eps_error_by_step(_Zero("linear"), data, repeats=30, seed=3)
    g = torch.Generator().manual_seed(3)  # the same draws, in the same order
    x0 = data.double().repeat(30, 1)  # (30 * 7, 2)
    for t, ab in enumerate(exact.alpha_bars.double()):
        xt = ab.sqrt() * x0 + (1 - ab).sqrt() * torch.randn(x0.shape, generator=g, dtype=x0.dtype)
        rms = exact_eps(xt, data.double(), ab).pow(2).sum(1).mean().sqrt()
        assert zero[t] == pytest.approx(float(rms), rel=1e-6)


def test_eps_error_is_the_implied_eps_error_of_predictions(monkeypatch, tmp_path):
    """One computation: an eps-model's error by step is the ``eps:`` column of
    predictions.implied_errors with the same points, repeats and seed."""
    from diffusion2d import cache as cache_mod
    from diffusion2d.predictions import implied_errors

    monkeypatch.setenv(cache_mod.ENV_VAR, str(tmp_path))
    data = torch.randn(7, 2, generator=torch.Generator().manual_seed(1))
    exact = ExactDenoiser(data, 0.05, 0.4, 6)
    zero = _Zero("linear")
    table = implied_errors({"z": zero}, exact, data, repeats=4, seed=2)
    np.testing.assert_allclose(SE.eps_error_by_step(zero, data, repeats=4, seed=2),
                               table["eps:z"].to_numpy(), rtol=1e-6)


def test_eps_error_is_nan_where_alpha_bar_is_zero():
    data = torch.randn(5, 2, generator=torch.Generator().manual_seed(2))
    out = SE.eps_error_by_step(_Zero("linear_zero_snr"), data, repeats=10)
    assert np.isnan(out[-1]) and np.isfinite(out[:-1]).all()
    with pytest.raises(ValueError, match="repeats"):
        SE.eps_error_by_step(_Zero("linear"), data, repeats=0)
    with pytest.raises(ValueError, match="data"):
        SE.eps_error_by_step(_Zero("linear"), torch.zeros(5, 3))


def test_eps_error_by_radius_bins_the_same_error():
    data = torch.randn(7, 2, generator=torch.Generator().manual_seed(1))
    exact = ExactDenoiser(data, 0.05, 0.4, 6)
    assert SE.eps_error_by_radius(exact, data, 5, num=3000) == pytest.approx(
        np.zeros(3), abs=1e-5)
    zero = SE.eps_error_by_radius(_Zero("linear"), data, 5, edges=(0, 1, 100), num=3000)
    assert zero.shape == (2,) and zero[1] > zero[0] > 0  # |E[eps | x_t]| grows with |x_t|
    empty = SE.eps_error_by_radius(_Zero("linear"), data, 5, edges=(50, 60), num=100)
    assert np.isnan(empty).all()
    for bad, match in (({"t": 6}, "t must be"), ({"edges": (1, 1)}, "edges")):
        with pytest.raises(ValueError, match=match):
            SE.eps_error_by_radius(_Zero("linear"), data, **{"t": 5, **bad})
    with pytest.raises(ValueError, match="alpha_bar"):
        SE.eps_error_by_radius(_Zero("linear_zero_snr"), data, 5)
