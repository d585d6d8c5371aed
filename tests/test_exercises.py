"""The workshop checks (diffusion2d.exercises): each passes the reference and other right answers,
names every mistake of its catalogue (also when the draws differ from the prescribed order),
and turns exceptions, todo() stubs and wrong return types into plain verdicts."""

from __future__ import annotations

import ast
import inspect
import sys
import time
import tomllib
from importlib.resources import files

import numpy as np
import pytest
import torch
from wheelfiles import wheel_files

from diffusion2d import exercises as ex
from diffusion2d import flow, loss, samplers, schedules, trajectories
from diffusion2d.exercises import _runner
from diffusion2d.exercises._runner import RUNNER_HINTS
from diffusion2d.trajectories import StepResult

CHECK = {
    "get_diffusion_parameters": ex.check_get_diffusion_parameters,
    "get_loss": ex.check_get_loss,
    "sample": ex.check_sample,
    "trajectory_step": ex.check_trajectory_step,
    "score_and_x0": ex.check_score_and_x0,
    "heun_step": ex.check_heun_step,
    "convert": ex.check_convert,
    "rescale_zero_terminal_snr": ex.check_rescale_zero_terminal_snr,
    "euler_log_det": ex.check_euler_log_det,
    "flow_loss": ex.check_flow_loss,
    "guided_eps": ex.check_guided_eps,
}

# Every hint the four checks gave before they became catalogues (issue 10): none may be lost.
HINT_KEYS = {
    "get_diffusion_parameters": "not_tuple length beta_max_excluded beta_min_excluded betas "
    "alphas_sqrt alphas alpha_bars_sum alpha_bars_total alpha_bars_shifted alpha_bars_of_betas "
    "alpha_bars",
    "get_loss": "variance alpha index_shift x0_target clean_input sum sum_coordinates rmse "
    "broadcast random no_model detached not_scalar generic",
    "sample": "not_list only_x0 length reversed ascending last_noise mean_alpha_bar mean_variance "
    "sigma_beta sigma_tilde draws generic",
    "trajectory_step": "type eps_pred mean_alpha_bar mean_variance drift_absolute drift_with_noise "
    "mode_swapped ddim_wraparound ddim_no_shift ddim_x0_alpha last_noise deterministic_noise "
    "sigma_beta sigma_tilde sum noise_shape generic_ddpm generic_ddim",
    "score_and_x0": "not_tuple swapped score_sign score_signal score_variance score_unscaled "
    "tweedie_sign tweedie_std tweedie_no_variance tweedie_not_rescaled tweedie_alpha_bar score "
    "tweedie",
    "heun_step": "euler final_correction sigma_variance sigma_no_alpha_bar corrector_at_start "
    "corrector_from_euler model_on_y no_rescale x_for_y generic",
    "convert": "not_tuple swapped no_sqrt scales_swapped eps_x0_sign x0_eps_sign v_sign v_via_eps "
    "eps x0",
    "rescale_zero_terminal_snr": "no_sqrt shift_only ratio_of_sqrt first_alpha_one alpha_bars "
    "alphas not_tensor generic",
    "euler_log_det": "no_identity field_only trace signed negated det_not_log backward per_point "
    "not_tuple generic",
    "flow_loss": "reversed target_sign x1_target z_target clean_input noise_input broadcast sum "
    "sum_coordinates rmse random no_model detached not_scalar generic",
    "guided_eps": "swapped paper_w sign no_base scaled_cond no_null null_zero shape not_tensor "
    "generic",
}


def _ids(params):
    return [f"{c.NAME}-{key}-{k}" for k, (c, key, _) in enumerate(params)]


MISTAKES = [(c, key, fn) for c in ex.CATALOGUE for key, fn in c.MISTAKES]


def _expect(result, catalogue, key, fn=None):
    assert not result.passed and result.status == "failed", result.message
    assert result.mistake == key, result.message
    hint = catalogue.HINTS.get(key) or RUNNER_HINTS.get(key)
    if key == "model_input":  # the hint is the stand-in model's own explanation
        args, kwargs = catalogue.CASES[0][1]()
        with pytest.raises(ex.ModelInputError) as raised:
            fn(*args, **kwargs)
        hint = str(raised.value)[1:]
    assert f"{hint}" in result.message and "Hint: " in result.message, result.message
    assert "Traceback" not in result.message


def test_every_check_has_its_own_help_text():
    """``check_get_loss?`` in Jupyter says what the check does, not what functools.partial is."""
    for catalogue in ex.CATALOGUE:
        doc = inspect.getdoc(getattr(ex, f"check_{catalogue.NAME}"))
        assert doc.startswith(f"Check your {catalogue.NAME}(...) on {catalogue.SUMMARY}")


def test_every_hint_is_kept():
    for catalogue in ex.CATALOGUE:
        hints = catalogue.HINTS
        assert set(HINT_KEYS[catalogue.NAME].split()) <= set(hints) | set(RUNNER_HINTS)
        assert all(isinstance(text, str) and len(text) > 20 for text in hints.values())


def _strings(module) -> set[str]:
    """Every string constant in a module's source: the mistake keys its code can name."""
    tree = ast.parse(inspect.getsource(module))
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)}  # fmt: skip


def test_hints_file_has_a_hint_for_every_mistake_and_no_unused_hint():
    tables = tomllib.loads((files("diffusion2d.exercises") / "hints.toml").read_text("utf-8"))
    modules = {c.__name__.rsplit(".", 1)[1]: c for c in ex.CATALOGUE}
    assert set(tables) == {"runner", *modules}  # a table per catalogue, one for the runner
    assert RUNNER_HINTS == tables["runner"]
    for table, catalogue in modules.items():
        assert tables[table].items() <= catalogue.HINTS.items(), table  # HINTS is its table
        for key, _ in catalogue.MISTAKES:  # model_input: the stand-in model's words are the hint
            assert key in catalogue.HINTS or key in RUNNER_HINTS or key == "model_input", key
        # a hint is used if the catalogue's code names its key (a mistake, view or explain,
        # wherever its view and explain are defined: flowloss shares get_loss's)
        defining = (sys.modules[f.__module__] for f in (catalogue.view, catalogue.explain))
        code = {catalogue, *defining}
        assert not set(tables[table]) - set().union(*map(_strings, code)), table
    assert not set(RUNNER_HINTS) - _strings(_runner), "a [runner] hint the runner never names"
    for table in tables.values():
        assert all(text == " ".join(text.split()) for text in table.values())  # one line each


def test_hints_ship_as_package_data():
    """hints.toml is a file of the package that a wheel (a non-editable install) ships."""
    pytest.importorskip("setuptools")
    assert (files("diffusion2d.exercises") / "hints.toml").is_file()
    assert "diffusion2d/exercises/hints.toml" in wheel_files()


@pytest.mark.parametrize(("catalogue", "key", "fn"), MISTAKES, ids=_ids(MISTAKES))
def test_check_names_each_mistake_of_its_catalogue(catalogue, key, fn):
    _expect(CHECK[catalogue.NAME](fn), catalogue, key, fn)


def _drop_generator(fn, catalogue):
    """The same mistake drawing from the global generator (torch.randn_like does the same)."""
    if catalogue is ex.sampler:
        return lambda num_samples, model, generator=None: fn(num_samples, model, generator=None)
    return lambda model, xt, t, deterministic=False, generator=None: fn(model, xt, t,
                                                                         deterministic, None)


DRAWN = [
    (c, key, fn)
    for c, key, fn in MISTAKES
    if c in (ex.sampler, ex.trajectory) and key not in ("signature", "model_input")
]


@pytest.mark.parametrize(("catalogue", "key", "fn"), DRAWN, ids=_ids(DRAWN))
def test_mistakes_are_named_whatever_the_draws(catalogue, key, fn):
    """Another draw order cannot be replayed: the statistical check names the slip instead."""
    _expect(CHECK[catalogue.NAME](_drop_generator(fn, catalogue)), catalogue, key, fn)


# --------------------------------------------------------------------------------------------
# Right answers, and the fallback hints when no listed mistake reproduces the output
# --------------------------------------------------------------------------------------------


def _schedule_handwritten(beta_min, beta_max, T):
    betas = torch.linspace(beta_min, beta_max, T)
    return betas, 1 - betas, torch.cumprod(1 - betas, dim=0)


def _schedule_numpy(beta_min, beta_max, T):
    import numpy as np

    betas = np.linspace(beta_min, beta_max, T)
    return betas, 1 - betas, np.cumprod(1 - betas)


def _loss_handwritten(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts].unsqueeze(1)
    xt = ab.sqrt() * x0s + (1 - ab).sqrt() * eps
    return ((eps - model(xt, ts)) ** 2).mean()


def _loss_none_index(model, x0s, eps, alpha_bars, ts):
    ab = alpha_bars[ts][:, None]
    xt = torch.sqrt(ab) * x0s + torch.sqrt(1 - ab) * eps
    return torch.nn.functional.mse_loss(model(xt, ts), eps)


def _flow_loss_handwritten(model, x1, z, t):
    tc = t[:, None]  # (B, 1)
    return (((x1 - z) - model((1 - tc) * z + tc * x1, t)) ** 2).mean()


def _flow_loss_mse(model, x1, z, t):
    xt = torch.lerp(z, x1, t.unsqueeze(1))
    return torch.nn.functional.mse_loss(model(xt, t), x1 - z)


def _sample_reference(num_samples, model, generator=None):
    return samplers.sample(num_samples, model, "ddpm", generator=generator)


def _sample_draws_first(num_samples, model, generator=None):
    """Right, handwritten, but draws all the noise up front (another draw order)."""
    zs = torch.randn(model.T, num_samples, 2, generator=generator)
    x = torch.randn(num_samples, 2, generator=generator)
    xs = [x]
    for t in range(model.T - 1, -1, -1):
        eps = model(x, t).detach()
        b, a, ab = model.betas[t], model.alphas[t], model.alpha_bars[t]
        x = (x - b / (1 - ab).sqrt() * eps) / a.sqrt() + (b.sqrt() * zs[t] if t > 0 else 0)
        xs.append(x)
    return xs


def _step_handwritten(model, xt, t, deterministic=False, generator=None, as_tuple=False):
    with torch.no_grad():
        eps = model(xt, t)
    beta, alpha, ab = model.betas[t], model.alphas[t], model.alpha_bars[t]
    if deterministic:
        ab_prev = model.alpha_bars[t - 1] if t > 0 else torch.tensor(1.0)
        x0_pred = (xt - (1 - ab).sqrt() * eps) / ab.sqrt()
        drift = ab_prev.sqrt() * x0_pred + (1 - ab_prev).sqrt() * eps - xt
    else:
        drift = (xt - beta / (1 - ab).sqrt() * eps) / alpha.sqrt() - xt
    noise = torch.zeros_like(xt)
    if not deterministic and t > 0:
        noise = beta.sqrt() * torch.randn(xt.shape, generator=generator)
    parts = (xt + drift + noise, eps, drift, noise)
    return parts if as_tuple else StepResult(*parts)


def _convert_handwritten(prediction, output, xt, alpha_bar):
    a, s = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()
    if prediction == "eps":
        return output, (xt - s * output) / a
    if prediction == "x0":
        return (xt - a * output) / s, output
    return s * xt + a * output, a * xt - s * output


def _convert_numpy(prediction, output, xt, alpha_bar):
    """Right, through numpy arrays, returned as a list."""
    a, s = np.sqrt(alpha_bar.numpy()), np.sqrt(1 - alpha_bar.numpy())
    out, x = output.numpy(), xt.numpy()
    if prediction == "v":
        return [s * x + a * out, a * x - s * out]
    return [out, (x - s * out) / a] if prediction == "eps" else [(x - a * out) / s, out]


RIGHT = [
    (ex.check_get_diffusion_parameters, schedules.get_diffusion_parameters),
    (ex.check_get_diffusion_parameters, _schedule_handwritten),
    (ex.check_get_diffusion_parameters, _schedule_numpy),
    (ex.check_get_loss, loss.get_loss),
    (ex.check_get_loss, _loss_handwritten),
    (ex.check_get_loss, _loss_none_index),
    (ex.check_sample, _sample_reference),
    (ex.check_sample, ex.sampler.slipped),
    (ex.check_trajectory_step, trajectories.trajectory_step),
    (ex.check_trajectory_step, _step_handwritten),
    (ex.check_trajectory_step, lambda *a, **k: _step_handwritten(*a, **k, as_tuple=True)),
    (ex.check_flow_loss, flow.flow_loss),
    (ex.check_flow_loss, _flow_loss_handwritten),
    (ex.check_flow_loss, _flow_loss_mse),
    (ex.check_convert, ex.conversions.reference),
    (ex.check_convert, _convert_handwritten),
    (ex.check_convert, _convert_numpy),
    (ex.check_rescale_zero_terminal_snr, schedules.rescale_zero_terminal_snr),
    (ex.check_rescale_zero_terminal_snr, ex.snr.reference),
]


@pytest.mark.parametrize(("check", "fn"), RIGHT)
def test_right_answers_pass(check, fn):
    result = check(fn)
    assert result.passed and result.status == "passed", result.message
    assert "Note" not in result.message


@pytest.mark.parametrize(
    ("check", "fn", "note"),
    [
        (ex.check_sample, _drop_generator(_sample_reference, ex.sampler), "your random draws"),
        (ex.check_sample, _sample_draws_first, "your random draws differ"),
        (ex.check_trajectory_step, _drop_generator(trajectories.trajectory_step, ex.trajectory),
         "your noise is not drawn"),
    ],
)  # fmt: skip
def test_other_draw_orders_pass_with_a_note(check, fn, note):
    result = check(fn)
    assert result.passed, result.message
    assert f"Note: {note}" in result.message


def _step_scaled(part, factor, only_ddim=False):
    def fn(model, xt, t, deterministic=False, generator=None):
        r = trajectories.trajectory_step(model, xt, t, deterministic, generator)
        if deterministic or not only_ddim:
            setattr(r, part, getattr(r, part) * factor)
            r.x_prev = xt + r.drift + r.added_noise if part == "drift" else r.x_prev
        return r

    return fn


def _betas_halved(beta_min, beta_max, T):
    return schedules.get_diffusion_parameters(beta_min / 2, beta_max / 2, T)


def _alphas_are_betas(beta_min, beta_max, T):
    betas, _, alpha_bars = _schedule_handwritten(beta_min, beta_max, T)
    return betas, betas, alpha_bars


def _alpha_bars_squared(beta_min, beta_max, T):
    betas, alphas, alpha_bars = _schedule_handwritten(beta_min, beta_max, T)
    return betas, alphas, alpha_bars**2


def _loss_random_steps(model, x0s, eps, alpha_bars, ts):
    return loss.get_loss(model, x0s, eps, alpha_bars, torch.randint(0, model.T, ts.shape))


def _loss_without_model(model, x0s, eps, alpha_bars, ts):
    return ((eps - x0s) ** 2).mean().requires_grad_()


def _sample_too_little_noise(num_samples, model, generator=None):
    x = torch.randn(num_samples, 2, generator=generator)
    xs = [x]
    for t in range(model.T - 1, -1, -1):
        z = 0.5 * torch.randn(num_samples, 2, generator=generator) if t > 0 else None
        x = samplers.ddpm_step(x, t, model(x, t).detach(), model.betas, model.alphas,
                               model.alpha_bars, z)  # fmt: skip
        xs.append(x)
    return xs


FALLBACKS = [  # (catalogue, function, the mistake named, its hint)
    (ex.schedule, _betas_halved, "betas", "betas"),
    (ex.schedule, _alphas_are_betas, "alphas", "alphas"),
    (ex.schedule, _alpha_bars_squared, "alpha_bars", "alpha_bars"),
    (ex.loss, lambda *args: loss.get_loss(*args) * 1.5, "generic", "generic"),
    (ex.loss, _loss_without_model, "no_model", "no_model"),
    (ex.loss, lambda *args: [loss.get_loss(*args)], "not_scalar", "not_scalar"),
    (ex.loss, _loss_random_steps, "random", "random"),
    (ex.sampler, _sample_too_little_noise, "generic", "generic"),
    (ex.trajectory, _step_scaled("eps_pred", 2.0), "eps_pred", "eps_pred"),
    (ex.trajectory, _step_scaled("x_prev", 1.1), "sum", "sum"),
    (ex.trajectory, _step_scaled("drift", 1.1), "generic_ddpm", "generic_ddpm"),
    (ex.trajectory, _step_scaled("drift", 1.1, only_ddim=True), "generic_ddim", "generic_ddim"),
    (ex.flowloss, lambda *args: flow.flow_loss(*args) * 1.5, "generic", "generic"),
    (ex.flowloss, lambda model, x1, z, t: ((x1 - z) ** 2).mean().requires_grad_(), "no_model",
     "no_model"),
    (ex.flowloss, lambda model, x1, z, t: flow.flow_loss(model, x1, z, torch.rand_like(t)),
     "random", "random"),
]


@pytest.mark.parametrize(("catalogue", "fn", "key", "hint"), FALLBACKS,
                         ids=[f"{c.NAME}-{k}" for c, _, k, _ in FALLBACKS])  # fmt: skip
def test_fallback_hints_when_no_listed_mistake_fits(catalogue, fn, key, hint):
    result = CHECK[catalogue.NAME](fn)
    assert not result.passed and result.mistake == key, result.message
    assert f"Hint: {catalogue.HINTS[hint]}" in result.message, result.message


def _schedule_arange(beta_min, beta_max, T):
    betas = torch.arange(beta_min, beta_max, (beta_max - beta_min) / T)[:T]
    return betas, 1 - betas, torch.cumprod(1 - betas, 0)


def _loss_no_grad(model, x0s, eps, alpha_bars, ts):
    with torch.no_grad():
        return _loss_handwritten(model, x0s, eps, alpha_bars, ts)


def _sample_last_noise(num_samples, model, generator=None):
    xs = [torch.randn(num_samples, 2, generator=generator)]
    for t in reversed(range(model.T)):
        x, eps = xs[-1], model(xs[-1], t).detach()
        b, a, ab = model.betas[t], model.alphas[t], model.alpha_bars[t]
        z = torch.randn(num_samples, 2, generator=generator)
        xs.append((x - b / (1 - ab).sqrt() * eps) / a.sqrt() + b.sqrt() * z)
    return xs


@pytest.mark.parametrize(
    ("check", "fn", "keys"),
    [
        (ex.check_get_diffusion_parameters, _schedule_arange, {"beta_max_excluded", "length"}),
        (ex.check_get_loss, _loss_no_grad, {"detached"}),
        (ex.check_sample, _sample_last_noise, {"last_noise"}),
        (ex.check_sample, _drop_generator(_sample_last_noise, ex.sampler), {"last_noise"}),
    ],
)
def test_other_ways_to_write_a_listed_mistake(check, fn, keys):
    result = check(fn)
    assert not result.passed and result.mistake in keys, result.message


# --------------------------------------------------------------------------------------------
# The verdict itself: todo() stubs, exceptions, printing, random state, speed
# --------------------------------------------------------------------------------------------


def test_todo_raises_not_implemented_with_the_hint():
    with pytest.raises(NotImplementedError, match=r"^not implemented yet: compute alpha_bars$"):
        ex.todo("compute alpha_bars")
    with pytest.raises(ex.NotImplementedYet, match=r"^not implemented yet$"):
        ex.todo()


@pytest.mark.parametrize(
    ("check", "stub", "words"),
    [
        (ex.check_get_diffusion_parameters, lambda beta_min, beta_max, T: ex.todo(
            "compute betas, alphas and alpha_bars"),
         "not implemented yet: compute betas, alphas and alpha_bars"),
        (ex.check_get_loss, lambda model, x0s, eps, alpha_bars, ts: ex.todo(),
         "get_loss: not implemented yet.\nWrite your code in place of the todo"),
        (ex.check_sample, lambda num_samples, model, generator=None: ex.todo("the DDPM sampler"),
         "sample: not implemented yet: the DDPM sampler"),
        (ex.check_trajectory_step, lambda model, xt, t, deterministic=False, generator=None:
         ex.todo("one reverse step"), "not implemented yet: one reverse step"),
        (ex.check_flow_loss, lambda model, x1, z, t: ex.todo("the flow-matching loss"),
         "flow_loss: not implemented yet: the flow-matching loss"),
    ],
)  # fmt: skip
def test_a_todo_stub_stops_the_notebook_in_plain_words(check, stub, words):
    with pytest.raises(ex.NotImplementedYet) as raised:
        check(stub)
    assert words in str(raised.value)


def test_an_exception_points_at_the_line_that_raised():
    def crashes(beta_min, beta_max, T):
        return torch.linspace(beta_min, beta_max)  # missing steps argument

    result = ex.check_get_diffusion_parameters(crashes)
    assert not result.passed and "raised TypeError" in result.message
    assert "in your code, line" in result.message and "torch.linspace" in result.message


def test_result_prints_and_displays_as_its_message():
    result = ex.check_get_diffusion_parameters(schedules.get_diffusion_parameters)
    assert result.passed is True and bool(result)
    assert str(result) == repr(result) == result.message
    assert result.message.startswith("\u2714 get_diffusion_parameters: passed")
    html = result._repr_html_()
    assert "passed" in html and "<script" not in html
    def bad(beta_min, beta_max, T):
        raise ValueError("<b>not bold</b>")

    failed = ex.check_get_diffusion_parameters(bad)
    assert not failed and failed.status == "failed"
    assert "<b>" in failed.message and "<b>" not in failed._repr_html_()
    assert "&lt;b&gt;" in failed._repr_html_()


def test_loss_message_shows_expected_and_got():
    result = ex.check_get_loss(dict(ex.loss.MISTAKES)["variance"])
    assert "expected: " in result.message and "got: " in result.message
    assert "failed on a batch of 6 points" in result.message


def test_loss_no_unsqueeze_is_caught_even_when_the_batch_has_two_points():
    # With B = 2 the (B,) coefficient broadcasts silently over the coordinates: a wrong value.
    no_unsqueeze, row = (fn for key, fn in ex.loss.MISTAKES if key == "broadcast")  # (B,), (1, B)
    desc, make = ex.loss.CASES[1]
    assert "2 points" in desc
    for wrong in (no_unsqueeze, row):
        assert not torch.allclose(wrong(*make()[0]), loss.get_loss(*make()[0]))
        result = ex.check_get_loss(wrong)
        assert result.case is not None and "6 points" in result.case  # the first case raises


@pytest.mark.parametrize(
    ("catalogue", "key", "words"),
    [
        (ex.schedule, "length", ["betas has shape (51,); expected (50,)", "got:      (51,)"]),
        (ex.sampler, "length", ["it returned a list of 6; expected a list of T+1 = 7"]),
        (ex.sampler, "only_x0", ["it returned a Tensor of shape (5, 2); expected a list"]),
    ],
)  # fmt: skip
def test_structural_verdicts_show_expected_and_got(catalogue, key, words):
    result = CHECK[catalogue.NAME](dict(catalogue.MISTAKES)[key])
    assert result.mistake == key and all(w in result.message for w in words), result.message


def test_not_a_function():
    result = ex.check_get_loss(0.5)
    assert not result.passed and "your function itself" in result.message


def test_an_unreadable_output_is_a_verdict_not_a_traceback():
    def objects(beta_min, beta_max, T):
        return (np.array([None] * T),) * 3  # torch cannot read an object array

    result = ex.check_get_diffusion_parameters(objects)
    assert not result.passed and result.mistake == "unreadable", result.message
    assert "could not evaluate your function's output (TypeError" in result.message


@pytest.mark.parametrize(
    ("out", "words", "key"),
    [
        (lambda T: ([0.1] * T,) * 3, "betas is a list; expected a torch tensor of shape (50,)",
         "type"),
        (lambda T: (torch.ones(T, dtype=torch.bool),) * 3,
         "betas has dtype torch.bool; expected floating-point numbers", None),
    ],
)  # fmt: skip
def test_outputs_that_are_not_float_tensors_are_named(out, words, key):
    result = ex.check_get_diffusion_parameters(lambda beta_min, beta_max, T: out(T))
    assert not result.passed and result.mistake == key and words in result.message, result.message
    assert ("Hint: Return torch tensors" in result.message) == (key == "type")


def test_loss_fallback_when_a_second_run_fails():
    runs = []

    def fails_when_run_again(model, x0s, eps, alpha_bars, ts):
        runs.append(ts)
        if len(runs) > 1:
            raise RuntimeError("only once")
        return loss.get_loss(model, x0s, eps, alpha_bars, ts) * 1.5

    result = ex.check_get_loss(fails_when_run_again)
    assert result.mistake == "generic" and len(runs) == 2, result.message


def test_a_check_leaves_the_global_random_state_alone():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    ex.check_sample(_sample_reference)
    ex.check_sample(_drop_generator(_sample_reference, ex.sampler))
    assert torch.equal(before, torch.get_rng_state())


def test_convert_names_the_zero_snr_division_and_the_case():
    """A v-model converted through eps divides 0 by 0 at alpha_bar = 0: named, whatever the way."""
    def through_library(prediction, output, xt, alpha_bar):
        eps, x0 = ex.conversions.reference(prediction, output, xt, alpha_bar)
        if prediction == "v":
            x0 = (xt - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()
            x0 = torch.where(alpha_bar > 0, x0, torch.inf)  # another non-finite value
        return eps, x0

    result = ex.check_convert(through_library)
    assert result.mistake == "v_via_eps" and "alpha_bar = 0" in result.case, result.message
    wrong_x0 = ex.check_convert(lambda p, o, xt, ab: (ex.conversions.reference(p, o, xt, ab)[0],
                                                     1.1 * ex.conversions.reference(p, o, xt,
                                                                                    ab)[1]))
    assert wrong_x0.mistake == "x0" and "eps-model" in wrong_x0.case, wrong_x0.message


def test_checks_are_fast():
    start = time.process_time()
    for check, fn in RIGHT[::3]:
        check(fn)
    ex.check_sample(_sample_draws_first)  # the statistical fallback, 4000 particles
    assert time.process_time() - start < 5.0


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
    with pytest.raises(ex.ModelInputError, match="points first"):
        model(torch.full((4,), 3), x)
    with pytest.raises(ex.ModelInputError, match="negative"):
        model(x, -1)
    with pytest.raises(ex.ModelInputError, match="of type ndarray"):
        model(x.numpy(), 3)
    with pytest.raises(ex.ModelInputError, match="dtype torch.int64; points must be floating"):
        model(x.long(), 3)
    with pytest.raises(ex.ModelInputError, match=r"shape \(4, 3\); expected \(N, 2\)"):
        model(torch.randn(4, 3), 3)
    with pytest.raises(ex.ModelInputError, match=r"steps of shape \(3,\) for 4 points"):
        model(x, torch.full((3,), 3))


def test_flow_loss_slips_from_the_chapter_are_named():
    """The chapter's three typical slips: the path reversed (noise at t = 1), the target z - x_1,
    a sum instead of a mean; and a (B,) time broadcast against the points is caught on every
    batch size but 2."""
    for key in ("reversed", "target_sign", "sum"):
        result = ex.check_flow_loss(dict(ex.flowloss.MISTAKES)[key])
        assert result.mistake == key and "expected: " in result.message, result.message
    desc, make = ex.flowloss.CASES[1]
    assert "3 points" in desc and "t = 0, 0.5 and 1" in desc
    args = make()[0]
    assert float(args[3][0]) == 0.0 and float(args[3][-1]) == 1.0
    velocity = ex.flowloss.FakeVelocity()
    with pytest.raises(ex.ModelInputError, match="integer times"):
        velocity(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ex.ModelInputError, match=r"t\[:, None\]"):
        velocity(torch.zeros(3, 2), torch.zeros(3, 1))
    assert velocity(torch.zeros(3, 2), 0.5).shape == (3, 2)
