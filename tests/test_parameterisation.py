"""The eps / x_0 / v identities (Salimans & Ho 2022), the models that predict x_0 or v, and sampling
them on the zero-terminal-SNR schedule (Lin et al. 2023), where an eps-model cannot give x_0."""

import math

import pytest
import torch
from torch import nn

from diffusion2d import (
    DenoisingMLP,
    ExactDenoiser,
    TrainConfig,
    ddim_step,
    ddpm_step,
    get_loss,
    make_schedule,
    sample,
    train,
)
from diffusion2d.exact import exact_eps, posterior_mean_x0
from diffusion2d.metrics import nearest_neighbour_distances
from diffusion2d.parameterisation import (
    eps_and_x0,
    eps_from_v,
    eps_from_x0,
    score_from_eps,
    target,
    v_from,
    x0_from_eps,
    x0_from_v,
)
from diffusion2d.schedules import register_schedule

G = torch.Generator().manual_seed(0)
X0, EPS = torch.randn(6, 2, generator=G), torch.randn(6, 2, generator=G)
AB = torch.rand(6, 1, generator=G) * 0.98 + 0.01  # (N, 1) in (0.01, 0.99)


@pytest.mark.parametrize("alpha_bar", [0.3, torch.tensor(0.3), AB, AB.flatten()])
def test_round_trips_for_every_way_of_giving_alpha_bar(alpha_bar):
    ab = torch.as_tensor(alpha_bar).reshape(-1, 1)
    xt = ab.sqrt() * X0 + (1 - ab).sqrt() * EPS  # DDPM eq. 4
    v = v_from(X0, EPS, alpha_bar)
    assert torch.allclose(v, ab.sqrt() * EPS - (1 - ab).sqrt() * X0)
    assert torch.allclose(x0_from_eps(xt, EPS, alpha_bar), X0, atol=1e-5)
    assert torch.allclose(eps_from_x0(xt, X0, alpha_bar), EPS, atol=1e-5)
    assert torch.allclose(eps_from_v(xt, v, alpha_bar), EPS, atol=1e-6)
    assert torch.allclose(x0_from_v(xt, v, alpha_bar), X0, atol=1e-6)
    assert torch.allclose(score_from_eps(EPS, alpha_bar), -EPS / (1 - ab).sqrt())
    # (x_t, v) is (x_0, eps) rotated: the norm of the pair is kept
    assert torch.allclose(xt**2 + v**2, X0**2 + EPS**2, atol=1e-5)
    for prediction, native in (("eps", EPS), ("x0", X0), ("v", v)):
        assert torch.allclose(target(prediction, X0, EPS, alpha_bar), native)
        eps, x0 = eps_and_x0(prediction, native, xt, alpha_bar)
        assert torch.allclose(eps, EPS, atol=1e-5) and torch.allclose(x0, X0, atol=1e-5)


def test_fixed_values_by_hand():
    x0, eps = torch.tensor([[1.0, 2.0]]), torch.tensor([[0.5, -1.0]])
    xt = torch.tensor([[1.1, 1.0]])  # 0.8 x0 + 0.6 eps at alpha_bar = 0.64
    assert torch.allclose(v_from(x0, eps, 0.64), torch.tensor([[-0.2, -2.0]]))
    assert torch.allclose(x0_from_v(xt, torch.tensor([[-0.2, -2.0]]), 0.64), x0)
    assert torch.allclose(score_from_eps(eps, 0.64), torch.tensor([[-0.5 / 0.6, 1 / 0.6]]))


def test_zero_snr_end_v_gives_x0_and_eps_does_not():
    xt = EPS  # alpha_bar = 0: x_t is the noise itself
    v = v_from(X0, EPS, 0.0)  # = -x_0
    assert torch.equal(x0_from_v(xt, v, 0.0), X0) and torch.equal(eps_from_v(xt, v, 0.0), EPS)
    assert not torch.isfinite(x0_from_eps(xt, EPS, 0.0)).any()  # 0 / 0


def test_score_from_eps_is_the_gradient_of_log_q(dino):
    """Tweedie: for the noised dino mixture, -E[eps | x_t] / sqrt(1 - alpha_bar) = grad log q."""
    ab = 0.4
    xt = torch.randn(5, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    xt.requires_grad_(True)
    data = dino.double()
    sq = ((xt[:, None, :] - math.sqrt(ab) * data[None]) ** 2).sum(-1)  # (N, M)
    torch.logsumexp(-sq / (2 * (1 - ab)), dim=1).sum().backward()
    eps = exact_eps(xt.detach(), data, torch.tensor(ab, dtype=torch.float64))
    assert torch.allclose(score_from_eps(eps, ab), xt.grad, atol=1e-10)


def test_diffusers_velocity_is_v():
    import diffusers

    sched = diffusers.DDPMScheduler(num_train_timesteps=50, beta_schedule="squaredcos_cap_v2")
    t = torch.tensor([0, 10, 25, 49, 3, 7])
    ref = sched.get_velocity(X0, EPS, t)
    assert torch.allclose(v_from(X0, EPS, sched.alphas_cumprod[t]), ref, atol=1e-6)


def test_model_returns_eps_for_every_prediction():
    x, t = torch.randn(5, 2, generator=G), torch.tensor([0, 3, 9, 5, 1])
    for prediction in ("eps", "x0", "v"):
        torch.manual_seed(0)
        model = DenoisingMLP(1e-4, 0.05, 10, hidden=8, num_blocks=1, prediction=prediction)
        out, ab = model.native(x, t), model.alpha_bars[t]
        eps, x0 = model.predict(x, t)
        assert torch.equal(model(x, t), eps)
        assert torch.allclose(eps_from_x0(x, x0, ab), eps, atol=1e-4)
        if prediction == "v":
            assert torch.allclose(v_from(x0, eps, ab), out, atol=1e-5)
        else:  # the native read-out itself
            assert torch.equal(eps if prediction == "eps" else x0, out)
    with pytest.raises(ValueError, match="prediction must be one of"):
        DenoisingMLP(1e-4, 0.05, 10, prediction="score")
    with pytest.raises(ValueError, match="TrainConfig.prediction"):
        TrainConfig(prediction="x_0")
    with pytest.raises(ValueError, match="schedule must be one of"):
        TrainConfig(schedule="sigmoid")


def test_loss_trains_the_native_target():
    _, _, ab = make_schedule("linear", 0.1, 0.3, 3)
    ts = torch.tensor([0, 2, 1, 1, 0, 2])
    xt = ab[ts].reshape(-1, 1).sqrt() * X0 + (1 - ab[ts].reshape(-1, 1)).sqrt() * EPS

    class Native(nn.Module):  # returns x_t as its native read-out
        def __init__(self, prediction):
            super().__init__()
            self.prediction = prediction

        def native(self, x, t):
            return x

    for prediction, want in (("x0", X0), ("v", v_from(X0, EPS, ab[ts]))):
        got = get_loss(Native(prediction), X0, EPS, ab, ts)
        assert got.item() == pytest.approx(((want - xt) ** 2).mean().item(), rel=1e-6)


@pytest.mark.parametrize("prediction", ["x0", "v"])
def test_x0_and_v_models_train_on_zero_snr(dino, prediction):
    cfg = TrainConfig(hidden=16, num_blocks=1, epochs=30, eval_every=10, eval_repeats=4,
                      schedule="linear_zero_snr", prediction=prediction)
    model, history = train(cfg, data=dino, progress=False)
    assert model.prediction == prediction and model.schedule == "linear_zero_snr"
    assert model.alpha_bars[-1] == 0 and history.train_loss[-1] < history.train_loss[0]
    for sampler in ("ddpm", "ddim"):
        xs = sample(64, model, sampler, generator=torch.Generator().manual_seed(0))
        assert all(torch.isfinite(x).all() for x in xs), sampler


class ExactV(nn.Module):
    """The exact denoiser of ``data`` presented as a v-model: ``native`` is the exact v."""

    prediction = "v"

    def __init__(self, data, schedule):
        super().__init__()
        self.data = data.double()
        register_schedule(self, 1e-4, 0.05, 50, schedule)

    def native(self, xt, t):
        ab = self.alpha_bars.double()[t]
        x, eps = xt.double(), exact_eps(xt.double(), self.data, ab)
        return v_from(posterior_mean_x0(x, self.data, ab), eps, ab).to(xt.dtype)

    def predict(self, xt, t):
        return eps_and_x0("v", self.native(xt, t), xt, self.alpha_bars[t])

    def forward(self, xt, t):
        return self.predict(xt, t)[0]


def test_exact_v_model_on_zero_snr_lands_on_the_data(dino):
    model = ExactV(dino, "linear_zero_snr")
    assert model.alpha_bars[-1] == 0
    for sampler, kwargs in (("ddpm", {}), ("ddpm", {"variance": "beta_tilde"}), ("ddim", {}),
                            ("ddim", {"eta": 1.0})):
        xs = sample(200, model, sampler, generator=torch.Generator().manual_seed(0), **kwargs)
        assert all(torch.isfinite(x).all() for x in xs)
        dist = nearest_neighbour_distances(xs[-1], dino)
        assert float(dist.median()) < 1e-3 and float((dist < 1e-2).double().mean()) > 0.9, \
            (sampler, kwargs)
    # the first step of deterministic DDIM goes through x_0 = E[x_0] = the data mean, exactly
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(1))
    eps, x0 = model.predict(x, torch.full((4,), 49))
    assert torch.allclose(x0, dino.mean(0).expand(4, 2), atol=1e-6) and torch.equal(eps, x)


def test_eps_model_on_zero_snr_is_refused(dino):
    model = ExactDenoiser(dino, 1e-4, 0.05, 50)
    register_schedule(model, 1e-4, 0.05, 50, "linear_zero_snr")  # the same model, zero SNR
    for sampler in ("ddpm", "ddim"):
        with pytest.raises(ValueError, match="eps-prediction model cannot give x_0"):
            sample(5, model, sampler)
    for sampler in ("euler", "heun"):
        with pytest.raises(ValueError, match="finite sigma"):
            sample(5, ExactV(dino, "linear_zero_snr"), sampler)
    # the steps themselves, given eps alone, divide by zero at the first step
    xt = torch.randn(5, 2, generator=G)
    eps = model(xt, torch.full((5,), 49))
    betas, alphas, ab = model.betas, model.alphas, model.alpha_bars
    assert not torch.isfinite(ddpm_step(xt, 49, eps, betas, alphas, ab, None)).any()
    assert not torch.isfinite(ddim_step(xt, 49, eps, ab)).any()
