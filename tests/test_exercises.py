"""The workshop checks (diffusion2d.exercises): each passes the reference and fails each listed
mistake, naming it; exceptions, todo() stubs and wrong return types become plain verdicts."""

from __future__ import annotations

import time

import pytest
import torch

from diffusion2d import exercises as ex
from diffusion2d import loss, samplers, schedules, trajectories
from diffusion2d.trajectories import StepResult

# --------------------------------------------------------------------------------------------
# todo() and CheckResult
# --------------------------------------------------------------------------------------------


def test_todo_raises_not_implemented_with_the_hint():
    with pytest.raises(NotImplementedError, match=r"^not implemented yet: compute alpha_bars$"):
        ex.todo("compute alpha_bars")
    with pytest.raises(ex.NotImplementedYet, match=r"^not implemented yet$"):
        ex.todo()


def test_result_prints_and_displays_as_its_message():
    result = ex.check_get_diffusion_parameters(schedules.get_diffusion_parameters)
    assert result.passed is True and bool(result)
    assert str(result) == repr(result) == result.message
    assert result.message.startswith("\u2714 get_diffusion_parameters: passed")
    html = result._repr_html_()
    assert "passed" in html and "<script" not in html

    def bad(beta_min, beta_max, T):
        return "<b>", 1, 2

    failed = ex.check_get_diffusion_parameters(bad)
    assert not failed and failed.status == "failed"
    assert "&lt;" in failed._repr_html_() or "<b>" not in failed._repr_html_()


def test_a_check_leaves_the_global_random_state_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    ex.check_sample(_sample_reference)
    assert torch.equal(before, torch.get_rng_state())


def test_not_a_function():
    result = ex.check_get_loss(0.5)
    assert not result.passed and "your function itself" in result.message


def test_checks_are_fast():
    start = time.perf_counter()
    ex.check_get_diffusion_parameters(schedules.get_diffusion_parameters)
    ex.check_get_loss(loss.get_loss)
    ex.check_sample(_sample_reference)
    ex.check_trajectory_step(trajectories.trajectory_step)
    ex.check_sample(_sample_randn_like)  # the statistical fallback, 4000 particles
    assert time.perf_counter() - start < 5.0


# --------------------------------------------------------------------------------------------
# Exercise 1: get_diffusion_parameters
# --------------------------------------------------------------------------------------------


def _schedule_handwritten(beta_min, beta_max, T):
    betas = torch.linspace(beta_min, beta_max, T)
    alphas = 1 - betas
    return betas, alphas, torch.cumprod(alphas, dim=0)


def _schedule_numpy(beta_min, beta_max, T):
    import numpy as np

    betas = np.linspace(beta_min, beta_max, T)
    return betas, 1 - betas, np.cumprod(1 - betas)


@pytest.mark.parametrize(
    "fn", [schedules.get_diffusion_parameters, _schedule_handwritten, _schedule_numpy]
)
def test_schedule_passes_correct_answers(fn):
    result = ex.check_get_diffusion_parameters(fn)
    assert result.passed, result.message


def _schedule_not_inclusive(beta_min, beta_max, T):
    betas = torch.linspace(beta_min, beta_max, T + 1)[:-1]
    alphas = 1 - betas
    return betas, alphas, torch.cumprod(alphas, 0)


def _schedule_arange(beta_min, beta_max, T):
    betas = torch.arange(beta_min, beta_max, (beta_max - beta_min) / T)[:T]
    alphas = 1 - betas
    return betas, alphas, torch.cumprod(alphas, 0)


def _schedule_sum(beta_min, beta_max, T):
    betas = torch.linspace(beta_min, beta_max, T)
    alphas = 1 - betas
    return betas, alphas, torch.cumsum(alphas, 0)


def _schedule_length(beta_min, beta_max, T):
    betas = torch.linspace(beta_min, beta_max, T + 1)
    alphas = 1 - betas
    return betas, alphas, torch.cumprod(alphas, 0)


def _schedule_shifted(beta_min, beta_max, T):
    betas = torch.linspace(beta_min, beta_max, T)
    alphas = 1 - betas
    return betas, alphas, torch.cat([torch.ones(1), torch.cumprod(alphas, 0)[:-1]])


def _schedule_sqrt_alphas(beta_min, beta_max, T):
    betas = torch.linspace(beta_min, beta_max, T)
    alphas = (1 - betas).sqrt()
    return betas, alphas, torch.cumprod(1 - betas, 0)


def _schedule_only_betas(beta_min, beta_max, T):
    return torch.linspace(beta_min, beta_max, T)


@pytest.mark.parametrize(
    ("fn", "mistakes", "words"),
    [
        (_schedule_not_inclusive, {"beta_max_excluded"}, "beta_max"),
        (_schedule_arange, {"beta_max_excluded", "length"}, "beta_max"),
        (_schedule_sum, {"alpha_bars_sum"}, "product"),
        (_schedule_length, {"length"}, "T values"),
        (_schedule_shifted, {"alpha_bars_shifted"}, "step t+1"),
        (_schedule_sqrt_alphas, {"alphas_sqrt"}, "square root"),
        (_schedule_only_betas, {"not_tuple"}, "tuple"),
    ],
)
def test_schedule_fails_each_mistake(fn, mistakes, words):
    result = ex.check_get_diffusion_parameters(fn)
    assert not result.passed
    assert result.status == "failed"
    assert result.mistake in mistakes, result.message
    assert words in result.message
    assert "Traceback" not in result.message


def test_schedule_not_implemented_and_exceptions():
    def stub(beta_min, beta_max, T):
        ex.todo("compute betas, alphas and alpha_bars")

    with pytest.raises(
        ex.NotImplementedYet, match="not implemented yet: compute betas, alphas and alpha_bars"
    ):
        ex.check_get_diffusion_parameters(stub)  # stops the notebook, in plain words

    def crashes(beta_min, beta_max, T):
        return torch.linspace(beta_min, beta_max)  # missing steps argument

    result = ex.check_get_diffusion_parameters(crashes)
    assert not result.passed and "raised TypeError" in result.message
    assert "in your code, line" in result.message  # points at the offending line


# --------------------------------------------------------------------------------------------
# Exercise 2: get_loss
# --------------------------------------------------------------------------------------------


def _loss_handwritten(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((eps - model(xt, ts)) ** 2).mean()


def _loss_none_index(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts][:, None]
    xt = torch.sqrt(ab) * x0s + torch.sqrt(1 - ab) * eps
    return torch.nn.functional.mse_loss(model(xt, ts), eps)


@pytest.mark.parametrize("fn", [loss.get_loss, _loss_handwritten, _loss_none_index])
def test_loss_passes_correct_answers(fn):
    result = ex.check_get_loss(fn)
    assert result.passed, result.message


def _loss_variance(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab * x0s + (1 - ab) * eps
    return ((eps - model(xt, ts)) ** 2).mean()


def _loss_noise_variance(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab.sqrt() * x0s + (1 - ab) * eps
    return ((eps - model(xt, ts)) ** 2).mean()


def _loss_alpha(model, x0s, eps, alpha_bars, ts):
    a = model.alphas[ts].unsqueeze(1)
    xt = a.sqrt() * x0s + (1 - a).sqrt() * eps
    return ((eps - model(xt, ts)) ** 2).mean()


def _loss_x0(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((x0s - model(xt, ts)) ** 2).mean()


def _loss_no_unsqueeze(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts]  # (B,) against (B, 2)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((eps - model(xt, ts)) ** 2).mean()


def _loss_row(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts][None, :]  # (1, B) against (B, 2)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((eps - model(xt, ts)) ** 2).mean()


def _loss_square_matrix(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts][:, None, None]  # (B, 1, 1) against (B, 2): x_t becomes (B, B, 2)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((eps - model(xt, ts)) ** 2).mean()


def _loss_sum(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((eps - model(xt, ts)) ** 2).sum()


def _loss_norm(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((eps - model(xt, ts)) ** 2).sum(dim=1).mean()


def _loss_item(model, x0s, eps, alpha_bars, ts):
    return _loss_handwritten(model, x0s, eps, alpha_bars, ts).item()


def _loss_no_grad(model, x0s, eps, alpha_bars, ts):
    with torch.no_grad():
        return _loss_handwritten(model, x0s, eps, alpha_bars, ts)


def _loss_own_noise(model, x0s, eps, alpha_bars, ts):
    noise = torch.randn_like(x0s)
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * noise
    return ((noise - model(xt, ts)) ** 2).mean()


def _loss_clean_input(model, x0s, eps, alpha_bars, ts):
    return ((eps - model(x0s, ts)) ** 2).mean()


def _loss_per_point(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((eps - model(xt, ts)) ** 2).mean(dim=1)


def _loss_paper_steps(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((eps - model(xt, ts + 1)) ** 2).mean()


@pytest.mark.parametrize(
    ("fn", "mistakes", "words"),
    [
        (_loss_variance, {"variance"}, "standard deviation"),
        (_loss_noise_variance, {"variance"}, "square roots"),
        (_loss_alpha, {"alpha"}, "not alphas[t]"),
        (_loss_x0, {"x0_target"}, "not x_0"),
        (_loss_no_unsqueeze, {"broadcast"}, "unsqueeze(1)"),
        (_loss_row, {"broadcast"}, "unsqueeze(1)"),
        (_loss_square_matrix, {"model_input"}, "broadcast wrongly"),
        (_loss_sum, {"sum"}, "mean"),
        (_loss_norm, {"sum_coordinates"}, "twice"),
        (_loss_item, {"detached"}, "backward"),
        (_loss_no_grad, {"detached"}, "backward"),
        (_loss_own_noise, {"random"}, "eps and ts"),
        (_loss_clean_input, {"clean_input"}, "not the clean x_0"),
        (_loss_per_point, {"not_scalar"}, "one number"),
        (_loss_paper_steps, {"model_input"}, "0-based"),
    ],
)
def test_loss_fails_each_mistake(fn, mistakes, words):
    result = ex.check_get_loss(fn)
    assert not result.passed
    assert result.mistake in mistakes, result.message
    assert words in result.message, result.message
    assert "Traceback" not in result.message


def test_loss_no_unsqueeze_is_caught_even_when_the_batch_has_two_points():
    # With B = 2 the (B,) coefficient broadcasts silently over the coordinates: a wrong value.
    from diffusion2d.exercises import FakeModel

    model = FakeModel(0.02, 0.3, 10)
    g = torch.Generator().manual_seed(0)
    x0s, eps = torch.randn(2, 2, generator=g), torch.randn(2, 2, generator=g)
    ts = torch.tensor([1, 8])
    wrong = _loss_no_unsqueeze(model, x0s, eps, model.alpha_bars, ts)
    right = loss.get_loss(model, x0s, eps, model.alpha_bars, ts)
    assert not torch.allclose(wrong, right)
    result = ex.check_get_loss(_loss_no_unsqueeze)
    assert result.case is not None and "6 points" in result.case  # the first case raises


def test_loss_message_shows_expected_and_got():
    result = ex.check_get_loss(_loss_variance)
    assert "expected: " in result.message and "got: " in result.message
    assert "failed on a batch of 6 points" in result.message


# --------------------------------------------------------------------------------------------
# Exercise 3: sample
# --------------------------------------------------------------------------------------------


def _sample_reference(num_samples, model, generator=None):
    return samplers.sample(num_samples, model, "ddpm", generator=generator)


def _sample_generic(
    num_samples,
    model,
    generator=None,
    *,
    randn_like=False,
    last_noise=False,
    mean_alpha_bar=False,
    sigma_beta=False,
    ascending=False,
    variance=False,
    paper_steps=False,
):
    """A participant-style DDPM sampler with optional slips."""
    x = torch.randn(num_samples, 2, generator=generator)
    xs = [x]
    steps = range(model.T) if ascending else reversed(range(model.T))
    for t in steps:
        ts = torch.full((num_samples,), t + (1 if paper_steps else 0), dtype=torch.long)
        with torch.no_grad():
            eps = model(x, ts)
        beta, alpha, ab = model.betas[t], model.alphas[t], model.alpha_bars[t]
        coef = beta / ((1 - ab) if variance else (1 - ab).sqrt())
        mean = (x - coef * eps) / (ab.sqrt() if mean_alpha_bar else alpha.sqrt())
        if t > 0 or last_noise:
            if randn_like:
                z = torch.randn_like(x)
            else:
                z = torch.randn(num_samples, 2, generator=generator)
            x = mean + (beta if sigma_beta else beta.sqrt()) * z
        else:
            x = mean
        xs.append(x)
    return xs


def _sample_randn_like(num_samples, model, generator=None):
    return _sample_generic(num_samples, model, generator, randn_like=True)


def _sample_draws_first(num_samples, model, generator=None):
    """Correct, but draws all the noise up front (another draw order)."""
    zs = torch.randn(model.T, num_samples, 2, generator=generator)
    x = torch.randn(num_samples, 2, generator=generator)
    xs = [x]
    for t in range(model.T - 1, -1, -1):
        eps = model(x, t).detach()
        mean = (x - model.betas[t] / (1 - model.alpha_bars[t]).sqrt() * eps) / model.alphas[
            t
        ].sqrt()
        x = mean + (model.betas[t].sqrt() * zs[t] if t > 0 else 0)
        xs.append(x)
    return xs


@pytest.mark.parametrize("fn", [_sample_reference, _sample_generic])
def test_sample_passes_correct_answers(fn):
    result = ex.check_sample(fn)
    assert result.passed, result.message
    assert "Note" not in result.message


@pytest.mark.parametrize("fn", [_sample_randn_like, _sample_draws_first])
def test_sample_passes_other_draw_orders_with_a_note(fn):
    result = ex.check_sample(fn)
    assert result.passed, result.message
    assert "Note: your random draws differ" in result.message


def _slip(**kw):
    def fn(num_samples, model, generator=None):
        return _sample_generic(num_samples, model, generator, **kw)

    return fn


def _sample_only_x0(num_samples, model, generator=None):
    return _sample_reference(num_samples, model, generator)[-1]


def _sample_reversed(num_samples, model, generator=None):
    return _sample_reference(num_samples, model, generator)[::-1]


def _sample_stacked(num_samples, model, generator=None):
    return torch.stack(_sample_reference(num_samples, model, generator))


def _sample_no_generator(num_samples, model):
    return _sample_reference(num_samples, model)


@pytest.mark.parametrize(
    ("fn", "mistakes", "words"),
    [
        (_slip(last_noise=True), {"last_noise"}, "No noise at the last step"),
        (_slip(mean_alpha_bar=True), {"mean_alpha_bar"}, "not sqrt(alpha_bar_t)"),
        (_slip(sigma_beta=True), {"sigma_beta"}, "not beta_t z"),
        (_slip(variance=True), {"mean_variance"}, "not the variance"),
        (_slip(ascending=True), {"ascending"}, "backwards"),
        (_slip(paper_steps=True), {"model_input"}, "0-based"),
        # the same slips with draws that do not follow the prescribed order
        (_slip(randn_like=True, last_noise=True), {"last_noise"}, "No noise at the last step"),
        (_slip(randn_like=True, sigma_beta=True), {"sigma_beta"}, "not beta_t z"),
        (_slip(randn_like=True, mean_alpha_bar=True), {"mean_alpha_bar"}, "sqrt(alpha_t)"),
        (_slip(randn_like=True, ascending=True), {"ascending"}, "backwards"),
        (_sample_only_x0, {"only_x0"}, "whole list"),
        (_sample_reversed, {"reversed"}, "x_T first"),
        (_sample_stacked, {"not_list"}, "list"),
        (_sample_no_generator, {"signature"}, "signature"),
    ],
)
def test_sample_fails_each_mistake(fn, mistakes, words):
    result = ex.check_sample(fn)
    assert not result.passed
    assert result.mistake in mistakes, result.message
    assert words in result.message, result.message


def test_sample_not_implemented():
    def stub(num_samples, model, generator=None):
        ex.todo("the DDPM sampler")

    with pytest.raises(ex.NotImplementedYet, match="sample: not implemented yet: the DDPM sampler"):
        ex.check_sample(stub)


# --------------------------------------------------------------------------------------------
# Exercise 4: trajectory_step
# --------------------------------------------------------------------------------------------


def _step_generic(
    model,
    xt,
    t,
    deterministic=False,
    generator=None,
    *,
    randn_like=False,
    last_noise=False,
    mean_alpha_bar=False,
    sigma_beta=False,
    wraparound=False,
    noise_in_ddim=False,
    drift_with_noise=False,
    variance=False,
    as_tuple=False,
):
    """A participant-style trajectory step with optional slips."""
    with torch.no_grad():
        eps = model(xt, t)
    beta, alpha, ab = model.betas[t], model.alphas[t], model.alpha_bars[t]
    if deterministic:
        if t > 0 or wraparound:
            ab_prev = model.alpha_bars[t - 1]
        else:
            ab_prev = torch.tensor(1.0)
        x0_pred = (xt - (1 - ab).sqrt() * eps) / ab.sqrt()
        drift = ab_prev.sqrt() * x0_pred + (1 - ab_prev).sqrt() * eps - xt
    else:
        coef = beta / ((1 - ab) if variance else (1 - ab).sqrt())
        mean = (xt - coef * eps) / (ab.sqrt() if mean_alpha_bar else alpha.sqrt())
        drift = mean - xt
    noisy = (not deterministic or noise_in_ddim) and (t > 0 or last_noise)
    if noisy:
        z = torch.randn_like(xt) if randn_like else torch.randn(xt.shape, generator=generator)
        noise = (beta if sigma_beta else beta.sqrt()) * z
    else:
        noise = torch.zeros_like(xt)
    if drift_with_noise:
        drift = drift + noise
        x_prev = xt + drift
    else:
        x_prev = xt + drift + noise
    if as_tuple:
        return x_prev, eps, drift, noise
    return StepResult(x_prev, eps, drift, noise)


def _step(**kw):
    def fn(model, xt, t, deterministic=False, generator=None):
        return _step_generic(model, xt, t, deterministic, generator, **kw)

    return fn


@pytest.mark.parametrize("fn", [trajectories.trajectory_step, _step_generic, _step(as_tuple=True)])
def test_trajectory_step_passes_correct_answers(fn):
    result = ex.check_trajectory_step(fn)
    assert result.passed, result.message
    assert "Note" not in result.message


def test_trajectory_step_passes_randn_like_with_a_note():
    result = ex.check_trajectory_step(_step(randn_like=True))
    assert result.passed, result.message
    assert "Note: your noise is not drawn" in result.message


def _step_dict(model, xt, t, deterministic=False, generator=None):
    r = trajectories.trajectory_step(model, xt, t, deterministic, generator)
    return {"x_prev": r.x_prev}


@pytest.mark.parametrize(
    ("fn", "mistakes", "words"),
    [
        (_step(last_noise=True), {"last_noise"}, "No noise at the last step"),
        (_step(mean_alpha_bar=True), {"mean_alpha_bar"}, "not sqrt(alpha_bar_t)"),
        (_step(sigma_beta=True), {"sigma_beta"}, "not beta_t z"),
        (_step(variance=True), {"mean_variance"}, "not the variance"),
        (_step(wraparound=True), {"ddim_wraparound"}, "alpha_bars[-1]"),
        (_step(noise_in_ddim=True), {"deterministic_noise"}, "no noise is added"),
        (_step(drift_with_noise=True), {"drift_with_noise"}, "only the deterministic part"),
        (_step(randn_like=True, sigma_beta=True), {"sigma_beta"}, "not beta_t z"),
        (_step(randn_like=True, last_noise=True), {"last_noise"}, "No noise at the last step"),
        (_step_dict, {"type"}, "StepResult"),
    ],
)
def test_trajectory_step_fails_each_mistake(fn, mistakes, words):
    result = ex.check_trajectory_step(fn)
    assert not result.passed
    assert result.mistake in mistakes, result.message
    assert words in result.message, result.message


def test_trajectory_step_not_implemented():
    def stub(model, xt, t, deterministic=False, generator=None):
        ex.todo("one reverse step")

    with pytest.raises(ex.NotImplementedYet, match="not implemented yet: one reverse step"):
        ex.check_trajectory_step(stub)


# --------------------------------------------------------------------------------------------
# The stand-in model
# --------------------------------------------------------------------------------------------


def test_fake_model_behaves_like_the_real_one():
    model = ex.FakeModel(1e-4, 0.05, 50)
    x = torch.randn(4, 2)
    out = model(x, 3)
    assert out.shape == (4, 2)
    assert torch.equal(out, model(x, torch.full((4,), 3)))
    assert model.alpha_bars.shape == (50,) and model.T == 50
    with pytest.raises(ex.ModelInputError, match="0-based"):
        model(x, 50)
    with pytest.raises(ex.ModelInputError, match="torch.long"):
        model(x, torch.full((4,), 3.0))
    with pytest.raises(ex.ModelInputError, match="broadcast"):
        model(torch.randn(4, 4, 2), 3)
