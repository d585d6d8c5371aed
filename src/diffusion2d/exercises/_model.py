"""The stand-in model of the exercise checks: :class:`FakeModel` and :class:`ModelInputError`.

``FakeModel`` has the attributes of :class:`~diffusion2d.model.DenoisingMLP` (``T, betas, alphas,
alpha_bars``) and predicts ``eps_theta(x_t, t)`` with a fixed formula, so the checks' expected
values are exact and cheap; it rejects misuse (wrong shapes, dtypes, steps out of range, swapped
arguments) with a plain-words :class:`ModelInputError` that the checks turn into a hint.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import schedules as _schedules

__all__ = ["FakeModel", "ModelInputError"]


class ModelInputError(ValueError):
    """The stand-in model was called with inputs the real model would reject or misread."""


class FakeModel(nn.Module):
    """A stand-in for ``DenoisingMLP``: ``eps_theta(x_t, t)`` is a fixed, cheap formula.

    ``eps_theta = scale * ((0.4 + 0.6 s) tanh(x_t) + 0.3 s (1, -0.5))`` with ``s = (t + 1) / T``;
    ``scale`` is a parameter (1.0), so a loss computed from it has a gradient. Every call's steps
    are recorded in ``calls`` (the check uses them to spot steps taken in the wrong order).
    """

    def __init__(self, beta_min: float, beta_max: float, T: int):
        super().__init__()
        betas, alphas, alpha_bars = _schedules.get_diffusion_parameters(beta_min, beta_max, T)
        self.T = T
        self.register_buffer("betas", betas)
        self.register_buffer("alphas", alphas)
        self.register_buffer("alpha_bars", alpha_bars)
        self.scale = nn.Parameter(torch.ones(()))
        self.calls: list[torch.Tensor] = []

    def forward(self, xt: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        xt = self._check_x(xt, t)
        steps = self._check_t(t, xt.shape[0])
        self.calls.append(steps.detach().clone())
        s = ((steps.to(xt.dtype) + 1.0) / self.T)[:, None]  # (N, 1)
        shift = torch.tensor([1.0, -0.5], dtype=xt.dtype)
        return self.scale.to(xt.dtype) * ((0.4 + 0.6 * s) * torch.tanh(xt) + 0.3 * s * shift)

    def _check_x(self, xt: object, t: object) -> torch.Tensor:
        if not isinstance(xt, torch.Tensor):
            raise ModelInputError(
                f"the model was called with x_t of type {type(xt).__name__}; it takes a torch "
                "tensor of shape (N, 2), then the steps: model(x_t, t)"
            )
        if not torch.is_floating_point(xt):
            if isinstance(t, torch.Tensor) and torch.is_floating_point(t):
                raise ModelInputError(
                    "the model takes the points first and the steps second: model(x_t, t)"
                )
            raise ModelInputError(
                f"the model received x_t with dtype {xt.dtype}; points must be floating point"
            )
        if xt.ndim == 3 and xt.shape[-1] == 2:
            raise ModelInputError(
                f"the model received x_t of shape {tuple(xt.shape)} instead of (N, 2): a "
                "coefficient such as alpha_bars[t] was broadcast wrongly against the (N, 2) "
                "points. Give it shape (N, 1), e.g. alpha_bars[t].unsqueeze(1) or "
                "alpha_bars[t][:, None], so that it multiplies both coordinates of each point"
            )
        if xt.ndim != 2 or xt.shape[1] != 2:
            raise ModelInputError(
                f"the model received x_t of shape {tuple(xt.shape)}; expected (N, 2): one row "
                "per point, two coordinates"
            )
        return xt

    def _check_t(self, t: object, n: int) -> torch.Tensor:
        T = self.T
        if isinstance(t, bool) or isinstance(t, float):
            raise ModelInputError(
                f"the model received the step t = {t!r}; steps are integers (an int, or a "
                f"torch.long tensor of shape (N,), e.g. torch.full((N,), t, dtype=torch.long))"
            )
        if isinstance(t, int):
            t = torch.tensor(t)
        if not isinstance(t, torch.Tensor):
            raise ModelInputError(
                f"the model received steps of type {type(t).__name__}; pass an int or a "
                "torch.long tensor of shape (N,)"
            )
        if torch.is_floating_point(t):
            raise ModelInputError(
                f"the model received steps with dtype {t.dtype}; steps are integers: use "
                "dtype=torch.long (e.g. torch.full((N,), t, dtype=torch.long))"
            )
        if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != n):
            raise ModelInputError(
                f"the model received steps of shape {tuple(t.shape)} for {n} points; pass one "
                f"int, or a tensor of shape ({n},)"
            )
        if t.numel() and int(t.max()) >= T:
            raise ModelInputError(
                f"the model received the step t = {int(t.max())}, out of range for T = {T}: "
                f"steps are 0-based, from T-1 = {T - 1} down to 0 (array index t is the paper's "
                "step t+1)"
            )
        if t.numel() and int(t.min()) < 0:
            raise ModelInputError(
                f"the model received the negative step t = {int(t.min())}; steps run from "
                f"T-1 = {T - 1} down to 0"
            )
        t = t.long()
        return t.expand(n) if t.ndim == 0 else t
