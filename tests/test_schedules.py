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


def test_cosine_schedule_is_eq_17_and_matches_diffusers():
    import diffusers

    from diffusion2d import cosine_schedule

    for T in (50, 1000):
        betas, alphas, alpha_bars = cosine_schedule(T)
        assert betas.dtype == alpha_bars.dtype == torch.float32 and betas.shape == (T,)
        ref = diffusers.DDPMScheduler(num_train_timesteps=T, beta_schedule="squaredcos_cap_v2")
        assert torch.allclose(betas, ref.betas, atol=1e-7)
        assert torch.allclose(alpha_bars, ref.alphas_cumprod, atol=1e-6)
        assert torch.allclose(alphas, 1 - betas, atol=1e-7)
        # eq. 17 itself, f(t) = cos^2((t/T + s) / (1 + s) pi/2), where no beta was clipped
        f = [math.cos((t / T + 0.008) / 1.008 * math.pi / 2) ** 2 for t in range(T + 1)]
        for t in (0, T // 2, T - 2):
            assert alpha_bars[t].item() == pytest.approx(f[t + 1] / f[0], rel=1e-5, abs=1e-7)
        assert betas[-1].item() == pytest.approx(0.999)  # f(T) = 0: clipped at max_beta
        assert betas.max().item() <= 0.999 + 1e-7
    assert cosine_schedule(10, max_beta=0.5)[0].max().item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="max_beta"):
        cosine_schedule(10, max_beta=0.0)
    with pytest.raises(ValueError, match="T must be a positive int"):
        cosine_schedule(0)


def test_rescale_zero_terminal_snr_is_algorithm_1():
    from diffusers.schedulers.scheduling_ddpm import rescale_zero_terminal_snr as reference

    from diffusion2d import rescale_zero_terminal_snr

    betas64 = torch.linspace(1e-4, 0.05, 50, dtype=torch.float64)
    rescaled = rescale_zero_terminal_snr(betas64)
    assert rescaled.dtype == torch.float64
    assert torch.allclose(rescaled, reference(betas64.clone()), rtol=1e-12, atol=1e-14)
    assert rescaled[-1] == 1.0  # alpha_T = 0: alpha_bar_T = 0, SNR 0
    # sqrt(alpha_bar) is shifted and scaled: an affine map that keeps the first value
    old = torch.cumprod(1 - betas64, 0).sqrt()
    new = torch.cumprod(1 - rescaled, 0).sqrt()
    want = (old - old[-1]) * old[0] / (old[0] - old[-1])
    assert torch.allclose(new, want, atol=1e-12) and new[0] == pytest.approx(old[0].item())
    f32 = rescale_zero_terminal_snr(betas64.float())
    assert f32.dtype == torch.float32 and torch.allclose(f32.double(), rescaled, atol=1e-6)
    with pytest.raises(ValueError, match="at least 2 steps"):
        rescale_zero_terminal_snr(torch.tensor([0.1]))


def test_posterior_variance_by_hand_and_diffusers_fixed_small():
    import diffusers

    from diffusion2d import posterior_variance

    betas, _, alpha_bars = get_diffusion_parameters(0.1, 0.3, 3)
    want = torch.tensor([0.0, 0.1 / 0.28 * 0.2, 0.28 / 0.496 * 0.3])  # DDPM eq. 7
    assert torch.allclose(posterior_variance(betas, alpha_bars), want)
    assert posterior_variance(betas, alpha_bars)[0] == 0  # alpha_bar_prev = 1 at step 0
    betas, _, alpha_bars = get_diffusion_parameters(1e-4, 0.05, 50)
    ref = diffusers.DDPMScheduler(num_train_timesteps=50, trained_betas=betas.double().numpy(),
                                  variance_type="fixed_small")
    ours = posterior_variance(betas, alpha_bars)
    for t in (1, 10, 49):
        assert ours[t].item() == pytest.approx(ref._get_variance(t).item(), rel=1e-5)


def test_make_schedule_names_each_schedule():
    from diffusion2d import cosine_schedule, log_snr, make_schedule, rescale_zero_terminal_snr
    from diffusion2d.schedules import SCHEDULES

    linear = make_schedule("linear", 1e-4, 0.05, 50)
    assert all(torch.equal(a, b) for a, b in
               zip(linear, get_diffusion_parameters(1e-4, 0.05, 50), strict=True))
    assert all(torch.equal(a, b) for a, b in
               zip(make_schedule("cosine", 1e-4, 0.05, 50), cosine_schedule(50), strict=True))
    betas, alphas, alpha_bars = make_schedule("linear_zero_snr", 1e-4, 0.05, 50)
    assert alpha_bars[-1] == 0 and alphas[-1] == 0 and betas[-1] == 1
    assert torch.allclose(betas, rescale_zero_terminal_snr(linear[0]), atol=1e-6)
    assert alpha_bars[0] == linear[2][0]  # the first step keeps its value
    for kind in SCHEDULES:
        ab = make_schedule(kind, 1e-4, 0.05, 50)[2]
        lsnr = log_snr(ab)
        assert torch.allclose(lsnr[:-1], signal_to_noise(ab[:-1]).log(), atol=1e-4), kind
        assert (lsnr[1:] < lsnr[:-1]).all(), kind  # the SNR falls at every step
    assert log_snr(alpha_bars)[-1] == -math.inf
    with pytest.raises(ValueError, match="schedule must be one of"):
        make_schedule("sigmoid", 1e-4, 0.05, 50)
    with pytest.raises(ValueError, match="beta_max"):
        make_schedule("cosine", 1e-4, 1.5, 50)


def test_models_carry_their_schedule():
    from torch import nn

    from diffusion2d import DenoisingMLP, make_schedule
    from diffusion2d.schedules import register_schedule

    module = nn.Module()
    register_schedule(module, 1e-4, 0.05, 20, "cosine")
    assert module.schedule == "cosine"
    assert torch.equal(module.alpha_bars, make_schedule("cosine", 1e-4, 0.05, 20)[2])
    model = DenoisingMLP(1e-4, 0.05, 20, hidden=8, num_blocks=1, schedule="linear_zero_snr")
    assert model.schedule == "linear_zero_snr" and model.alpha_bars[-1] == 0
    assert list(model.state_dict())[:3] == ["betas", "alphas", "alpha_bars"]
