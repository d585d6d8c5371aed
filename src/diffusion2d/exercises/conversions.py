"""Catalogue of the exercise of chapter "prediction": ``convert(prediction, output, xt, alpha_bar)
-> (eps, x0)``, what a network's ``output`` says about eps and x_0 when it predicts
``prediction`` ("eps", "x0" or "v"), by DDPM eq. 4 and Salimans & Ho's v (Sec. 4, App. D),
against :func:`diffusion2d.parameterisation.eps_and_x0`. Rules: ``alpha_bar`` is a (N, 1) tensor,
one value per point, 0 included for v (zero terminal SNR, where both must stay finite); nothing
is drawn."""

import torch

from ..parameterisation import eps_and_x0, target
from . import _runner
from ._runner import Part, cases, generator, two_parts

NAME = "convert"
SUMMARY = "an eps-, an x_0- and a v-model's outputs (the v-model's down to alpha_bar = 0)"


def reference(prediction: str, output: torch.Tensor, xt: torch.Tensor, alpha_bar: torch.Tensor):
    return eps_and_x0(prediction, output, xt, alpha_bar)


def _make(k: int, prediction: str, alpha_bars: list[float]) -> tuple[tuple, dict]:
    g = generator(10 + k)
    ab = torch.tensor(alpha_bars, dtype=torch.float64).reshape(-1, 1)  # (N, 1)
    x0 = torch.randn(len(ab), 2, generator=g, dtype=torch.float64)
    eps = torch.randn(len(ab), 2, generator=g, dtype=torch.float64)
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps  # (N, 2), DDPM eq. 4
    output = 0.9 * target(prediction, x0, eps, ab)  # a network's output, not the exact target
    return (prediction, output, xt, ab), {}


CASES = cases(_make,
              ("an eps-model's output at five noise levels", "eps", [0.999, 0.9, 0.5, 0.1, 0.01]),
              ("an x_0-model's output at five noise levels", "x0", [0.999, 0.9, 0.5, 0.1, 0.01]),
              ("a v-model's output, the last point at alpha_bar = 0 (zero terminal SNR)", "v",
               [0.99, 0.6, 0.2, 0.0]))  # fmt: skip

HINTS = _runner.ALL_HINTS["conversions"]


def _convert(prediction, output, xt, alpha_bar, slip=None):
    """eps and x_0 from ``output``; with ``slip``, a typical mistake (see MISTAKES)."""
    a, s = alpha_bar.sqrt(), (1 - alpha_bar).sqrt()  # (N, 1) each
    if slip == "no_sqrt":
        a, s = alpha_bar, 1 - alpha_bar
    elif slip == "scales_swapped":
        a, s = s, a
    if prediction == "eps":
        eps = output
        x0 = (xt + s * eps) / a if slip == "eps_x0_sign" else (xt - s * eps) / a
    elif prediction == "x0":
        x0 = output
        eps = (xt + a * x0) / s if slip == "x0_eps_sign" else (xt - a * x0) / s
    else:  # v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x_0
        sign = -1 if slip == "v_sign" else 1
        eps = s * xt + sign * a * output
        x0 = (xt - s * eps) / a if slip == "v_via_eps" else a * xt - sign * s * output
    return eps, x0


def _slip(key):
    return lambda prediction, output, xt, alpha_bar: _convert(prediction, output, xt, alpha_bar,
                                                              key)  # fmt: skip


MISTAKES = [
    ("not_tuple", lambda *args: reference(*args)[0]),
    ("swapped", lambda *args: reference(*args)[::-1]),
    *((key, _slip(key)) for key in ("no_sqrt", "scales_swapped", "eps_x0_sign", "x0_eps_sign",
                                    "v_sign", "v_via_eps")),
]


def view(out: object, args: tuple) -> list[Part]:
    """The implied eps and x_0, each of the points' shape (N, 2)."""
    return two_parts(out, ("eps", "x0"), tuple(args[2].shape), what="implied ")


def explain(i: int, args: tuple, got: list[Part], **_) -> str:
    """No listed mistake: a non-finite value of a v-model (0 / 0 at alpha_bar = 0), else the
    identity of the part that differs."""
    if args[0] == "v" and not bool(torch.isfinite(got[i].value).all()):
        return "v_via_eps"
    return ("eps", "x0")[i]
