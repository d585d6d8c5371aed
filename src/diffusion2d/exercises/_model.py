"""The stand-in model of the exercise checks, :class:`FakeModel`: the attributes of
:class:`~diffusion2d.model.DenoisingMLP` (``T, betas, alphas, alpha_bars``) and a fixed, cheap
``eps_theta(x_t, t)``, so expected values are exact; misuse (wrong shapes, dtypes, steps out of
range, swapped arguments) raises a plain-words :class:`ModelInputError`, which the checks show as
the hint."""

from __future__ import annotations

import torch
from torch import nn

from ..schedules import register_schedule


class ModelInputError(ValueError):
    """The stand-in model was called with inputs the real model would reject or misread."""


class FakeModel(nn.Module):
    """``eps_theta = scale * ((0.4 + 0.6 s) tanh(x_t) + 0.3 s (1, -0.5))`` with ``s = (t + 1) / T``;
    ``scale`` is a parameter (1.0), so a loss computed from it has a gradient. The steps of every
    call are recorded in ``calls`` (a check uses them to spot steps taken in the wrong order)."""

    def __init__(self, beta_min: float, beta_max: float, T: int):
        super().__init__()
        self.scale, self.calls = nn.Parameter(torch.ones(())), []
        register_schedule(self, beta_min, beta_max, T)

    def forward(self, xt: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        problem = _misuse(xt, t, self.T)
        if problem:
            raise ModelInputError(problem)
        steps = torch.as_tensor(t).long().expand(xt.shape[0])  # (N,)
        self.calls.append(steps.clone())
        s = ((steps.to(xt.dtype) + 1.0) / self.T)[:, None]  # (N, 1)
        shift = torch.tensor([1.0, -0.5], dtype=xt.dtype)
        return self.scale.to(xt.dtype) * ((0.4 + 0.6 * s) * torch.tanh(xt) + 0.3 * s * shift)


def _misuse(xt: object, t: object, T: int) -> str | None:
    """What is wrong with the call ``model(xt, t)``, in plain words; None if nothing."""
    if not isinstance(xt, torch.Tensor):
        return (f"the model was called with x_t of type {type(xt).__name__}; it takes a torch "
                "tensor of shape (N, 2), then the steps: model(x_t, t)")
    if not torch.is_floating_point(xt):
        if isinstance(t, torch.Tensor) and torch.is_floating_point(t):
            return "the model takes the points first and the steps second: model(x_t, t)"
        return f"the model received x_t with dtype {xt.dtype}; points must be floating point"
    if xt.ndim == 3 and xt.shape[-1] == 2:
        return (f"the model received x_t of shape {tuple(xt.shape)} instead of (N, 2): a "
                "coefficient such as alpha_bars[t] was broadcast wrongly against the (N, 2) "
                "points. Give it shape (N, 1), e.g. alpha_bars[t].unsqueeze(1) or "
                "alpha_bars[t][:, None], so that it multiplies both coordinates of each point")
    if xt.ndim != 2 or xt.shape[1] != 2:
        return (f"the model received x_t of shape {tuple(xt.shape)}; expected (N, 2): one row "
                "per point, two coordinates")
    n = xt.shape[0]
    if isinstance(t, (bool, float)):
        return (f"the model received the step t = {t!r}; steps are integers (an int, or a "
                "torch.long tensor of shape (N,), e.g. torch.full((N,), t, dtype=torch.long))")
    if not isinstance(t, (int, torch.Tensor)):
        return (f"the model received steps of type {type(t).__name__}; pass an int or a "
                "torch.long tensor of shape (N,)")
    t = torch.as_tensor(t)
    if torch.is_floating_point(t):
        return (f"the model received steps with dtype {t.dtype}; steps are integers: use "
                "dtype=torch.long (e.g. torch.full((N,), t, dtype=torch.long))")
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != n):
        return (f"the model received steps of shape {tuple(t.shape)} for {n} points; pass one "
                f"int, or a tensor of shape ({n},)")
    if t.numel() and int(t.max()) >= T:
        return (f"the model received the step t = {int(t.max())}, out of range for T = {T}: "
                f"steps are 0-based, from T-1 = {T - 1} down to 0 (array index t is the paper's "
                "step t+1)")
    if t.numel() and int(t.min()) < 0:
        return (f"the model received the negative step t = {int(t.min())}; steps run from "
                f"T-1 = {T - 1} down to 0")
    return None
