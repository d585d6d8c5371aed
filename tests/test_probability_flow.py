"""Euler and Heun on the probability-flow ODE in (sigma, x / sqrt(alpha_bar)) (Karras et al. 2022,
Algorithm 1), and the count of network evaluations of every sampler."""

import pytest
import torch

from diffusion2d import ExactDenoiser, evaluations, make_schedule, sample
from diffusion2d.metrics import nearest_neighbour_distances


class Counting(torch.nn.Module):
    """eps_theta(x, t) = tanh(x) (1 + t / T), counting its calls and the points it saw."""

    def __init__(self, schedule="linear", T=50):
        super().__init__()
        self.betas, self.alphas, self.alpha_bars = make_schedule(schedule, 1e-4, 0.05, T)
        self.T, self.calls = T, 0

    def forward(self, x, t):
        self.calls += 1
        return torch.tanh(x) * (1 + t.float()[:, None] / self.T)


@pytest.mark.parametrize("num_steps", [None, 10, 1])
def test_euler_is_deterministic_ddim(num_steps):
    model = Counting()
    euler = sample(32, model, "euler", torch.Generator().manual_seed(0), num_steps)
    ddim = sample(32, model, "ddim", torch.Generator().manual_seed(0), num_steps)
    assert len(euler) == len(ddim) and torch.equal(euler[0], ddim[0])
    for a, b in zip(euler, ddim, strict=True):
        assert torch.allclose(a, b, atol=1e-5)


def test_one_heun_step_by_hand():
    """Two steps t = 1 -> 0 -> clean: Heun corrects the first, not the last (to sigma = 0)."""
    model = Counting(T=2)
    ab = model.alpha_bars
    s1, s0 = ((1 - ab[1]) / ab[1]).sqrt(), ((1 - ab[0]) / ab[0]).sqrt()
    xs = sample(3, model, "heun", torch.Generator().manual_seed(0))
    x = torch.randn(3, 2, generator=torch.Generator().manual_seed(0))
    y = x / ab[1].sqrt()
    d = torch.tanh(x) * 1.5  # eps at t = 1
    y_euler = y + (s0 - s1) * d
    d_next = torch.tanh(y_euler * ab[0].sqrt())  # eps at t = 0
    y = y + (s0 - s1) * (d + d_next) / 2
    assert torch.allclose(xs[1], y * ab[0].sqrt(), atol=1e-6)
    y = y + (0 - s0) * torch.tanh(xs[1])  # Euler to sigma = 0: y is x
    assert torch.allclose(xs[2], y, atol=1e-6) and model.calls == 3


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")  # diffusers'
def test_euler_and_heun_match_diffusers():
    """EulerDiscreteScheduler and HeunDiscreteScheduler on the model's 50 steps, from the same
    x_T (diffusers' own start uses sigma_max, not sqrt(sigma_max^2 + 1), for this spacing)."""
    import diffusers

    model = Counting()
    for name, cls in (("euler", diffusers.EulerDiscreteScheduler),
                      ("heun", diffusers.HeunDiscreteScheduler)):
        ours = sample(16, model, name, torch.Generator().manual_seed(0))[-1]
        sched = cls(num_train_timesteps=50, trained_betas=model.betas.double().numpy())
        sched.set_timesteps(50)
        x_T = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))  # as sample draws it
        y = x_T * (sched.sigmas[0] ** 2 + 1) ** 0.5
        model.calls = 0
        for t in sched.timesteps:
            out = model(sched.scale_model_input(y, t), torch.full((16,), int(round(float(t)))))
            y = sched.step(out, t, y).prev_sample
        assert model.calls == evaluations(name, None, 50)
        assert torch.allclose(ours, y, atol=1e-5), name


def test_heun_on_the_exact_denoiser_lands_on_the_data(dino):
    model = ExactDenoiser(dino, 1e-4, 0.05, 50)
    for sampler in ("heun", "euler"):
        xs = sample(300, model, sampler, generator=torch.Generator().manual_seed(0))
        dist = nearest_neighbour_distances(xs[-1], dino)
        assert float((dist < 1e-3).double().mean()) > 0.9, sampler
        assert float(dist.median()) < 1e-4 and float(dist.max()) < 0.1, sampler


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "euler", "heun"])
@pytest.mark.parametrize("num_steps", [None, 7, 1])
def test_evaluations_count_the_model_calls(sampler, num_steps):
    model = Counting(T=20)
    xs = sample(4, model, sampler, torch.Generator().manual_seed(0), num_steps, eta=0.5)
    n = len(xs) - 1
    assert model.calls == evaluations(sampler, num_steps, 20)
    assert evaluations(sampler, num_steps, 20) == (2 * n - 1 if sampler == "heun" else n)


def test_evaluations_bad_input():
    assert evaluations("heun", 10, 50) == 19 and evaluations("ddpm", None, 50) == 50
    with pytest.raises(ValueError, match="sampler must be one of"):
        evaluations("rk4", 10, 50)
    with pytest.raises(ValueError, match="num_steps must be in"):
        evaluations("euler", 60, 50)
