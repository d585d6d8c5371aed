"""The check of the noise-schedules chapter's exercise, rescale_zero_terminal_snr
(diffusion2d.exercises.snr): its reference is Lin et al.'s Algorithm 1 as the library computes it;
right answers written other ways pass, a tuple is named, and output that no listed mistake
reproduces gets the general hint. (tests/test_exercises.py names every mistake of the
catalogue.)"""

import numpy as np
import pytest
import torch

from diffusion2d import exercises as ex
from diffusion2d import schedules
from diffusion2d.exercises import snr


def _rescale_handwritten(betas):
    """As a participant may write it: in numpy, its own names, alpha_bars[0] prepended."""
    ab = np.cumprod(1 - betas.numpy())
    s = np.sqrt(ab)
    s = (s - s[-1]) * s[0] / (s[0] - s[-1])
    ab = s**2
    alphas = np.concatenate([ab[:1], ab[1:] / ab[:-1]])
    return torch.from_numpy(1 - alphas)


@pytest.mark.parametrize("fn", [snr.reference, _rescale_handwritten])
def test_right_answers_pass(fn):
    result = ex.check_rescale_zero_terminal_snr(fn)
    assert result.passed, result.message


def test_the_reference_ends_at_zero_snr_and_keeps_the_first_step():
    for _, make in snr.CASES:
        (betas,), _ = make()
        new = snr.reference(betas)
        ab = torch.cumprod(1 - new, 0)
        assert new[-1] == 1.0 and ab[-1] == 0.0
        assert torch.isclose(new[0], betas[0], rtol=1e-12)
        assert torch.all(new[1:] > betas[1:])  # every later step adds more noise


def test_every_slip_differs_from_the_reference_on_every_case():
    for _, make in snr.CASES:
        (betas,), _ = make()
        right = schedules.rescale_zero_terminal_snr(betas)
        for key, wrong in snr.MISTAKES:
            assert not torch.allclose(wrong(betas), right, rtol=1e-4, atol=1e-5), key


def test_a_tuple_is_named():
    result = ex.check_rescale_zero_terminal_snr(lambda betas: (snr.reference(betas),) * 3)
    assert not result.passed and result.mistake == "not_tensor", result.message


def test_an_unlisted_error_gets_the_general_hint():
    result = ex.check_rescale_zero_terminal_snr(lambda betas: snr.reference(betas) * 1.01)
    assert not result.passed and result.mistake == "generic", result.message
    assert f"Hint: {snr.HINTS['generic']}" in result.message


def test_a_todo_stub_stops_the_check():
    with pytest.raises(ex.NotImplementedYet, match="Algorithm 1"):
        ex.check_rescale_zero_terminal_snr(lambda betas: ex.todo("Algorithm 1"))
