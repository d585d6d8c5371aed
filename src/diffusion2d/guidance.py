"""Classifier-free guidance (Ho & Salimans 2022, arXiv:2207.12598) of a class-conditional model.

Scope: what sampling needs from a class-conditional eps_theta(x_t, t, y) (``DenoisingMLP`` with
``num_classes``, trained by ``training`` on ``dataset="all"`` with label dropout, or the exact
``exact.ExactConditional``): the class labels y, given as indices or as Datasaurus shape names
(:func:`labels`); the guided prediction (:func:`guided_eps`); and :func:`guide`, the model as
the samplers see it, so that every sampler (``samplers.sample``: DDPM, DDIM, Euler, Heun, fewer
steps) samples with guidance unchanged.

One network predicts both eps_theta(x_t, t, y) and, with the null label (y = None),
eps_theta(x_t, t). Guidance extrapolates from the second to the first (Ho & Salimans eq. 6,
written with ``guidance_scale`` = 1 + w of the paper):

    eps_guided = eps_theta(x_t, t) + guidance_scale (eps_theta(x_t, t, y) - eps_theta(x_t, t))

``guidance_scale`` 0 samples the unconditional model, 1 the conditional one (the paper's w = 0:
no guidance), above 1 it pushes every step further toward class y. A model that predicts x_0 or
v mixes its x_0 alike: x_0 is affine in eps at fixed x_t and t, so the two agree (eq. 4).
"""

import math

import torch

from .data import SHAPES
from .utils import check_labels


def check_scale(guidance_scale: object) -> float:
    """``guidance_scale`` as a float; a ValueError naming it unless a finite number >= 0."""
    s = guidance_scale
    if isinstance(s, bool) or not isinstance(s, int | float) or not (0 <= s and math.isfinite(s)):
        raise ValueError(f"guidance_scale must be a finite number >= 0, got {s!r}")
    return float(s)


def labels(model, y: object, n: int) -> torch.Tensor:
    """The class labels (n,) of ``y`` for ``model``: an index, an integer tensor () or (n,), or,
    for a model with one class per Datasaurus shape, a shape name (its index in ``SHAPES``).
    Errors name the argument: y for an unconditional model, an unknown name, an index out of
    range."""
    k = getattr(model, "num_classes", None)
    if k is None:
        raise ValueError(f"y (a class label) given to an unconditional model (num_classes=None), "
                         f"got y={y!r}")
    if isinstance(y, str):
        if k != len(SHAPES):
            raise ValueError(f"y={y!r}: shape names are the classes of a model of all "
                             f"{len(SHAPES)} shapes; this model has num_classes={k}")
        if y not in SHAPES:
            raise ValueError(f"y must be a class index or a shape name, one of "
                             f"{', '.join(SHAPES)}; got {y!r}")
        y = SHAPES.index(y)
    return check_labels("y", y, k, n)


def guided_eps(model, xt: torch.Tensor, t: torch.Tensor, y: object,
               guidance_scale: float = 1.0) -> torch.Tensor:
    """Ho & Salimans eq. 6 (``guidance_scale`` = 1 + w): ``eps_uncond + guidance_scale (eps_cond
    - eps_uncond)`` (N, 2), eps_cond = model(xt, t, y) and eps_uncond = model(xt, t) (the null
    label); exactly eps_uncond at 0 and eps_cond at 1 (one network evaluation each)."""
    return _guided(model, xt, t, y, guidance_scale, lambda *args: (model(*args),))[0]


def guided_predict(model, xt: torch.Tensor, t: torch.Tensor, y: object,
                   guidance_scale: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(eps, x_0)`` (each (N, 2)) of a model that predicts x_0 or v (``model.predict``), each
    guided as in :func:`guided_eps`."""
    return _guided(model, xt, t, y, guidance_scale, model.predict)


def _guided(model, xt, t, y, guidance_scale, predict) -> tuple[torch.Tensor, ...]:
    w = check_scale(guidance_scale)
    y = labels(model, y, len(xt))  # (N,)
    if w == 1.0:
        return predict(xt, t, y)  # conditional
    uncond = predict(xt, t)  # the null label
    if w == 0.0:
        return uncond
    return tuple(u + w * (c - u) for u, c in zip(uncond, predict(xt, t, y), strict=True))


class Guided:
    """A class-conditional ``model`` guided toward the classes ``y`` with ``guidance_scale``, as
    the samplers use a model: ``guided(xt, t)`` is :func:`guided_eps`, ``guided.predict(xt, t)``
    :func:`guided_predict`; the schedule (``T, betas, alphas, alpha_bars``) is the model's."""

    def __init__(self, model, y: object, guidance_scale: float = 1.0):
        self.model, self.y, self.guidance_scale = model, y, check_scale(guidance_scale)
        self.num_classes = model.num_classes
        self.prediction = getattr(model, "prediction", "eps")
        self.T, self.betas, self.alphas = model.T, model.betas, model.alphas
        self.alpha_bars = model.alpha_bars

    def __call__(self, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return guided_eps(self.model, xt, t, self.y, self.guidance_scale)

    def predict(self, xt: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return guided_predict(self.model, xt, t, self.y, self.guidance_scale)


def guide(model, y: object, guidance_scale: float, n: int):
    """``model`` as a sampler of ``n`` points uses it: :class:`Guided` toward ``y`` (checked for
    ``n`` points), or for ``y=None`` the model itself (a class-conditional model then samples
    unconditionally, with its null label; ``guidance_scale`` must be 1)."""
    scale = check_scale(guidance_scale)
    if y is None:
        if scale != 1.0:
            raise ValueError(f"guidance_scale={guidance_scale!r} needs a class y to guide toward "
                             f"(y=None samples without labels)")
        return model
    labels(model, y, n)  # checks y before the first draw
    return Guided(model, y, scale)
