"""density: the baselines' NLL against closed forms (a Gaussian fit, a Gaussian KDE whose
leave-one-out bandwidth lies on the fixed grid), the cached ODE NLL with its fold count, the
chapter's table (a Student-t interval over points) and the grid of log densities."""

import math

import numpy as np
import pytest
import torch

from diffusion2d import cache, density
from diffusion2d.exact import ExactDenoiser
from diffusion2d.protocol import Reference, format_interval, mean_interval


def _points(n: int, seed: int = 0, scale=(1.0, 1.0)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, generator=g, dtype=torch.float64) * torch.tensor(scale)


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_VAR, str(tmp_path))
    return tmp_path


def test_gaussian_fit_is_the_analytic_gaussian_nll():
    train = _points(50, scale=(2.0, 0.5)) @ torch.tensor([[1.0, 0.3], [0.0, 1.0]],
                                                           dtype=torch.float64)
    x = _points(7, seed=1)
    mean, cov = train.mean(0), torch.cov(train.T, correction=0)  # maximum likelihood
    want = -torch.distributions.MultivariateNormal(mean, cov).log_prob(x)
    got = density.gaussian_fit_nll(train, x)
    assert got.shape == (7,) and got.dtype == torch.float64 and torch.allclose(got, want)
    # at the mean: log(2 pi) + log det(cov) / 2
    at_mean = density.gaussian_fit_nll(train, mean[None].float())
    assert math.isclose(float(at_mean), math.log(2 * math.pi) + 0.5 * float(cov.logdet()))


def test_kde_of_one_point_is_a_gaussian_and_leave_one_out_leaves_one_out():
    x, h = _points(5, seed=2), 0.3
    centre = torch.tensor([[0.5, -1.0]], dtype=torch.float64)
    want = math.log(2 * math.pi * h**2) + ((x - centre) ** 2).sum(1) / (2 * h**2)
    assert torch.allclose(density.kde_nll(centre, x, h), want)
    train = _points(9, seed=3)
    loo = density.kde_nll(train, train, h, leave_one_out=True)
    for i in range(len(train)):
        others = torch.cat([train[:i], train[i + 1:]])
        assert torch.isclose(loo[i], density.kde_nll(others, train[i:i + 1], h)[0])
    assert (loo > density.kde_nll(train, train, h)).all()  # without its own kernel: less dense


def test_kde_bandwidth_is_the_best_of_the_grid_by_leave_one_out():
    train = _points(400, seed=4, scale=(0.5, 0.5))
    h = density.kde_bandwidth(train)
    assert h in density.BANDWIDTHS
    loo = [float(density.kde_nll(train, train, b, leave_one_out=True).mean())
           for b in density.BANDWIDTHS]
    assert h == density.BANDWIDTHS[int(np.argmin(loo))]
    silverman = 0.5 * len(train) ** (-1 / 6)  # the normal reference rule in 2-D
    assert silverman / 2 < h < 2 * silverman
    assert len(density.BANDWIDTHS) == 41 and density.BANDWIDTHS[0] == 0.01
    assert math.isclose(density.BANDWIDTHS[-1], 1.0)


def test_ode_nll_is_cached_and_counts_folds(tmp_cache):
    train = _points(8, seed=5).float()
    memoriser = ExactDenoiser(train, 1e-4, 0.05, 20)
    x = torch.cat([train, _points(4, seed=6).float()])
    first = density.ode_nll(memoriser, x)
    assert first["nll"].shape == first["folds"].shape == (12,)
    assert first["nll"].dtype == torch.float64  # the exact denoiser: in float64
    assert list((tmp_cache / "results").glob("*.pt"))
    again = density.ode_nll(memoriser, x)
    assert torch.equal(again["nll"], first["nll"]) and torch.equal(again["folds"], first["folds"])
    assert (first["folds"][:8] == 0).all()  # no step folds the plane at a training point
    other = density.ode_nll(memoriser, x, num_steps=5)
    assert not torch.equal(other["nll"], first["nll"])


def test_nll_table_means_and_intervals_over_points(tmp_cache):
    data = _points(40, seed=7).float()
    ref = Reference(data[:30], data[30:])
    memoriser = ExactDenoiser(ref.train, 1e-4, 0.05, 20)
    df = density.nll_table({"memoriser": memoriser}, ref)
    assert list(df.index) == ["memoriser", "gaussian", "kde"]
    assert list(df.columns) == ["train", "held-out"]
    assert df.attrs["bandwidth"] in density.BANDWIDTHS
    for name in df.index:
        for split, n in (("train", 30), ("held-out", 10)):
            values = df.attrs["nll"][name][split]
            assert values.shape == (n,)
            mean, half = df.attrs["interval"][name][split]
            want = mean_interval(values, 0.95)
            assert math.isclose(mean, want[0]) and math.isclose(half, want[1])
            assert df.loc[name, split] == format_interval(mean, half)
    means = {n: {s: df.attrs["interval"][n][s][0] for s in density.SPLITS} for n in df.index}
    assert means["memoriser"]["train"] + 5 < means["memoriser"]["held-out"]  # it memorised
    gaussian = density.gaussian_fit_nll(ref.train, ref.heldout).mean()
    assert math.isclose(means["gaussian"]["held-out"], float(gaussian))
    steps = density.nll_table({"memoriser": memoriser}, ref, num_steps=5, baselines=False)
    assert list(steps.index) == ["memoriser"] and steps.attrs["bandwidth"] is None
    # a closed form as a row: its values, no folds
    closed = density.nll_table({"wide": lambda x: density.kde_nll(ref.train, x, 0.5)}, ref,
                               baselines=False)
    assert np.allclose(closed.attrs["nll"]["wide"]["held-out"],
                       density.kde_nll(ref.train, ref.heldout, 0.5).numpy())
    assert not closed.attrs["folds"]["wide"]["train"].any()


def test_log_density_grid(tmp_cache):
    train = _points(6, seed=8)
    gx, gy, logp = density.log_density_grid(lambda x: density.kde_nll(train, x, 0.5),
                                            (-1.0, 1.0, 0.5), (-0.5, 0.5, 0.5))
    assert gx.shape == gy.shape == logp.shape == (2, 4)
    point = torch.tensor([[gx[1, 2], gy[1, 2]]])
    assert math.isclose(logp[1, 2], -float(density.kde_nll(train, point, 0.5)))
    memoriser = ExactDenoiser(train.float(), 1e-4, 0.05, 10)
    assert density.log_density_grid(memoriser, (-1.0, 1.0, 0.5))[2].shape == (4, 4)


def test_bad_input():
    train = _points(5)
    with pytest.raises(ValueError, match="bandwidth must be a positive number"):
        density.kde_nll(train, train, 0.0)
    with pytest.raises(ValueError, match="leave_one_out"):
        density.kde_nll(train, train[:3], 0.1, leave_one_out=True)
    with pytest.raises(ValueError, match="bandwidths must not be empty"):
        density.kde_bandwidth(train, ())
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        density.gaussian_fit_nll(train, train[:, :1])


def test_the_memoriser_on_its_training_points_is_a_kde_of_half_the_first_noise_level(tmp_cache):
    """The exact flow carries the noised training set onto itself; at the first noise level
    sigma_0 it is a bump of width sigma_0 on each point, and the first Euler step (y -> 2y - x_i
    near x_i) halves the width: on the training points the memoriser's NLL is that of a KDE with
    bandwidth sigma_0 / 2 (the chapter's closed form)."""
    train = _points(12, seed=9, scale=(2.0, 2.0)).float()  # far apart on the scale of sigma_0
    memoriser = ExactDenoiser(train, 1e-4, 0.05, 200)
    ab0 = float(memoriser.alpha_bars[0])
    sigma_0 = math.sqrt((1 - ab0) / ab0)
    got = density.ode_nll(memoriser, train)["nll"]
    want = density.kde_nll(train, train, sigma_0 / 2)
    assert (got - want).abs().max() < 0.05
