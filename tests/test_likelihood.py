import math

import pytest
import torch

from diffusion2d import DenoisingMLP, ExactDenoiser, cosine_schedule, get_diffusion_parameters
from diffusion2d.flow import VelocityMLP
from diffusion2d.likelihood import flow_nll, jacobian, nll, nll_terms


class GaussianEps(torch.nn.Module):
    """The exact E[eps | x_t] for data N(0, s^2 I): q(x_t) = N(0, v_t I) with v_t = alpha_bar_t
    s^2 + 1 - alpha_bar_t, so E[eps | x_t] = sqrt(1 - alpha_bar_t) x_t / v_t (for s = 1 the
    issue's sqrt(1 - alpha_bar_t) x_t)."""

    def __init__(self, s: float, schedule: tuple):
        super().__init__()
        self.s, self.T = s, len(schedule[0])
        self.betas, self.alphas, self.alpha_bars = schedule

    def forward(self, xt, t):
        ab = self.alpha_bars.to(xt.dtype)[t][:, None]  # (N, 1)
        return (1.0 - ab).sqrt() * xt / (ab * self.s**2 + 1.0 - ab)


def points(s: float, n: int = 100) -> torch.Tensor:
    return s * torch.randn(n, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


LINEAR = get_diffusion_parameters(1e-4, 0.05, 200)  # alpha_bar_{T-1} = 0.006


@pytest.mark.parametrize("schedule", [LINEAR, cosine_schedule(200)], ids=["linear", "cosine"])
def test_standard_normal_matches_the_analytic_nll(schedule):
    """The issue's acceptance test: data N(0, I), exact eps, alpha_bar_{T-1} near 0. The cosine
    schedule's last step multiplies sigma by 32: the exact log-determinant of the step holds."""
    model = GaussianEps(1.0, schedule)
    assert float(model.alpha_bars[-1]) < 0.01
    x = points(1.0)
    want = math.log(2 * math.pi) + (x**2).sum(1) / 2
    got = nll(model, x)
    assert got.shape == (100,) and got.dtype == torch.float64
    assert (got - want).abs().max() < 0.02


@pytest.mark.parametrize("s", [0.5, 2.0])
def test_gaussian_of_another_variance(s):
    """The exact ODE scales x by c = sqrt(v_{T-1}) / s from the data to the noise end, where the
    prior N(0, I) sits: NLL = log(2 pi) + c^2 |x|^2 / 2 - 2 log c, which is the true
    log(2 pi s^2) + |x|^2 / (2 s^2) as alpha_bar_{T-1} -> 0."""
    model = GaussianEps(s, LINEAR)
    ab = float(model.alpha_bars[-1])
    c2 = (ab * s**2 + 1 - ab) / s**2
    x = points(s)
    want = math.log(2 * math.pi) + c2 * (x**2).sum(1) / 2 - math.log(c2)
    got = nll(model, x)
    assert (got - want).abs().max() < 0.01
    true = math.log(2 * math.pi * s**2) + (x**2).sum(1) / (2 * s**2)
    assert (got - true).mean().abs() < 0.05  # the prior mismatch of alpha_bar_{T-1} = 0.006


def test_num_steps_subsamples_the_grid():
    model = GaussianEps(0.5, LINEAR)
    x = points(0.5, 20)
    full = nll(model, x)
    assert torch.equal(nll(model, x, num_steps=200), full)
    coarse = nll(model, x, num_steps=100)
    assert not torch.equal(coarse, full) and (coarse - full).abs().max() < 0.01


def test_the_memoriser_scores_training_points_far_better_than_held_out_ones():
    g = torch.Generator().manual_seed(2)
    data = torch.randn(12, 2, generator=g, dtype=torch.float64)
    train, held_out = data[:10], data[10:]
    memoriser = ExactDenoiser(train, 1e-4, 0.05, 50)
    on_train, on_held_out = nll(memoriser, train), nll(memoriser, held_out)
    assert torch.isfinite(on_train).all() and torch.isfinite(on_held_out).all()
    assert on_train.max() + 20 < on_held_out.min()


def test_nll_terms_add_up_and_report_folds():
    """nll is -(prior + the steps' log-determinants); a smooth flow never turns the plane over,
    while the memoriser's long first Heun step (2 steps) folds it between training points."""
    model = GaussianEps(0.5, LINEAR)
    x = points(0.5, 20)
    terms = nll_terms(model, x, num_steps=10)
    assert terms.log_prior.shape == (20,) and terms.log_dets.shape == terms.signs.shape == (20, 10)
    assert torch.equal(-(terms.log_prior + terms.log_dets.sum(1)), nll(model, x, num_steps=10))
    assert (terms.signs == 1).all()
    g = torch.Generator().manual_seed(2)
    data = torch.randn(12, 2, generator=g, dtype=torch.float64)
    memoriser = ExactDenoiser(data[:10], 1e-4, 0.05, 50)
    between = (data[:5] + data[5:10]) / 2  # midpoints between training points
    assert (nll_terms(memoriser, between, num_steps=2).signs < 0).any()
    assert (nll_terms(memoriser, data[:10], num_steps=2).signs > 0).all()


def test_jacobian_is_exact():
    a = torch.tensor([[1.0, 2.0], [-3.0, 0.5]], dtype=torch.float64)
    y = torch.randn(7, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    out, jac = jacobian(lambda v: v @ a.T, y)
    assert torch.allclose(out, y @ a.T) and torch.allclose(jac, a.expand(7, 2, 2))
    # f = (sin(y0) y1, y0 y1^2): J = [[cos(y0) y1, sin(y0)], [y1^2, 2 y0 y1]]
    _, jac = jacobian(lambda v: torch.stack([v[:, 0].sin() * v[:, 1], v[:, 0] * v[:, 1] ** 2],
                                            1), y)
    y0, y1 = y[:, 0], y[:, 1]
    want = torch.stack([torch.stack([y0.cos() * y1, y0.sin()], 1),
                        torch.stack([y1**2, 2 * y0 * y1], 1)], 1)
    assert torch.allclose(jac, want)


def test_flow_nll_of_a_gaussian():
    """The exact velocity of data N(0, s^2 I), integrated from t = 1 to the N(0, I) prior at t = 0,
    gives the analytic log(2 pi s^2) + |x|^2 / (2 s^2)."""
    for s in (0.5, 1.0, 2.0):
        def velocity(x, t, s=s):
            t = t[:, None].to(x.dtype)
            return (t * s**2 - (1.0 - t)) / ((1.0 - t) ** 2 + t**2 * s**2) * x

        x = points(s)
        want = math.log(2 * math.pi * s**2) + (x**2).sum(1) / (2 * s**2)
        assert (flow_nll(velocity, x, num_steps=50) - want).abs().max() < 0.01


def test_models_are_left_as_they_were():
    torch.manual_seed(0)
    x = torch.randn(5, 2)
    ddpm = DenoisingMLP(1e-4, 0.05, 10, hidden=8, num_blocks=1)
    for model, score in ((VelocityMLP(hidden=8, num_blocks=1), lambda m: flow_nll(m, x, 3)),
                         (ddpm, lambda m: nll(m, x))):
        out = score(model.train())
        assert out.shape == (5,) and out.dtype == torch.float32 and torch.isfinite(out).all()
        assert model.training and all(p.grad is None for p in model.parameters())


def test_bad_input():
    model = GaussianEps(1.0, get_diffusion_parameters(1e-4, 0.05, 20))
    x = points(1.0, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\)"):
        nll(model, x[:, :1])
    with pytest.raises(ValueError, match="num_steps"):
        nll(model, x, num_steps=0)
    with pytest.raises(ValueError, match="num_steps"):
        nll(model, x, num_steps=21)
    model.alpha_bars[-1] = 0.0  # zero terminal SNR
    with pytest.raises(ValueError, match="zero terminal SNR"):
        nll(model, x)
    with pytest.raises(ValueError, match="num_steps"):
        flow_nll(lambda y, t: y, x, num_steps=0)
    with pytest.raises(TypeError, match="use flow_nll"):
        nll(VelocityMLP(hidden=8, num_blocks=1), x.float())
