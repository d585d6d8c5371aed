"""Catalogue of the exercise of chapter "flow_matching": ``flow_loss(model, x1, z, t)``, the
conditional flow-matching loss on the straight path (Lipman et al. 2023, eq. 23 with sigma_min =
0; Liu et al. 2023, eq. 1) against :func:`diffusion2d.flow.flow_loss`: ``x_t = (1 - t) z + t x1``
(t = 0 noise, t = 1 data), the target ``x1 - z``, the **mean** over the batch and both
coordinates, with the gradient kept. The stand-in velocity model, :class:`FakeVelocity`, takes
float times in [0, 1] of shape (N,), as ``flow.VelocityMLP`` does. It draws nothing."""

import torch
from torch import nn

from ..flow import flow_loss as reference
from . import _runner
from ._model import ModelInputError
from ._runner import cases, generator
from .loss import loss_view, seed_explain

NAME = "flow_loss"
SUMMARY = "three batches (6 points, 3 points at t = 0, 0.5 and 1, and 16 points)"


class FakeVelocity(nn.Module):
    """``v = scale * ((0.5 + t) tanh(x) + t (1, -0.5) - 0.3 x)``: cheap, exact, time-dependent;
    ``scale`` (1.0) gives a loss a gradient; ``calls`` records the times of each call."""

    def __init__(self):
        super().__init__()
        self.scale, self.calls = nn.Parameter(torch.ones(())), []

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        if problem := _misuse(x, t):
            raise ModelInputError(problem)
        t = torch.as_tensor(t, dtype=x.dtype).expand(x.shape[0])[:, None]  # (N, 1)
        self.calls.append(t.clone())
        shift = torch.tensor([1.0, -0.5], dtype=x.dtype)
        return self.scale.to(x.dtype) * ((0.5 + t) * torch.tanh(x) + t * shift - 0.3 * x)


def _misuse(x: object, t: object) -> str | None:
    """What is wrong with the call ``model(x_t, t)``, in plain words; None if nothing."""
    if not isinstance(x, torch.Tensor) or not torch.is_floating_point(x):
        return "the model takes the points x_t first, a float tensor of shape (N, 2): model(x_t, t)"
    if x.ndim != 2 or x.shape[1] != 2:
        return (f"the model received x_t of shape {tuple(x.shape)}; expected (N, 2): a time of "
                "shape (N,) was probably broadcast against the (N, 2) points; use t[:, None]")
    if isinstance(t, float):
        return None
    if not isinstance(t, torch.Tensor) or not torch.is_floating_point(t):
        return ("the model received integer times; flow matching's time is a float in [0, 1] "
                "(t = 0 noise, t = 1 data): pass the t you were given")
    if t.ndim > 1 or (t.ndim == 1 and t.shape[0] != x.shape[0]):
        return (f"the model received times of shape {tuple(t.shape)} for {x.shape[0]} points; "
                f"pass t itself, shape ({x.shape[0]},), not t[:, None]")
    if t.numel() and not (0.0 <= float(t.min()) and float(t.max()) <= 1.0):
        return "the model received times outside [0, 1]; pass t as given (not t * T)"
    return None


def _make(k: int, times: list[float]) -> tuple[tuple, dict]:
    g = generator(k)
    x1 = torch.randn(len(times), 2, generator=g) * torch.tensor([1.0, 0.7]) + 0.3  # (B, 2)
    z = torch.randn(len(times), 2, generator=g)  # (B, 2)
    return (FakeVelocity(), x1, z, torch.tensor(times)), {}


CASES = cases(_make, ("a batch of 6 points", [0.1, 0.9, 0.35, 0.6, 0.05, 0.75]),
              ("a batch of 3 points at t = 0, 0.5 and 1", [0.0, 0.5, 1.0]),
              ("a batch of 16 points", [(3 * i % 16) / 15 for i in range(16)]))

HINTS = _runner.ALL_HINTS["flowloss"]


def _wrong(path=lambda x1, z, t: (1 - t) * z + t * x1, target=lambda x1, z: x1 - z,
           feed=None, reduce=torch.mean, shape=(-1, 1), time=lambda t: t):
    """A flow_loss: x_t = path(x1, z, t of ``shape``), the model at ``feed`` (default x_t) and
    ``time(t)``, then ``reduce`` of the squared errors against ``target``."""
    def fn(model, x1, z, t):
        xt = path(x1, z, t.reshape(shape))
        v = model(xt if feed is None else feed(x1, z), time(t))
        return reduce((target(x1, z) - v) ** 2)
    return fn


MISTAKES = [
    ("reversed", _wrong(path=lambda x1, z, t: t * z + (1 - t) * x1)),
    ("reversed", _wrong(path=lambda x1, z, t: t * z + (1 - t) * x1, target=lambda x1, z: z - x1)),
    ("target_sign", _wrong(target=lambda x1, z: z - x1)),
    ("x1_target", _wrong(target=lambda x1, z: x1)),
    ("z_target", _wrong(target=lambda x1, z: z)),
    ("clean_input", _wrong(feed=lambda x1, z: x1)),
    ("noise_input", _wrong(feed=lambda x1, z: z)),
    ("sum", _wrong(reduce=torch.sum)),
    ("sum_coordinates", _wrong(reduce=lambda errors: errors.sum(1).mean())),
    ("rmse", _wrong(reduce=lambda errors: errors.mean().sqrt())),
    ("not_scalar", _wrong(reduce=lambda errors: errors.mean(1))),
    ("detached", lambda *args: reference(*args).item()),
    ("detached", lambda *args: reference(*args).detach()),
    ("random", lambda model, x1, z, t: reference(model, x1, torch.randn_like(z), t)),
    ("broadcast", _wrong(shape=(-1,))),  # (B,) against (B, 2)
    ("broadcast", _wrong(shape=(1, -1))),  # (1, B): silent only when B = 2
    ("model_input", _wrong(time=lambda t: t[:, None])),  # times of shape (B, 1)
    ("model_input", _wrong(time=lambda t: t * 50)),  # DDPM's step scale
]  # fmt: skip


view = loss_view("flow_loss")  # one number that carries a gradient, as get_loss's
explain = seed_explain(view)
