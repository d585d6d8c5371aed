"""The checks' stand-in model: :class:`FakeModel` has a schedule and an exact, cheap ``eps_theta``;
misuse raises :class:`ModelInputError` in plain words, which the checks show as the hint."""

import torch
from torch import nn

from ..schedules import register_schedule


class ModelInputError(ValueError):
    """The stand-in model was called with inputs the real model would reject or misread."""


class FakeModel(nn.Module):
    """``eps_theta = scale * ((0.4 + 0.6 s) tanh(x_t) + 0.3 s (1, -0.5))``, ``s = (t + 1) / T``;
    ``scale`` (1.0) gives a loss a gradient; ``calls`` records the steps of each call."""

    def __init__(self, beta_min: float, beta_max: float, T: int):
        super().__init__()
        self.scale, self.calls = nn.Parameter(torch.ones(())), []
        register_schedule(self, beta_min, beta_max, T)

    def forward(self, xt: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        if problem := _misuse(xt, t, self.T):
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
                "points. Give it shape (N, 1), e.g. alpha_bars[t].unsqueeze(1) or alpha_bars[t][:, "
                "None], so that it multiplies both coordinates of each point")
    if xt.ndim != 2 or xt.shape[1] != 2:
        return (f"the model received x_t of shape {tuple(xt.shape)}; expected (N, 2): one row "
                "per point, two coordinates")
    if isinstance(t, bool) or not isinstance(t, (int, torch.Tensor)) or torch.is_floating_point(
            torch.as_tensor(t)):  # fmt: skip
        got = f"with dtype {t.dtype}" if isinstance(t, torch.Tensor) else f"t = {t!r}"
        return (f"the model received steps {got}; steps are integers: an int, or a torch.long "
                "tensor of shape (N,), e.g. torch.full((N,), t, dtype=torch.long)")
    t, n = torch.as_tensor(t), xt.shape[0]
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != n):
        return (f"the model received steps of shape {tuple(t.shape)} for {n} points; pass one "
                f"int, or a tensor of shape ({n},)")
    step = next((int(s) for s in t.flatten() if not 0 <= s < T), None)
    if step is not None:
        return (f"the model received the {'negative ' * (step < 0)}step t = {step}, out of range "
                f"for T = {T}: steps are 0-based, from T-1 = {T - 1} down to 0 (array index t is "
                "the paper's step t+1)")
    return None
