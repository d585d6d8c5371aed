"""The check of the guidance chapter's exercise, guided_eps (diffusion2d.exercises.cfg): right
answers written other ways pass, the stand-in model treats no label, None and its null index
alike, its misuse is explained, and output no listed mistake reproduces gets the general hint.
(tests/test_exercises.py names every mistake of the catalogue.)"""

import pytest
import torch

from diffusion2d import exercises as ex
from diffusion2d import guidance
from diffusion2d.exercises import cfg


def _mixed(model, xt, t, y, guidance_scale):
    """Written as a weighted mean, with the null label's index."""
    null = torch.full((len(xt),), model.num_classes)
    return (1 - guidance_scale) * model(xt, t, null) + guidance_scale * model(xt, t, y)


def _paper(model, xt, t, y, guidance_scale):
    """Ho & Salimans eq. 6 with w = guidance_scale - 1, the null label as y=None."""
    w = guidance_scale - 1
    return (1 + w) * model(xt, t, y) - w * model(xt, t, None)


@pytest.mark.parametrize("fn", [cfg.reference, guidance.guided_eps, _mixed, _paper])
def test_right_answers_pass(fn):
    result = ex.check_guided_eps(fn)
    assert result.passed, result.message


def test_the_stand_in_has_a_null_label_and_classes_that_differ():
    (model, xt, t, y, _), _ = cfg.CASES[0][1]()
    null = model(xt, t)
    assert torch.equal(null, model(xt, t, None))
    assert torch.equal(null, model(xt, t, torch.full((len(xt),), cfg.K)))
    per_class = [model(xt, t, k) for k in range(cfg.K)]
    assert all(not torch.allclose(eps, null) for eps in per_class)
    assert not torch.allclose(per_class[0], per_class[1])
    assert torch.equal(model(xt, t, y)[0], per_class[int(y[0])][0])  # a label per row


def test_every_slip_differs_from_the_reference_on_the_first_case():
    """The first case (three classes at s = 3) tells every listed mistake apart."""
    outputs = []
    for key, wrong in [("reference", cfg.reference), *cfg.MISTAKES]:
        args, _ = cfg.CASES[0][1]()
        outputs.append((key, wrong(*args)))
    for i, (key, out) in enumerate(outputs):
        for other, other_out in outputs[i + 1:]:
            assert not torch.allclose(out, other_out, rtol=1e-4, atol=1e-5), (key, other)


def test_misuse_of_the_model_is_explained():
    result = ex.check_guided_eps(lambda model, xt, t, y, s: model(xt, t, y.float()))
    assert not result.passed and result.mistake == "model_input"
    assert "floating-point dtype" in result.message
    result = ex.check_guided_eps(lambda model, xt, t, y, s: model(xt, t, 7))
    assert not result.passed and "null label" in result.message


def test_a_tuple_and_a_wrong_shape_are_named():
    both = ex.check_guided_eps(lambda model, xt, t, y, s: (model(xt, t, y), model(xt, t)))
    assert not both.passed and both.mistake == "not_tensor", both.message
    flat = ex.check_guided_eps(lambda *args: cfg.reference(*args).flatten())
    assert not flat.passed and flat.mistake == "shape", flat.message


def test_an_unlisted_error_gets_the_general_hint():
    result = ex.check_guided_eps(lambda *args: cfg.reference(*args) * 1.01)
    assert not result.passed and result.mistake == "generic", result.message
    assert f"Hint: {cfg.HINTS['generic']}" in result.message


def test_the_hints_fit_the_code_that_earns_them():
    """One model call, with the label (no guidance at all), is the no_null slip: its hint must
    not speak of a second call; label 0 is explained without the book's shapes (the stand-in
    has three abstract classes)."""
    once = ex.check_guided_eps(lambda model, xt, t, y, s: model(xt, t, y))
    assert not once.passed and once.mistake == "no_null", once.message
    assert "both times" not in once.message and "model(xt, t)" in once.message
    zero = ex.check_guided_eps(lambda model, xt, t, y, s: model(xt, t, 0)
                               + s * (model(xt, t, y) - model(xt, t, 0)))
    assert not zero.passed and zero.mistake == "null_zero", zero.message
    assert "dino" not in cfg.HINTS["null_zero"] and "not the null label" in cfg.HINTS["null_zero"]
