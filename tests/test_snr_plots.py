"""The noise-schedules chapter's figures (diffusion2d.plotting.snr), audited for the book's style:
the schedules in alpha_bar and log-SNR (an infinite log-SNR drawn as a labelled arrow) and a
model's noise error with what one DDPM step makes of it."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from figaudit import audit  # noqa: E402

from diffusion2d.plotting import snr  # noqa: E402
from diffusion2d.schedule_errors import ddpm_gain  # noqa: E402
from diffusion2d.schedules import make_schedule  # noqa: E402

KINDS = {"v3": ("linear", 0.05), "v4": ("linear", 0.02), "cosine": ("cosine", 0.05),
         "zsnr": ("linear_zero_snr", 0.05)}


def _schedules(T=50):
    return {k: make_schedule(kind, 1e-4, b, T) for k, (kind, b) in KINDS.items()}


def _ok(fig):
    report = audit(fig)
    assert report["min_font"] >= 9 and report["width"] <= report["max_width"]
    assert not report["foreign_colors"]


def test_schedule_comparison_marks_minus_infinity():
    fig = snr.schedule_comparison({k: s[2] for k, s in _schedules().items()})
    _ok(fig)
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts.count(r"$-\infty$") == 1  # zero terminal SNR only
    assert len(fig.legends[0].get_texts()) == 4
    plt.close(fig)


def test_error_gain_figure_drops_non_finite_points():
    scheds = _schedules()
    errors = {k: np.full(50, 0.05) for k in ("v3", "cosine", "zsnr")}
    errors["zsnr"][-1] = np.nan
    gains = {k: ddpm_gain(*scheds[k]) for k in errors}
    fig = snr.error_gain_figure(errors, gains, labels={"zsnr": "zero SNR, v"})
    _ok(fig)
    right = fig.axes[1]
    assert right.get_yscale() == "log"
    ys = np.concatenate([line.get_ydata() for line in right.lines])
    assert np.isfinite(ys).all() and ys.max() == pytest.approx(0.05 * gains["cosine"][-1])
    assert "zero SNR, v" in [t.get_text() for t in fig.legends[0].get_texts()]
    plt.close(fig)


def test_figures_name_bad_arguments():
    with pytest.raises(ValueError, match="keys must be among"):
        snr.schedule_comparison({"other": np.linspace(1, 0.1, 5)})
    with pytest.raises(ValueError, match="same keys"):
        snr.error_gain_figure({"v3": np.ones(5)}, {"cosine": np.ones(5)})
