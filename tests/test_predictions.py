"""predictions: the (eps, x_0) a denoiser implies and their errors against the exact denoiser, on
closed forms (a perfect denoiser in any parameterisation has no error; a constant eps offset d
has error |d| in eps and |d| sqrt((1 - alpha_bar) / alpha_bar) in x_0)."""

import numpy as np
import pytest
import torch
from torch import nn

from diffusion2d import cache as cache_mod
from diffusion2d.exact import ExactDenoiser
from diffusion2d.parameterisation import target
from diffusion2d.predictions import amplification, eps_and_x0_of, implied_errors
from diffusion2d.schedules import make_schedule

DATA = torch.tensor([[0.0, 1.0], [1.0, -0.5], [-1.2, 0.3], [0.4, 0.4]])  # (4, 2)


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch, tmp_path):
    monkeypatch.setenv(cache_mod.ENV_VAR, str(tmp_path))


def _exact(T=8):
    return ExactDenoiser(DATA, 0.01, 0.3, T)


class Native(nn.Module):
    """A perfect model in parameterisation ``prediction`` (``offset``: added to its eps)."""

    def __init__(self, exact, prediction, offset=(0.0, 0.0)):
        super().__init__()
        self.exact, self.prediction, self.T = exact, prediction, exact.T
        self.register_buffer("alpha_bars", exact.alpha_bars.clone())
        self.offset = torch.tensor(offset)

    def native(self, xt, t):
        eps = self.exact(xt.double(), t) + self.offset.double()  # (N, 2)
        ab = self.alpha_bars.double()[t]  # (N,)
        x0 = (xt.double() - (1 - ab).sqrt()[:, None] * eps) / ab.sqrt()[:, None]
        return target(self.prediction, x0, eps, ab).to(xt.dtype)


@pytest.mark.parametrize("prediction", ["eps", "x0", "v"])
def test_a_perfect_model_has_no_error_in_any_parameterisation(prediction):
    exact = _exact()
    table = implied_errors({"m": Native(exact, prediction)}, exact, DATA, repeats=3)
    assert list(table.index) == list(range(exact.T))  # 0-based steps
    assert table[["eps:m", "x0:m"]].to_numpy().max() < 1e-5  # float32 read-out


def test_an_eps_offset_is_amplified_into_x0_by_the_schedule():
    exact, d = _exact(), 0.01
    table = implied_errors({"m": Native(exact, "eps", (d, 0.0))}, exact, DATA, repeats=2)
    np.testing.assert_allclose(table["eps:m"], d, rtol=1e-4)
    factor = np.sqrt((1 - exact.alpha_bars.double().numpy()) / exact.alpha_bars.double().numpy())
    np.testing.assert_allclose(table["x0:m"], d * factor, rtol=1e-3)
    np.testing.assert_allclose(table["amplification"], factor, rtol=1e-6)


def test_results_are_cached_and_seeded(tmp_path):
    exact = _exact()
    models = {"a": Native(exact, "v", (0.02, -0.01))}
    first = implied_errors(models, exact, DATA, repeats=2)
    assert any((tmp_path / "results").iterdir())
    assert first.equals(implied_errors(models, exact, DATA, repeats=2))
    assert not first.equals(implied_errors(models, exact, DATA, repeats=2, seed=1))


def test_zero_terminal_snr_eps_gives_no_x0_but_v_does():
    exact = _exact()
    sched = make_schedule("linear_zero_snr", 0.01, 0.3, exact.T)
    for name, value in zip(("betas", "alphas", "alpha_bars"), sched, strict=True):
        setattr(exact, name, value)
    xt = torch.randn(5, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    eps, x0 = eps_and_x0_of(exact, xt, exact.T - 1)
    torch.testing.assert_close(eps, xt)  # E[eps | x_t] = x_t where alpha_bar = 0
    assert torch.isnan(x0).all()  # 0 / 0
    v_eps, v_x0 = eps_and_x0_of(Native(exact, "v"), xt, exact.T - 2)
    assert torch.isfinite(v_eps).all() and torch.isfinite(v_x0).all()
    assert np.isinf(amplification(exact.alpha_bars)[-1])


def test_errors_name_the_argument():
    exact = _exact()
    with pytest.raises(ValueError, match="schedule"):
        implied_errors({"m": _exact(T=6)}, exact, DATA)
    with pytest.raises(ValueError, match="repeats"):
        implied_errors({"m": exact}, exact, DATA, repeats=0)
    with pytest.raises(ValueError, match="points"):
        implied_errors({"m": exact}, exact, torch.zeros(3, 3))


def test_implied_error_figure_is_in_the_book_style():
    import matplotlib.pyplot as plt
    from figaudit import audit

    from diffusion2d.plotting import prediction

    exact = _exact()
    models = {"e": Native(exact, "eps", (0.01, 0)), "x": Native(exact, "x0", (0.02, 0)),
              "v": Native(exact, "v", (0.0, 0.01))}
    table = implied_errors(models, exact, DATA, repeats=2)
    fig = prediction.implied_error_figure(table, {"e": "eps", "x": "x_0", "v": "v"})
    report = audit(fig)
    assert report["min_font"] >= 9 and report["width"] <= report["max_width"]
    assert not report["foreign_colors"]
    for ax in fig.axes:
        assert ax.get_yscale() == "log" and len(ax.get_lines()) == 3
        assert len({line.get_marker() for line in ax.get_lines()}) == 3
        assert len({line.get_linestyle() for line in ax.get_lines()}) == 3
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["eps", "x_0", "v"]
    for ax, kind in zip(fig.axes, ("eps", "x0"), strict=True):  # a labelled tick above all
        top = max(table[f"{kind}:{n}"].max() for n in ("e", "x", "v"))
        assert ax.get_ylim()[1] == prediction.nice_top(top) >= top
        assert ax.get_xlabel() == "step $t$ (0-based)"
    plt.close(fig)
    with pytest.raises(ValueError, match="columns"):
        prediction.implied_error_figure(table, {"nope": "?"})


def test_nice_top_is_the_next_one_two_or_five():
    from diffusion2d.plotting.prediction import nice_top

    for value, top in ((0.0895, 0.1), (0.06, 0.1), (1.3, 2.0), (2.0, 2.0), (3.1, 5.0),
                       (0.0004, 0.0005), (7.0, 10.0)):
        assert nice_top(value) == pytest.approx(top)
    with pytest.raises(ValueError, match="positive"):
        nice_top(0.0)
