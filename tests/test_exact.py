import math

import numpy as np
import pytest
import torch

from diffusion2d import ExactDenoiser, drift_grids, get_diffusion_parameters, sample
from diffusion2d.exact import exact_eps, posterior_mean_x0
from diffusion2d.metrics import nearest_neighbour_distances


def direct_drift(point, data, k, betas, alphas, alpha_bars):
    """E[mu_tilde | x_k] - x_k written out with Python floats for one grid point (eq. 7)."""
    ab, a, b = float(alpha_bars[k - 1]), float(alphas[k - 1]), float(betas[k - 1])
    ab_prev = float(alpha_bars[k - 2]) if k >= 2 else 1.0
    logw = [
        -((point[0] - math.sqrt(ab) * x) ** 2 + (point[1] - math.sqrt(ab) * y) ** 2)
        / (2 * (1 - ab))
        for x, y in data
    ]
    m = max(logw)
    w = [math.exp(v - m) for v in logw]
    s = sum(w)
    x0 = [sum(wi * d[j] for wi, d in zip(w, data, strict=True)) / s for j in range(2)]
    mu = [
        math.sqrt(ab_prev) * b / (1 - ab) * x0[j]
        + math.sqrt(a) * (1 - ab_prev) / (1 - ab) * point[j]
        for j in range(2)
    ]
    return [mu[j] - point[j] for j in range(2)]


def test_drift_grids_match_direct_computation():
    data = torch.tensor([[0.0, 1.0], [1.0, -1.0], [-1.5, 0.5]])
    T = 5
    grids = drift_grids(data, 0.01, 0.2, T, xrange=(-1, 1.01, 1.0), yrange=(-1, 1.01, 0.5))
    betas, alphas, alpha_bars = get_diffusion_parameters(0.01, 0.2, T)
    gx, gy = np.meshgrid(np.arange(-1, 1.01, 1.0), np.arange(-1, 1.01, 0.5))
    assert len(grids) == T + 1 and grids[0].shape == gx.shape + (2,)
    assert not grids[0].any()
    for k in range(1, T + 1):
        for iy in range(gx.shape[0]):
            for ix in range(gx.shape[1]):
                point = (gx[iy, ix], gy[iy, ix])
                want = direct_drift(point, data.tolist(), k, betas, alphas, alpha_bars)
                np.testing.assert_allclose(grids[k][iy, ix], want, rtol=1e-5, atol=1e-6)


def test_drift_grids_workshop_defaults_have_no_nan(dino):
    grids = drift_grids(dino, 1e-4, 0.05, 50)
    assert len(grids) == 51 and grids[1].shape == (27, 27, 2)
    assert all(np.isfinite(g).all() for g in grids)
    # At k = 1 (beta = 1e-4) every grid point is pulled towards its nearest data point.
    assert np.abs(grids[1]).max() > 0


def test_exact_denoiser_identities(dino):
    _, _, ab = get_diffusion_parameters(1e-4, 0.05, 50)
    xt = torch.randn(7, 2, generator=torch.Generator().manual_seed(0)).double()
    x0_hat = posterior_mean_x0(xt, dino.double(), ab[10].double())
    eps = exact_eps(xt, dino.double(), ab[10].double())
    recon = ab[10].double().sqrt() * x0_hat + (1 - ab[10].double()).sqrt() * eps
    assert torch.allclose(recon, xt)  # eq. 4 holds for the posterior means


def test_sampling_with_exact_denoiser_lands_on_data(dino):
    model = ExactDenoiser(dino, 1e-4, 0.05, 50)
    for sampler in ("ddpm", "ddim"):
        xs = sample(300, model, sampler=sampler, generator=torch.Generator().manual_seed(0))
        assert len(xs) == 51
        dist = nearest_neighbour_distances(xs[-1], dino)
        # almost every sample sits on a training point; a rare one ends between two close points
        assert float((dist < 1e-3).double().mean()) > 0.9, sampler
        assert float(dist.median()) < 1e-4, sampler
        assert float(dist.max()) < 0.1, sampler


def test_reverse_conditional_one_step_is_the_exact_reverse_step(dino):
    from diffusion2d.exact import exact_reverse_mean, mixture_share, reverse_conditional
    from diffusion2d.schedules import get_diffusion_parameters

    betas, alphas, alpha_bars = get_diffusion_parameters(1e-4, 0.05, 50)
    g = torch.Generator().manual_seed(0)
    xt = torch.randn(7, 2, generator=g, dtype=torch.float64)
    for t in (1, 2, 25, 50):  # paper states; the 0-based step is t - 1
        w, means, var = reverse_conditional(xt, dino, alpha_bars, t, t - 1)
        mixture_mean = (w[..., None] * means).sum(1)
        expected = exact_reverse_mean(xt, dino.double(), t - 1, alphas.double(),
                                      alpha_bars.double())  # fmt: skip
        assert torch.allclose(mixture_mean, expected, atol=1e-10)
        ab_prev = 1.0 if t == 1 else float(alpha_bars[t - 2])
        beta_tilde = (1 - ab_prev) / (1 - float(alpha_bars[t - 1])) * float(betas[t - 1])
        assert float(var) == pytest.approx(beta_tilde, rel=1e-4)  # DDPM eq. 7 (float32 schedule)
        assert torch.allclose(w.sum(1), torch.ones(7, dtype=torch.float64))
    # one data point: the conditional is one Gaussian, share 0; a jump to s = 0 from far away
    # is a mixture of point masses at the data: share 1
    one = mixture_share(xt, dino[:1], alpha_bars, 50, 49)
    assert torch.allclose(one, torch.zeros(7, dtype=torch.float64))
    assert torch.allclose(mixture_share(xt, dino, alpha_bars, 50, 0), torch.ones_like(one))
    with pytest.raises(ValueError, match="s < t"):
        reverse_conditional(xt, dino, alpha_bars, 3, 3)
    with pytest.raises(ValueError, match="T=50"):
        reverse_conditional(xt, dino, alpha_bars, 51, 1)
