"""flowcompare: the SNR-matched flow time, and each model's data estimate against closed forms."""

import pytest
import torch

from diffusion2d.exact import ExactDenoiser
from diffusion2d.flow import exact_velocity, flow_path
from diffusion2d.flowcompare import data_estimates, flow_time, matched_errors

POINTS = torch.tensor([[-1.0, 0.5], [0.8, 1.2], [0.3, -1.1], [1.5, -0.2], [-0.6, -0.9]])


class ExactVelocity(torch.nn.Module):
    """flow.exact_velocity of POINTS as a model."""

    def forward(self, x, t):
        return exact_velocity(x.double(), POINTS.double(), t.double()).float()


def test_flow_time_has_the_same_signal_to_noise_ratio():
    ab = torch.tensor([0.01, 0.28, 0.5, 0.9, 0.9999], dtype=torch.float64)
    t = flow_time(ab)
    assert torch.allclose(t / (1 - t), (ab / (1 - ab)).sqrt())
    assert float(flow_time(0.5)) == pytest.approx(0.5) and float(flow_time(1.0)) == 1.0
    c2 = t**2 + (1 - t) ** 2  # exact_velocity's scale: x_t / c is x at alpha_bar = t^2 / c^2
    assert torch.allclose(t**2 / c2, ab)
    with pytest.raises(ValueError, match="alpha_bar"):
        flow_time(0.0)


def test_the_two_points_are_one_point_in_two_scales():
    exact = ExactDenoiser(POINTS, 1e-4, 0.05, 10)
    g = torch.Generator().manual_seed(0)
    x0, eps = POINTS[torch.randint(0, 5, (50,), generator=g)], torch.randn(50, 2, generator=g)
    for step in (0, 4, 9):
        est = data_estimates(exact, ExactVelocity(), POINTS, step, x0, eps)
        # the exact models estimate the exact E[x_0 | x_t], in either convention
        assert torch.allclose(est["DDPM"], est["exact"], atol=1e-5)
        assert torch.allclose(est["flow"], est["exact"], atol=1e-4)
        ab = exact.alpha_bars[step].double()
        t = float(flow_time(ab))
        c = 1.0 / (ab.sqrt() + (1 - ab).sqrt())
        x_flow = flow_path(x0.double(), eps.double(), torch.tensor(t, dtype=torch.float64))
        x_ddpm = ab.sqrt() * x0.double() + (1 - ab).sqrt() * eps.double()
        assert torch.allclose(x_flow, c * x_ddpm)


def test_matched_errors_table():
    exact = ExactDenoiser(POINTS, 1e-4, 0.05, 10)
    df = matched_errors(exact, ExactVelocity(), POINTS, (0, 9), num=100)
    assert list(df.index) == [0, 9] and list(df.columns) == ["alpha_bar", "flow t", "DDPM", "flow"]
    assert df.index.name == "step"  # 0-based DDPM steps
    assert (df[["DDPM", "flow"]] < 1e-4).all().all()
    zero = torch.nn.Module()
    zero.forward = lambda x, t: torch.zeros_like(x)  # no velocity: the estimate is x_t itself
    assert (matched_errors(exact, zero, POINTS, (9,), num=100)["flow"] > 0.1).all()
