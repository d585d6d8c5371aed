"""Comparing and rendering values for the exercise checks.

:func:`_as_tensor` reads a returned value as a tensor of the expected shape (or fails saying
what is wrong), :func:`_close` and :func:`_same_list` compare with the checks' tolerances,
:func:`_fmt` renders a number or the first rows of a tensor, and :func:`_mismatch` builds the
common failure "... differs from the reference" naming a recognised mistake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from ._common import ATOL, RTOL, _Failure


def _as_tensor(name: str, value: object, shape: tuple[int, ...]) -> torch.Tensor:
    """The value as a float64 tensor of the given shape, or a _Failure saying what is wrong."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    else:
        try:
            import numpy as np

            if isinstance(value, np.ndarray):
                tensor = torch.from_numpy(value)
            else:
                raise TypeError
        except TypeError:
            raise _Failure(
                f"{name} is a {type(value).__name__}; expected a torch tensor of shape {shape}",
                hint="Return torch tensors (torch.linspace, torch.cumprod, ... all return one).",
                mistake="type",
            ) from None
    if tensor.is_complex() or not (torch.is_floating_point(tensor) or tensor.dtype.is_signed):
        raise _Failure(f"{name} has dtype {tensor.dtype}; expected floating-point numbers")
    if tuple(tensor.shape) != shape:
        raise _Failure(
            f"{name} has shape {tuple(tensor.shape)}; expected {shape}",
            expected=str(shape),
            got=str(tuple(tensor.shape)),
            mistake="shape",
        )
    return tensor.double()


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = RTOL, atol: float = ATOL) -> bool:
    a, b = a.detach().double(), b.detach().double()
    if a.shape != b.shape or not torch.isfinite(a).all():
        return False
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def _same_list(xs: Sequence[torch.Tensor], ys: Sequence[torch.Tensor]) -> bool:
    return len(xs) == len(ys) and all(_close(a, b) for a, b in zip(xs, ys, strict=True))


def _fmt(x: torch.Tensor | float, rows: int = 3) -> str:
    """A short human-readable rendering: a number, or the first rows of a tensor."""
    if not isinstance(x, torch.Tensor):
        return f"{x:.6g}"
    x = x.detach().double()
    if x.numel() == 1:
        return f"{x.item():.6g}"
    if x.ndim == 1:
        shown = ", ".join(f"{v:.5g}" for v in x[:6].tolist())
        more = f", ... ({x.numel()} values)" if x.numel() > 6 else ""
        return f"[{shown}{more}]"
    lines = [
        "[" + ", ".join(f"{v:.4f}" for v in row) + "]" for row in x.reshape(x.shape[0], -1)[:rows]
    ]
    more = f", ... (shape {tuple(x.shape)})" if x.shape[0] > rows else ""
    return "[" + ", ".join(lines) + more + "]"


def _mismatch(
    what: str, expected: torch.Tensor, got: torch.Tensor, hints: Mapping[str, str], key: str
) -> _Failure:
    """The failure ``what``, showing both values, with the hint for the mistake ``key``."""
    return _Failure(what, expected=_fmt(expected), got=_fmt(got), hint=hints[key], mistake=key)
