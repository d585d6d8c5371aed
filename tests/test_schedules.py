import math

import pytest
import torch

from diffusion2d import get_diffusion_parameters
from diffusion2d.schedules import alpha_bars_prev, signal_to_noise


def test_values_by_hand():
    betas, alphas, alpha_bars = get_diffusion_parameters(0.1, 0.3, 3)
    assert torch.allclose(betas, torch.tensor([0.1, 0.2, 0.3]))
    assert torch.allclose(alphas, torch.tensor([0.9, 0.8, 0.7]))
    assert torch.allclose(alpha_bars, torch.tensor([0.9, 0.72, 0.504]))
    assert betas.dtype == alphas.dtype == alpha_bars.dtype == torch.float32


def test_workshop_schedule_end_is_not_pure_noise():
    betas, _, alpha_bars = get_diffusion_parameters(1e-4, 0.05, 50)
    assert betas[0].item() == pytest.approx(1e-4)
    assert betas[-1].item() == pytest.approx(0.05)  # inclusive
    expected = math.prod(1.0 - (1e-4 + k * (0.05 - 1e-4) / 49) for k in range(50))
    assert alpha_bars[-1].item() == pytest.approx(expected, rel=1e-5)
    assert 0.27 < alpha_bars[-1].item() < 0.29


def test_single_step_and_helpers():
    betas, alphas, alpha_bars = get_diffusion_parameters(0.02, 0.02, 1)
    assert betas.shape == (1,) and alpha_bars.item() == pytest.approx(0.98)
    _, _, ab = get_diffusion_parameters(0.1, 0.3, 3)
    assert torch.allclose(alpha_bars_prev(ab), torch.tensor([1.0, 0.9, 0.72]))
    assert torch.allclose(signal_to_noise(ab), ab / (1 - ab))


@pytest.mark.parametrize(
    "args, error, match",
    [
        ((0.0, 0.02, 10), ValueError, "beta_min"),
        ((1e-4, 1.0, 10), ValueError, "beta_max"),
        ((-0.1, 0.02, 10), ValueError, "beta_min"),
        ((0.03, 0.02, 10), ValueError, "must not exceed"),
        ((1e-4, 0.02, 0), ValueError, "T must be at least 1"),
        ((1e-4, 0.02, 2.5), TypeError, "T must be an int"),
        ((1e-4, "0.02", 10), TypeError, "beta_max must be a number"),
        ((float("nan"), 0.02, 10), ValueError, "beta_min"),
    ],
)
def test_bad_schedule_arguments(args, error, match):
    with pytest.raises(error, match=match):
        get_diffusion_parameters(*args)


def test_register_schedule_gives_a_module_the_schedule_as_buffers():
    from torch import nn

    from diffusion2d.schedules import register_schedule

    module = nn.Module()
    register_schedule(module, 1e-4, 0.02, 50)
    betas, alphas, alpha_bars = get_diffusion_parameters(1e-4, 0.02, 50)
    assert module.T == 50
    assert list(module.state_dict()) == ["betas", "alphas", "alpha_bars"]
    assert torch.equal(module.betas, betas) and torch.equal(module.alphas, alphas)
    assert torch.equal(module.alpha_bars, alpha_bars)
    with pytest.raises(ValueError, match="beta_max"):
        register_schedule(nn.Module(), 0.02, 1.5, 50)
