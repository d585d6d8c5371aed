import pytest
import torch

from diffusion2d import DenoisingMLP, ddim_step, ddpm_step, get_diffusion_parameters, sample
from diffusion2d.samplers import ddim_jump, respace, timesteps

B, A, AB = get_diffusion_parameters(0.1, 0.3, 3)  # betas .1 .2 .3, alpha_bars .9 .72 .504


class LinearEps(torch.nn.Module):
    """A stand-in model: eps_theta(x, t) = 0.5 x + t, with a real schedule."""

    def __init__(self, beta_min=0.1, beta_max=0.3, T=3):
        super().__init__()
        self.betas, self.alphas, self.alpha_bars = get_diffusion_parameters(beta_min, beta_max, T)
        self.T = T

    def forward(self, xt, t):
        return 0.5 * xt + t.float()[:, None]


def test_ddpm_step_by_hand():
    xt = torch.tensor([[1.0, 2.0]])
    eps = torch.tensor([[0.5, -1.0]])
    z = torch.tensor([[1.0, -1.0]])
    # t = 1 (paper step 2): beta .2, alpha .8, alpha_bar .72, sigma = sqrt(.2)
    mean = (xt - 0.2 / (0.28**0.5) * eps) / 0.8**0.5
    got = ddpm_step(xt, 1, eps, B, A, AB, z)
    assert torch.allclose(got, mean + 0.2**0.5 * z)
    assert torch.allclose(got, torch.tensor([[1.35396, 2.21143]]), atol=1e-4)  # fixed value
    # t = 0: no noise at the last step (Algorithm 2)
    last = ddpm_step(xt, 0, eps, B, A, AB, z)
    assert torch.allclose(last, (xt - 0.1 / 0.1**0.5 * eps) / 0.9**0.5)
    assert torch.allclose(ddpm_step(xt, 0, eps, B, A, AB, None), last)


def test_ddim_step_by_hand_and_last_step_uses_alpha_bar_one():
    xt = torch.tensor([[1.0, 2.0]])
    eps = torch.tensor([[0.5, -1.0]])
    x0 = (xt - 0.28**0.5 * eps) / 0.72**0.5
    want = 0.9**0.5 * x0 + 0.1**0.5 * eps
    assert torch.allclose(ddim_step(xt, 1, eps, AB), want)
    # at t = 0, alpha_bar_prev = 1: the step returns the x0 prediction, not alpha_bar[-1]'s mix
    assert torch.allclose(ddim_step(xt, 0, eps, AB), (xt - 0.1**0.5 * eps) / 0.9**0.5)


def test_per_point_steps_broadcast():
    xt = torch.tensor([[1.0, 2.0], [3.0, -1.0]])
    eps = torch.tensor([[0.5, -1.0], [0.1, 0.2]])
    z = torch.ones(2, 2)
    both = ddpm_step(xt, torch.tensor([2, 0]), eps, B, A, AB, z)
    assert torch.allclose(both[0], ddpm_step(xt[:1], 2, eps[:1], B, A, AB, z[:1])[0])
    assert torch.allclose(both[1], ddpm_step(xt[1:], 0, eps[1:], B, A, AB, z[1:])[0])


def test_respaced_steps_reduce_to_single_steps():
    g = torch.Generator().manual_seed(0)
    xt, eps, z = (torch.randn(5, 2, generator=g) for _ in range(3))
    betas, alphas = respace(AB, [2, 1, 0])  # every step visited: the schedule itself
    for t in range(3):
        # alpha_bar_t / alpha_bar_{t-1} is alpha_t up to float32 rounding
        jump = ddpm_step(xt, t, eps, betas, alphas, AB, z)
        assert torch.allclose(jump, ddpm_step(xt, t, eps, B, A, AB, z), atol=1e-5)
        assert torch.allclose(
            ddim_jump(xt, t, eps, AB, t - 1), ddim_step(xt, t, eps, AB), atol=1e-6
        )
    # a jump from t = 2 straight to the clean end: beta_eff = 1 - alpha_bar_2, no noise
    betas, alphas = respace(AB, [2])
    assert torch.allclose(alphas, torch.tensor([1.0, 1.0, 0.504]))
    assert torch.equal(betas, 1 - alphas)
    mean = (xt - 0.496 / 0.496**0.5 * eps) / 0.504**0.5
    assert torch.allclose(ddpm_step(xt, 2, eps, betas, alphas, AB, None), mean, atol=1e-6)
    assert timesteps(50) == list(range(49, -1, -1))
    assert timesteps(50, 5) == [49, 37, 24, 12, 0]


def test_sample_loop_is_algorithm_2():
    """The loop equals hand-applied steps with the prescribed draw order (x_T, then z per t > 0)."""
    model = LinearEps()
    xs = sample(4, model, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 2, generator=g)
    assert torch.equal(xs[0], x)
    for i, t in enumerate((2, 1, 0)):
        z = torch.randn(4, 2, generator=g) if t > 0 else None
        x = ddpm_step(x, t, 0.5 * x + t, B, A, AB, z)
        assert torch.allclose(xs[i + 1], x)
    assert len(xs) == 4


def test_ddim_is_deterministic_and_ddpm_is_seeded():
    torch.manual_seed(0)
    model = DenoisingMLP(1e-4, 0.05, 20, hidden=16, num_blocks=1)
    x_a = sample(50, model, "ddim", generator=torch.Generator().manual_seed(1))
    x_b = sample(50, model, "ddim", generator=torch.Generator().manual_seed(1))
    assert all(torch.equal(a, b) for a, b in zip(x_a, x_b, strict=True))
    # DDIM draws nothing after x_T: the generator moves exactly as for drawing x_T alone
    g, g_ref = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    sample(50, model, "ddim", generator=g)
    assert torch.equal(x_a[0], torch.randn(50, 2, generator=g_ref))
    assert torch.equal(g.get_state(), g_ref.get_state())
    d1 = sample(50, model, "ddpm", generator=torch.Generator().manual_seed(2))[-1]
    d2 = sample(50, model, "ddpm", generator=torch.Generator().manual_seed(2))[-1]
    assert torch.equal(d1, d2)
    short = sample(50, model, "ddim", generator=torch.Generator().manual_seed(1), num_steps=5)
    assert len(short) == 6


def test_sampler_matches_diffusers_reference():
    """Steps equal diffusers' DDPMScheduler (fixed_large: sigma^2 = beta) and DDIMScheduler."""
    import diffusers  # the reference implementation, a pinned test requirement

    T = 50
    betas, alphas, alpha_bars = get_diffusion_parameters(1e-4, 0.05, T)
    common = dict(num_train_timesteps=T, trained_betas=betas.double().numpy(), clip_sample=False)
    ddpm = diffusers.DDPMScheduler(variance_type="fixed_large", **common)
    ddim = diffusers.DDIMScheduler(set_alpha_to_one=True, **common)
    ddim.set_timesteps(T)
    g = torch.Generator().manual_seed(0)
    xt, eps = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g)
    for t in (T - 1, 25, 1, 0):
        z = torch.randn(8, 2, generator=g)
        ref = ddpm.step(eps, t, xt, generator=torch.Generator().manual_seed(5)).prev_sample
        # diffusers draws its own noise; recompute ours with the same draw
        noise = torch.randn(8, 2, generator=torch.Generator().manual_seed(5)) if t > 0 else z
        ours = ddpm_step(xt, t, eps, betas, alphas, alpha_bars, noise)
        assert torch.allclose(ours, ref.float(), atol=1e-5), t
        ref_ddim = ddim.step(eps, t, xt, eta=0.0).prev_sample
        assert torch.allclose(ddim_step(xt, t, eps, alpha_bars), ref_ddim.float(), atol=1e-5), t


def test_sampler_bad_input():
    model = LinearEps()
    with pytest.raises(ValueError, match="sampler must be one of"):
        sample(3, model, sampler="rk4")
    with pytest.raises(ValueError, match="num_samples must be a positive int"):
        sample(0, model)
    with pytest.raises(ValueError, match="num_steps must be in"):
        sample(3, model, num_steps=7)
    xt = torch.zeros(2, 2)
    with pytest.raises(ValueError, match="eps_pred must have shape"):
        ddpm_step(xt, 1, torch.zeros(3, 2), B, A, AB, None)
    with pytest.raises(ValueError, match=r"t must be 0-based steps in \[0, 2\]"):
        ddim_step(xt, 3, xt, AB)
    with pytest.raises(ValueError, match="t must be 0-based"):
        ddpm_step(xt, -1, xt, B, A, AB, None)
    with pytest.raises(ValueError, match="noise must have shape"):
        ddpm_step(xt, 1, xt, B, A, AB, torch.zeros(2, 3))


def _prediction_inputs(kind, xt, out, ab):
    """``(eps, x0_pred)`` for ddpm_step / ddim_step from a diffusers model output."""
    from diffusion2d import eps_from_v, eps_from_x0, x0_from_v

    if kind == "epsilon":
        return out, None
    if kind == "sample":
        return eps_from_x0(xt, out, ab), out
    return eps_from_v(xt, out, ab), x0_from_v(xt, out, ab)


@pytest.mark.parametrize("schedule", ["linear", "cosine", "linear_zero_snr"])
def test_ddpm_step_matches_diffusers_for_both_variances_and_predictions(schedule):
    """DDPMScheduler with fixed_large (sigma^2 = beta) and fixed_small (beta_tilde), for eps-, x0-
    ("sample") and v-prediction; same noise; clip_sample off."""
    import diffusers

    from diffusion2d import make_schedule

    T = 50
    betas, alphas, alpha_bars = make_schedule(schedule, 1e-4, 0.05, T)
    g = torch.Generator().manual_seed(0)
    xt, out = torch.randn(8, 2, generator=g), torch.randn(8, 2, generator=g)
    worst = 0.0
    for variance_type, variance in (("fixed_large", "beta"), ("fixed_small", "beta_tilde")):
        for kind in ("epsilon", "sample", "v_prediction"):
            ddpm = diffusers.DDPMScheduler(
                num_train_timesteps=T, trained_betas=betas.double().numpy(), clip_sample=False,
                variance_type=variance_type, prediction_type=kind)
            for t in (T - 1, 25, 1, 0):
                if kind == "epsilon" and alpha_bars[t] == 0:
                    continue  # eq. 11 divides by sqrt(alpha_t) = 0 (test_parameterisation)
                ref = ddpm.step(out, t, xt, generator=torch.Generator().manual_seed(5))
                noise = torch.randn(8, 2, generator=torch.Generator().manual_seed(5))
                eps, x0 = _prediction_inputs(kind, xt, out, alpha_bars[t])
                ours = ddpm_step(xt, t, eps, betas, alphas, alpha_bars, noise, variance, x0)
                # float32 rounding of eq. 11 / eq. 7; relative where 1/sqrt(alpha_t) is large
                err = (ours - ref.prev_sample).abs() / (1.0 + ref.prev_sample.abs())
                worst = max(worst, float(err.max()))
    assert worst < 2e-5


@pytest.mark.parametrize("schedule", ["linear", "cosine", "linear_zero_snr"])
def test_ddim_step_matches_diffusers_for_eta_and_jumps(schedule):
    """DDIMScheduler.step with eta 0, 0.5, 1 (eq. 16), every step and 10 of 50 (t_prev = t - 5),
    eps-, x0- and v-prediction, the same variance_noise."""
    import diffusers

    from diffusion2d import make_schedule

    T = 50
    betas, _, alpha_bars = make_schedule(schedule, 1e-4, 0.05, T)
    g = torch.Generator().manual_seed(1)
    xt, out, z = (torch.randn(8, 2, generator=g) for _ in range(3))
    worst, checked = 0.0, 0
    for kind in ("epsilon", "sample", "v_prediction"):
        ddim = diffusers.DDIMScheduler(num_train_timesteps=T, trained_betas=betas.double().numpy(),
                                       clip_sample=False, set_alpha_to_one=True,
                                       prediction_type=kind)
        for num_steps in (T, 10):
            ddim.set_timesteps(num_steps)
            jump = T // num_steps
            for t in (int(ddim.timesteps[0]), 25 // jump * jump, jump):
                if kind == "epsilon" and alpha_bars[t] == 0:
                    continue
                eps, x0 = _prediction_inputs(kind, xt, out, alpha_bars[t])
                for eta in (0.0, 0.5, 1.0):
                    ref = ddim.step(out, t, xt, eta=eta, variance_noise=z).prev_sample
                    ours = ddim_step(xt, t, eps, alpha_bars, eta, z, t_prev=t - jump, x0_pred=x0)
                    err = float(((ours - ref).abs() / (1.0 + ref.abs())).max())
                    worst, checked = max(worst, err), checked + 1
    assert worst < 2e-5 and checked >= 45


def test_ddim_eta_one_is_ddpm_with_beta_tilde():
    """eq. 16 with eta = 1 is DDPM's posterior: the same step as ddpm_step with beta_tilde."""
    g = torch.Generator().manual_seed(2)
    xt, eps, z = (torch.randn(5, 2, generator=g) for _ in range(3))
    for t in (2, 1):
        ddim = ddim_step(xt, t, eps, AB, eta=1.0, noise=z)
        assert torch.allclose(ddim, ddpm_step(xt, t, eps, B, A, AB, z, "beta_tilde"), atol=1e-5)
    # eta = 0 needs no noise; at the clean end sigma = 0, so the noise does not matter
    assert torch.equal(ddim_step(xt, 2, eps, AB, 0.0), ddim_step(xt, 2, eps, AB))
    assert torch.allclose(ddim_step(xt, 0, eps, AB, 1.0, z), ddim_step(xt, 0, eps, AB))
    assert torch.equal(ddim_jump(xt, 2, eps, AB, 0), ddim_step(xt, 2, eps, AB, t_prev=0))
    with pytest.raises(ValueError, match="noise is needed for eta > 0"):
        ddim_step(xt, 2, eps, AB, eta=0.5)
    with pytest.raises(ValueError, match="eta must be a non-negative number"):
        ddim_step(xt, 2, eps, AB, eta=-1.0)
    with pytest.raises(ValueError, match=r"t_prev must be a step in \[0, 2\] or -1"):
        ddim_step(xt, 2, eps, AB, t_prev=-5)  # no wrap-around to alpha_bar[-4]
    with pytest.raises(ValueError, match="variance must be one of"):
        ddpm_step(xt, 1, eps, B, A, AB, z, variance="sigma")


def test_sample_with_eta_and_beta_tilde_draws_in_order():
    """DDIM with eta > 0 draws one z per step but the last, like DDPM; beta_tilde changes only
    the scale of the noise."""
    model = LinearEps()
    xs = sample(4, model, "ddim", torch.Generator().manual_seed(0), eta=0.5)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 2, generator=g)
    for t in (2, 1, 0):
        z = torch.randn(4, 2, generator=g) if t > 0 else torch.zeros(4, 2)
        x = ddim_step(x, t, 0.5 * x + t, AB, 0.5, z)
    assert torch.allclose(xs[-1], x)
    xs = sample(4, model, "ddpm", torch.Generator().manual_seed(0), variance="beta_tilde")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 2, generator=g)
    for t in (2, 1, 0):
        z = torch.randn(4, 2, generator=g) if t > 0 else None
        x = ddpm_step(x, t, 0.5 * x + t, B, A, AB, z, "beta_tilde")
    assert torch.allclose(xs[-1], x)
    with pytest.raises(ValueError, match="variance must be one of"):
        sample(3, model, variance="large")
    with pytest.raises(ValueError, match="eta must be"):
        sample(3, model, "ddim", eta=-0.1)


def test_respaced_ddpm_with_beta_tilde_uses_the_previous_visited_step():
    """On 2 of 3 steps ([2, 0]) beta_tilde at step 2 uses alpha_bar of step 0, not of step 1."""
    model = LinearEps()
    xs = sample(4, model, "ddpm", torch.Generator().manual_seed(0), num_steps=2,
                variance="beta_tilde")
    g = torch.Generator().manual_seed(0)
    x, z = torch.randn(4, 2, generator=g), torch.randn(4, 2, generator=g)
    beta = 1 - 0.504 / 0.9  # the jump 2 -> 0
    mean = (x - beta / 0.496**0.5 * (0.5 * x + 2)) / (1 - beta) ** 0.5
    x = mean + ((1 - 0.9) / (1 - 0.504) * beta) ** 0.5 * z
    assert torch.allclose(xs[1], x, atol=1e-5)
