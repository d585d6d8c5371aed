import pytest
import torch

from diffusion2d import forward_noise_dataset, get_diffusion_parameters, q_sample
from diffusion2d.forward import marginal_moments


def test_iterative_noising_matches_closed_form_moments(dino):
    """Eq. 2 iterated T times has the moments of eq. 4: mean sqrt(ab) mu, var ab var + 1 - ab."""
    g = torch.Generator().manual_seed(0)
    x0 = dino.repeat(200, 1)  # (28400, 2): many noise draws per point
    xs = forward_noise_dataset(x0, 1e-4, 0.05, 50, generator=g)
    assert len(xs) == 51 and torch.equal(xs[0], x0)
    _, _, alpha_bars = get_diffusion_parameters(1e-4, 0.05, 50)
    for k in (1, 12, 50):
        mean, var = marginal_moments(x0.mean(0), x0.var(0, unbiased=False), alpha_bars[k - 1])
        assert torch.allclose(xs[k].mean(0), mean, atol=0.02)
        assert torch.allclose(xs[k].var(0), var, rtol=0.03)


def test_first_step_by_hand():
    x0 = torch.tensor([[1.0, -2.0]])
    g = torch.Generator().manual_seed(3)
    xs = forward_noise_dataset(x0, 0.1, 0.3, 2, generator=g)
    g = torch.Generator().manual_seed(3)
    e1, e2 = torch.randn(1, 2, generator=g), torch.randn(1, 2, generator=g)
    x1 = 0.9**0.5 * x0 + 0.1**0.5 * e1
    x2 = 0.7**0.5 * x1 + 0.3**0.5 * e2  # sqrt(alpha_2), not sqrt(alpha_bar_2) (workshop bug)
    assert torch.allclose(xs[1], x1) and torch.allclose(xs[2], x2)


def test_q_sample_closed_form_and_distribution(dino):
    _, _, alpha_bars = get_diffusion_parameters(1e-4, 0.05, 50)
    x0 = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
    eps = torch.tensor([[0.5, -0.5], [1.0, 1.0]])
    t = torch.tensor([0, 49])
    out = q_sample(x0, t, eps, alpha_bars)
    ab = alpha_bars[t].unsqueeze(1)
    assert torch.allclose(out, ab.sqrt() * x0 + (1 - ab).sqrt() * eps)
    # In distribution: closed form at step t equals the iterative process after t + 1 steps.
    g = torch.Generator().manual_seed(1)
    x0 = dino.repeat(200, 1)
    iterative = forward_noise_dataset(x0, 1e-4, 0.05, 50, generator=g)[25]
    closed = q_sample(x0, 24, torch.randn(x0.shape, generator=g), alpha_bars)
    assert torch.allclose(iterative.mean(0), closed.mean(0), atol=0.02)
    assert torch.allclose(iterative.var(0), closed.var(0), rtol=0.03)


def test_q_sample_bad_input():
    _, _, ab = get_diffusion_parameters(1e-4, 0.05, 10)
    x0 = torch.zeros(4, 2)
    with pytest.raises(ValueError, match="x0 must have shape"):
        q_sample(torch.zeros(4, 3), 0, torch.zeros(4, 3), ab)
    with pytest.raises(ValueError, match="eps must have shape"):
        q_sample(x0, 0, torch.zeros(3, 2), ab)
    with pytest.raises(ValueError, match=r"t must be 0-based steps in \[0, 9\]"):
        q_sample(x0, 10, x0, ab)
    with pytest.raises(ValueError, match="t has 3 steps but the batch has 4"):
        q_sample(x0, torch.tensor([0, 1, 2]), x0, ab)
    with pytest.raises(TypeError, match="integer steps"):
        q_sample(x0, torch.zeros(4), x0, ab)
    with pytest.raises(TypeError, match="floating-point"):
        q_sample(torch.zeros(4, 2, dtype=torch.long), 0, x0, ab)
    with pytest.raises(TypeError, match="dataset must be a floating-point torch.Tensor"):
        forward_noise_dataset([[0.0, 0.0]], 1e-4, 0.05, 10)
