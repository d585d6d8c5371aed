"""The check of the probability-flow chapter's exercise, heun_step (diffusion2d.exercises.heun):
its reference is the library's Heun sampler one step at a time; right answers pass, and output
that no listed mistake reproduces gets the general hint. (tests/test_exercises.py names every
mistake of the catalogue.)"""

import pytest
import torch

from diffusion2d import exercises as ex
from diffusion2d import samplers
from diffusion2d.exercises import FakeModel, heun


@pytest.mark.parametrize("num_steps", [None, 3, 1])
def test_the_reference_step_by_step_is_the_library_heun_sampler(num_steps):
    model = FakeModel(0.05, 0.4, 6)
    xs = samplers.sample(7, model, "heun", torch.Generator().manual_seed(0), num_steps)
    steps = samplers.timesteps(model.T, num_steps)
    x = xs[0]
    for t, t_prev in zip(steps, [*steps[1:], -1], strict=True):
        x = heun.reference(model, x, t, t_prev, model.alpha_bars)
    assert torch.allclose(x, xs[-1], atol=1e-6)


def _heun_handwritten(model, xt, t, t_prev, alpha_bars):
    """As a participant may write it: int steps, its own names, no_grad."""
    ab = alpha_bars[t]
    ab_prev = alpha_bars[t_prev] if t_prev >= 0 else torch.tensor(1.0)
    sigma, sigma_prev = ((1 - ab) / ab).sqrt(), ((1 - ab_prev) / ab_prev).sqrt()
    with torch.no_grad():
        y = xt / ab.sqrt()
        d = model(xt, t)
        y_euler = y + (sigma_prev - sigma) * d
        if t_prev < 0:
            return y_euler
        d_prev = model(y_euler * ab_prev.sqrt(), t_prev)
        return (y + (sigma_prev - sigma) * (d + d_prev) / 2) * ab_prev.sqrt()


@pytest.mark.parametrize("fn", [heun.reference, _heun_handwritten])
def test_right_answers_pass(fn):
    result = ex.check_heun_step(fn)
    assert result.passed, result.message
    assert "Note" not in result.message


def test_an_unlisted_error_gets_the_general_hint():
    result = ex.check_heun_step(lambda *args: heun.reference(*args) * 1.01)
    assert not result.passed and result.mistake == "generic", result.message
    assert f"Hint: {heun.HINTS['generic']}" in result.message


def test_a_todo_stub_stops_the_check():
    with pytest.raises(ex.NotImplementedYet, match="one Heun step"):
        ex.check_heun_step(lambda model, xt, t, t_prev, alpha_bars: ex.todo("one Heun step"))


def test_calling_the_network_at_step_minus_one_is_explained():
    """The correction on the last step, written literally, asks the network for step -1: the
    stand-in model says steps are 0-based."""
    def corrects_always(model, xt, t, t_prev, alpha_bars):
        return heun.step(model, xt, t, max(t_prev, 0), alpha_bars) if t_prev >= 0 else model(
            xt, torch.full((len(xt),), t_prev))

    result = ex.check_heun_step(corrects_always)
    assert not result.passed and result.mistake == "model_input", result.message
    assert "step t = -1" in result.message
