import math

import pytest
import torch

from diffusion2d import DenoisingMLP, TrainConfig, train
from diffusion2d.flow import (
    VelocityMLP,
    exact_velocity,
    flow_loss,
    flow_path,
    flow_sample,
    path_length_ratio,
)
from diffusion2d.protocol import split_losses
from diffusion2d.training import build_model, loss_batches

POINTS = torch.tensor([[-1.0, 0.5], [0.8, 1.2], [0.3, -1.1], [1.5, -0.2], [-0.6, -0.9]],
                      dtype=torch.float64)


def gaussian_velocity(s: float):
    """The exact field E[x_1 - z | x_t] for data N(0, s^2 I): u_t(x) = (t s^2 - (1 - t)) x / m_t
    with m_t = (1 - t)^2 + t^2 s^2 = Var(x_t) (Gaussian conditioning)."""
    def v(x, t):
        t = t[:, None].to(x.dtype)
        return (t * s**2 - (1.0 - t)) / ((1.0 - t) ** 2 + t**2 * s**2) * x
    return v


def test_path_and_loss_by_hand():
    x1 = torch.tensor([[1.0, 2.0], [-1.0, 0.0]])
    z = torch.tensor([[0.5, -0.5], [2.0, 1.0]])
    t = torch.tensor([0.25, 0.5])
    xt = torch.tensor([[0.625, 0.125], [0.5, 0.5]])  # (1 - t) z + t x1
    assert torch.allclose(flow_path(x1, z, t), xt)
    assert torch.equal(flow_path(x1, z, torch.zeros(2)), z)  # t = 0: noise
    assert torch.equal(flow_path(x1, z, torch.ones(2)), x1)  # t = 1: data
    # target x1 - z = [[0.5, 2.5], [-3, -1]]: a zero model scores its mean square
    assert flow_loss(lambda x, t: torch.zeros_like(x), x1, z, t).item() == pytest.approx(4.125)
    # a model returning x_t: mean of ([-0.125, 2.375], [-3.5, -1.5])^2
    want = (0.125**2 + 2.375**2 + 3.5**2 + 1.5**2) / 4
    assert flow_loss(lambda x, t: x, x1, z, t).item() == pytest.approx(want)
    assert flow_loss(lambda x, t: x1 - z, x1, z, t).item() == 0.0


@pytest.mark.parametrize("s", [0.5, 2.0])
def test_loss_of_the_exact_field_is_the_conditional_variance(s):
    """For data N(0, s^2 I) at a fixed t the minimal flow-matching loss is Var(x_1 - z | x_t) per
    coordinate: (s^2 + 1) - (t s^2 - (1 - t))^2 / m_t (Gaussian conditioning)."""
    g = torch.Generator().manual_seed(0)
    n, t = 200_000, 0.3
    x1 = s * torch.randn(n, 2, generator=g, dtype=torch.float64)
    z = torch.randn(n, 2, generator=g, dtype=torch.float64)
    m = (1 - t) ** 2 + t**2 * s**2
    want = s**2 + 1 - (t * s**2 - (1 - t)) ** 2 / m
    got = flow_loss(gaussian_velocity(s), x1, z, torch.full((n,), t, dtype=torch.float64))
    assert got.item() == pytest.approx(want, rel=0.01)
    worse = flow_loss(lambda x, tt: 1.1 * gaussian_velocity(s)(x, tt), x1, z, torch.tensor(t))
    assert worse.item() > got.item()  # the conditional mean is the minimiser


def test_exact_velocity_matches_the_softmax_written_out():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(6, 2, generator=g, dtype=torch.float64)
    t = torch.tensor([0.0, 0.1, 0.4, 0.7, 0.9, 0.99], dtype=torch.float64)
    for n in range(6):
        logw = [-((x[n] - t[n] * p) ** 2).sum() / (2 * (1 - t[n]) ** 2) for p in POINTS]
        w = torch.softmax(torch.stack(logw), 0)
        want = ((w[:, None] * POINTS).sum(0) - x[n]) / (1 - t[n])
        assert torch.allclose(exact_velocity(x[n : n + 1], POINTS, t[n]), want[None], atol=1e-12)
    # one data point: the straight line to it; t = 0: towards the mean of the data
    assert torch.allclose(exact_velocity(x, POINTS[:1], t), (POINTS[:1] - x) / (1 - t[:, None]))
    assert torch.allclose(exact_velocity(x, POINTS, 0.0), POINTS.mean(0) - x)
    with pytest.raises(ValueError, match="singular"):
        exact_velocity(x, POINTS, 1.0)


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_samplers_driven_by_the_exact_field_land_on_the_data(method):
    calls = []

    def field(x, t):
        calls.append(float(t[0]))
        return exact_velocity(x.double(), POINTS, t.double()).float()

    xs = flow_sample(300, field, num_steps=50, method=method,
                     generator=torch.Generator().manual_seed(0))
    assert len(xs) == 51 and all(x.shape == (300, 2) for x in xs)
    assert torch.equal(xs[0], torch.randn(300, 2, generator=torch.Generator().manual_seed(0)))
    gap = torch.cdist(xs[-1].double(), POINTS).min(1).values
    assert gap.max() < 1e-4
    assert len(calls) == (99 if method == "heun" else 50) and max(calls) < 1.0  # never at t = 1


@pytest.mark.parametrize("method", ["euler", "heun"])
def test_flow_sample_matches_diffusers(method):
    """Our grid t_k = k / n is diffusers' sigma = 1 - t with num_train_timesteps = n, and its
    model output (d x / d sigma) is minus our velocity; Heun skips the correction to sigma = 0."""
    import diffusers

    n = 8
    torch.manual_seed(0)
    model = VelocityMLP(hidden=16, num_blocks=2).eval()
    kind = {"euler": diffusers.FlowMatchEulerDiscreteScheduler,
            "heun": diffusers.FlowMatchHeunDiscreteScheduler}[method]
    scheduler = kind(num_train_timesteps=n)
    scheduler.set_timesteps(n)
    x = torch.randn(16, 2, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        for timestep in scheduler.timesteps:
            t = (1.0 - timestep / n).expand(16)
            x = scheduler.step(-model(x, t), timestep, x).prev_sample
    ours = flow_sample(16, model, n, method, torch.Generator().manual_seed(3))[-1]
    assert torch.allclose(ours, x, atol=1e-5)


def test_velocity_mlp_has_the_trunk_of_denoising_mlp():
    torch.manual_seed(0)
    flow = VelocityMLP("fourier", "fourier", hidden=16, num_blocks=2, T=64)
    torch.manual_seed(0)
    ddpm = DenoisingMLP(1e-4, 0.05, 64, "fourier", "fourier", hidden=16, num_blocks=2)
    params = dict(ddpm.named_parameters())
    assert {k: p.shape for k, p in flow.named_parameters()} == {k: p.shape for k, p in
                                                                 params.items()}
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(1))
    steps = torch.tensor([0, 1, 17, 40, 63])
    # same initial weights, and time t = step / T is the DDPM model's step t exactly (T = 2^6)
    assert torch.equal(flow(x, steps / 64), ddpm(x, steps))
    assert not torch.allclose(flow(x, torch.zeros(5)), flow(x, torch.ones(5)))
    with pytest.raises(TypeError, match="float times"):
        flow(x, steps)
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        flow(x, torch.full((5,), 1.5))
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        flow(x, torch.zeros(4))
    with pytest.raises(ValueError, match="input_embedding"):
        VelocityMLP("sinus")
    with pytest.raises(ValueError, match="time_embedding"):
        VelocityMLP(time_embedding="none")


def test_flow_sample_bad_input():
    model = VelocityMLP(hidden=8, num_blocks=1)
    with pytest.raises(ValueError, match="method must be one of"):
        flow_sample(4, model, method="rk4")
    with pytest.raises(ValueError, match="num_steps"):
        flow_sample(4, model, num_steps=0)
    with pytest.raises(ValueError, match="num_samples"):
        flow_sample(0, model)
    model.train()
    flow_sample(4, model, num_steps=2)
    assert model.training  # restored


def test_path_length_ratio():
    line = [torch.tensor([[0.0, 0.0]]) + k * torch.tensor([[1.0, 2.0]]) for k in range(4)]
    corner = [torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[1.0, 1.0]])]
    assert path_length_ratio(line).item() == pytest.approx(1.0)
    assert path_length_ratio(corner).item() == pytest.approx(math.sqrt(2.0))
    # one data point: the exact flow moves every particle on a straight line
    xs = flow_sample(20, lambda x, t: exact_velocity(x, POINTS[:1].float(), t), 10, "heun",
                     torch.Generator().manual_seed(0))
    assert torch.allclose(path_length_ratio(xs), torch.ones(20), atol=1e-5)
    with pytest.raises(ValueError, match="at least 2"):
        path_length_ratio(line[:1])
    with pytest.raises(ValueError, match=r"xs\[1\] must have shape"):
        path_length_ratio([torch.zeros(3, 2), torch.zeros(2, 2)])


def test_train_flow_matching_uses_the_same_loop(dino):
    cfg = TrainConfig(objective="flow_matching", hidden=32, num_blocks=2, epochs=60,
                      eval_every=20, eval_repeats=8)
    x1, z, t = loss_batches(cfg, dino)["held-out"]
    assert t.is_floating_point() and 0.0 <= float(t.min()) and float(t.max()) < 1.0
    model, history = train(cfg, data=dino, progress=False)
    assert isinstance(model, VelocityMLP) and isinstance(build_model(cfg), VelocityMLP)
    assert history.epochs == [1, 20, 40, 60] and not model.training
    assert history.test_loss[-1] < 0.9 * history.test_loss[0]
    # the held-out loss is the flow-matching loss on the fixed draws, as the protocol reports it
    assert history.test_loss[-1] == pytest.approx(flow_loss(model, x1, z, t).item(), rel=1e-6)
    assert split_losses(model, cfg, dino) == {"train": history.train_loss[-1],
                                              "held-out": history.test_loss[-1]}
    again, _ = train(cfg, data=dino, progress=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="TrainConfig.objective must be one of"):
        TrainConfig(objective="score")
