"""The scores chapter's library code: evaluation.score_by_step against closed forms, its figures
(fields.score_by_step_figure, field_comparison_figure(score=True)) by the figure audit, and the
score_and_x0 check: right answers pass, unlisted slips get the formula's hint."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from figaudit import audit  # noqa: E402

from diffusion2d import ExactDenoiser, evaluation, plotting  # noqa: E402
from diffusion2d import exercises as ex  # noqa: E402
from diffusion2d.parameterisation import score_from_eps, x0_from_eps  # noqa: E402
from diffusion2d.plotting import fields  # noqa: E402

SCHEDULE = (1e-4, 0.05, 10)
GRID = (-1.0, 1.001, 0.5)  # 5 x 5 points


def _one_point(c=(0.0, 0.0)):
    return ExactDenoiser(torch.tensor([c], dtype=torch.float64), *SCHEDULE)


def test_score_by_step_matches_closed_forms_for_one_data_point():
    """Data = the origin: q(x_t) = N(0, (1 - a) I), score -x / (1 - a), E[x0 | x_t] = 0. A model
    that is the exact denoiser of the point c: score -(x - sqrt(a) c) / (1 - a), so its error is
    the constant sqrt(a) c / (1 - a) and its Tweedie estimate is c."""
    exact, c = _one_point(), torch.tensor([0.3, -0.4], dtype=torch.float64)  # |c| = 0.5
    table = evaluation.score_by_step(_one_point(c.tolist()), exact, exact.data, repeats=4000,
                                     grid=GRID)  # fmt: skip
    a = exact.alpha_bars.double().numpy()  # (T,)
    assert list(table.index) == list(range(1, SCHEDULE[2] + 1))
    np.testing.assert_allclose(table["bound"], np.sqrt(2 / (1 - a)), rtol=1e-12)
    np.testing.assert_allclose(table["exact_rms"], table["bound"], rtol=0.05)  # x_t reveals eps
    np.testing.assert_allclose(table["error_rms"], np.sqrt(a) * 0.5 / (1 - a), rtol=1e-5)
    np.testing.assert_allclose(table["x0_exact"], 0.0, atol=1e-9)
    np.testing.assert_allclose(table["x0_model"], 0.5, rtol=1e-5)
    gx = np.arange(-1.0, 1.001, 0.5)
    rms_grid = np.sqrt(2 * np.mean(gx**2))  # RMS |x| over the 5 x 5 grid
    np.testing.assert_allclose(table["relative_grid"], np.sqrt(a) * 0.5 / rms_grid, rtol=1e-5)
    # x_t itself lies |x_t| = sqrt(1 - a) |eps| from the origin: mean sqrt((1 - a) pi / 2)
    np.testing.assert_allclose(table["xt_nearest"], np.sqrt((1 - a) * np.pi / 2), rtol=0.03)
    g = np.stack(np.meshgrid(gx, gx), -1).reshape(-1, 2)  # (25, 2), as utils.grid
    for k, ak in enumerate(a):  # on the grid: the scores -g and -(g - sqrt(a) c), times 1/(1 - a)
        m = g - np.sqrt(ak) * c.numpy()  # (25, 2)
        cos = (g * m).sum(1) / np.maximum(np.linalg.norm(g, axis=1) * np.linalg.norm(m, axis=1),
                                          1e-300)  # the origin: cosine 0, as torch gives
        assert table["grid_cosine"].iloc[k] == pytest.approx(np.sort(cos)[12], abs=1e-5)
        assert table["grid_length"].iloc[k] == pytest.approx(np.sqrt((m**2).sum(1).mean())
                                                             / rms_grid, rel=1e-5)


def test_score_by_step_of_the_exact_denoiser_against_itself_is_exact():
    data = torch.randn(12, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    exact = ExactDenoiser(data, *SCHEDULE)
    table = evaluation.score_by_step(exact, exact, data, repeats=2, grid=GRID)
    assert (table["relative_q"] < 1e-5).all()  # float32 in the model's place
    np.testing.assert_allclose(table[["grid_cosine", "grid_length"]], 1.0, rtol=1e-5)
    assert (table["exact_rms"] <= table["bound"] * 1.5).all()
    with pytest.raises(ValueError, match="repeats"):
        evaluation.score_by_step(exact, exact, data, repeats=0)


def test_score_figures_pass_the_audit():
    exact, other = _one_point(), _one_point((0.3, -0.4))
    table = evaluation.score_by_step(other, exact, exact.data, repeats=50, grid=GRID)
    comp = evaluation.compare_fields(other, exact, times=[1, 5, 10], grid=GRID)
    np.testing.assert_allclose(comp.alpha_bars, exact.alpha_bars.double().numpy()[[0, 4, 9]])
    for fig in (fields.score_by_step_figure(table), fields.field_comparison_figure(comp, True)):
        report = audit(fig)
        assert report["min_font"] >= plotting.MIN_FONT, report
        assert report["width"] <= report["max_width"] + 1e-6, report
        assert not report["foreign_colors"], report
        plt.close(fig)
    comp.alpha_bars = None
    with pytest.raises(ValueError, match="alpha_bars"):
        fields.field_comparison_figure(comp, score=True)


def _handwritten(xt, eps, alpha_bar):
    score = -eps / (1 - alpha_bar).sqrt()
    return score, (xt + (1 - alpha_bar) * score) / alpha_bar.sqrt()


@pytest.mark.parametrize("fn", [_handwritten, ex.score.reference,
                                lambda xt, eps, ab: (score_from_eps(eps, ab),
                                                     x0_from_eps(xt, eps, ab))])  # fmt: skip
def test_score_and_x0_right_answers_pass(fn):
    result = ex.check_score_and_x0(fn)
    assert result.passed, result.message


@pytest.mark.parametrize(("fn", "key"), [
    (lambda xt, eps, ab: (1.1 * _handwritten(xt, eps, ab)[0], _handwritten(xt, eps, ab)[1]),
     "score"),
    (lambda xt, eps, ab: (_handwritten(xt, eps, ab)[0], 1.1 * _handwritten(xt, eps, ab)[1]),
     "tweedie"),
])  # fmt: skip
def test_score_and_x0_fallback_hints(fn, key):
    result = ex.check_score_and_x0(fn)
    assert not result.passed and result.mistake == key, result.message
    assert f"Hint: {ex.score.HINTS[key]}" in result.message
