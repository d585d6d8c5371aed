"""The simplified training objective L_simple of DDPM (Ho et al. 2020, eq. 14, Algorithm 1).

``L_simple = E_{t, x_0, eps} || eps - eps_theta(x_t, t) ||^2`` with
``x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps`` (eq. 4),
averaged over the batch and the two coordinates (as the reference implementation's ``mean_flat``).
A model that predicts x_0 or v (``model.prediction``, Salimans & Ho 2022) regresses that target
instead, with its ``model.native(xt, t)`` read-out: the same unweighted mean of squares.
A class-conditional model (classifier-free guidance, Ho & Salimans 2022) regresses eps given the
class labels y as well: ``|| eps - eps_theta(x_t, t, y) ||^2``.
"""

import torch

from .forward import q_sample
from .parameterisation import target
from .utils import check_points


def get_loss(model, x0s: torch.Tensor, eps: torch.Tensor,
             alpha_bars: torch.Tensor, ts: torch.Tensor,
             y: torch.Tensor | None = None) -> torch.Tensor:
    """L_simple on one batch (a scalar): noise ``x0s`` (B, 2) to the 0-based
    steps ``ts`` (B,) with ``eps`` (B, 2) (eq. 4), regress ``eps``; ``y``
    (B,): the class labels of a class-conditional model."""
    check_points("x0s", x0s)
    check_points("eps", eps, ("x0s", x0s))
    xt = q_sample(x0s, ts, eps, alpha_bars)  # (B, 2)
    labels = () if y is None else (y,)  # model(xt, ts, y) if conditional
    prediction = getattr(model, "prediction", "eps")
    if prediction != "eps":  # an x_0- or v-model regresses its own read-out
        want = target(prediction, x0s, eps, alpha_bars[ts])  # (B, 2)
        return ((want - model.native(xt, ts, *labels)) ** 2).mean()
    eps_pred = model(xt, ts, *labels)  # (B, 2)
    return ((eps - eps_pred) ** 2).mean()
