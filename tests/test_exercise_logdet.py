"""The check of the likelihood chapter's exercise, euler_log_det (diffusion2d.exercises.logdet):
its reference is the library's Euler step with its exact log-determinant (the term
likelihood.nll adds for each step); right answers written three ways pass, and output that no
listed mistake reproduces gets the general hint. (tests/test_exercises.py names every mistake
of the catalogue.)"""

import math

import pytest
import torch

from diffusion2d import exercises as ex
from diffusion2d.exercises import logdet
from diffusion2d.likelihood import _step


@pytest.mark.parametrize("k", range(len(logdet.CASES)))
def test_the_reference_is_the_library_step(k):
    (f, y, h), _ = logdet.CASES[k][1]()
    y_next, log_det = logdet.reference(f, y, h)
    want_y, det = _step(f, None, y, h)
    assert torch.equal(y_next, want_y) and torch.allclose(log_det, det.logabsdet)
    assert (det.sign < 0).all() == ("folds" in logdet.CASES[k][0])


def test_a_linear_field_in_closed_form():
    """f(y) = A y: every point's step has J = I + h A, so log |det J| is one number."""
    (f, y, h), _ = logdet.CASES[0][1]()
    a = f(torch.eye(2, dtype=torch.float64)).T  # the columns of A are f(e_j)
    want = math.log(abs(float(torch.linalg.det(torch.eye(2, dtype=torch.float64) + h * a))))
    assert torch.allclose(logdet.reference(f, y, h)[1], torch.full((len(y),), want,
                                                                    dtype=torch.float64))


def _two_rows(f, y, h):
    """As the chapter's solution: a backward pass per row of the Jacobians."""
    y = y.detach().requires_grad_(True)
    y_next = y + h * f(y)
    rows = [torch.autograd.grad(y_next[:, i].sum(), y, retain_graph=True)[0] for i in range(2)]
    return y_next.detach(), torch.linalg.slogdet(torch.stack(rows, 1)).logabsdet


def _vmap_jacrev(f, y, h):
    """torch.func: the Jacobian of one point's step, mapped over the points."""
    def one(v):  # (2,) -> (2,)
        return v + h * f(v[None])[0]

    jac = torch.func.vmap(torch.func.jacrev(one))(y)  # (N, 2, 2)
    return y + h * f(y), torch.linalg.det(jac).abs().log()


def _functional_blocks(f, y, h):
    """torch.autograd.functional.jacobian of the whole batch, then its diagonal blocks."""
    full = torch.autograd.functional.jacobian(lambda v: v + h * f(v), y)  # (N, 2, N, 2)
    idx = torch.arange(len(y))
    return y + h * f(y), torch.linalg.slogdet(full[idx, :, idx, :]).logabsdet


@pytest.mark.parametrize("fn", [logdet.reference, _two_rows, _vmap_jacrev, _functional_blocks])
def test_right_answers_pass(fn):
    result = ex.check_euler_log_det(fn)
    assert result.passed, result.message
    assert "Note" not in result.message


def test_an_unlisted_error_gets_the_general_hint():
    def off(f, y, h):
        y_next, log_det = logdet.reference(f, y, h)
        return y_next, 1.01 * log_det

    result = ex.check_euler_log_det(off)
    assert not result.passed and result.mistake == "generic", result.message
    assert f"Hint: {logdet.HINTS['generic']}" in result.message


def test_the_missing_absolute_value_is_named_on_the_folding_step():
    result = ex.check_euler_log_det(dict(logdet.MISTAKES)["signed"])
    assert result.mistake == "signed" and "folds the plane" in result.case, result.message


def test_a_todo_stub_stops_the_check():
    with pytest.raises(ex.NotImplementedYet, match="one Euler step"):
        ex.check_euler_log_det(lambda f, y, h: ex.todo("one Euler step"))
