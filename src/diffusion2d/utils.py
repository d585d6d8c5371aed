"""Small utilities every module shares: argument checks, the thread setting, seeding, grids.

Nothing here is mathematics. The checks make a wrong argument fail loudly with a message naming
the argument, instead of broadcasting silently into a wrong figure. The networks are small
(64-wide MLPs on 2-D points), so intra-op threads add more synchronisation than they save (and an
OpenMP team waiting for a descheduled thread on a busy machine can slow a step many times over):
training and sampling run under :func:`torch_threads` (default 1). :func:`set_seed` seeds every
generator the library uses; :func:`grid` is the one evaluation grid of fields and arrows.
"""

from __future__ import annotations

import random
from contextlib import contextmanager

import numpy as np
import torch

DEFAULT_THREADS = 1


def check_points(name: str, x: object, *, dim: int = 2) -> torch.Tensor:
    """Require a floating tensor of shape (N, dim) and return it."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (N, {dim}), got {type(x).__name__}"
        )
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (N, {dim}), got {tuple(x.shape)}")
    if not torch.is_floating_point(x):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    return x


def check_same_shape(name: str, x: torch.Tensor, like_name: str, like: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.shape != like.shape:
        raise ValueError(
            f"{name} must have the same shape as {like_name} {tuple(like.shape)}, "
            f"got {tuple(x.shape)}"
        )


def check_schedule(name: str, values: object) -> torch.Tensor:
    """Require a 1-D floating tensor with all entries in (0, 1]."""
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"{name} must be a 1-D torch.Tensor, got {type(values).__name__}")
    if values.ndim != 1 or values.numel() < 1:
        raise ValueError(f"{name} must be a non-empty 1-D tensor, got shape {tuple(values.shape)}")
    if not torch.is_floating_point(values):
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {values.dtype}")
    return values


def check_steps(name: str, t: object, T: int, n: int | None = None) -> torch.Tensor:
    """Require 0-based integer steps in [0, T), as a long tensor of shape (n,) (or a scalar).

    Returns a long tensor: shape (n,) when ``n`` is given (a scalar is broadcast), else as given.
    """
    if isinstance(t, bool):
        raise TypeError(f"{name} must be an integer step or a long tensor, got bool")
    if isinstance(t, int):
        t = torch.tensor(t, dtype=torch.long)
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be an int or a torch.long tensor, got {type(t).__name__}")
    if t.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"{name} must hold integer steps (torch.long), got dtype {t.dtype}")
    if t.ndim > 1:
        raise ValueError(
            f"{name} must be a scalar or 1-D tensor of steps, got shape {tuple(t.shape)}"
        )
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= T):
        raise ValueError(
            f"{name} must be 0-based steps in [0, {T - 1}] (T={T}), got values in "
            f"[{int(t.min())}, {int(t.max())}]"
        )
    t = t.long()
    if n is not None:
        if t.ndim == 0:
            t = t.expand(n)
        elif t.shape[0] != n:
            raise ValueError(f"{name} has {t.shape[0]} steps but the batch has {n} points")
    return t


@contextmanager
def torch_threads(n: int = DEFAULT_THREADS):
    """Run a block with ``n`` intra-op threads, restoring the previous setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a fresh ``torch.Generator`` seeded the same way (the
    usual ``generator`` to pass to library functions that draw random numbers)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds code that uses the legacy global RNG
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def grid(xrange: tuple, yrange: tuple | None = None) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """The grid ``np.meshgrid(np.arange(*xrange), np.arange(*yrange))`` (``yrange`` defaults to
    ``xrange``; a range is ``(start, stop, step)``): returns ``gx, gy`` of shape (ny, nx) and the
    points as a float64 tensor of shape (ny*nx, 2), row by row."""
    for name, r in (("xrange", xrange), ("yrange", yrange)):
        if r is not None and (len(r) != 3 or not r[2] > 0 or not r[1] > r[0]):
            raise ValueError(f"{name} must be (start, stop, step) with start < stop, step > 0, "
                             f"got {r}")
    gx, gy = np.meshgrid(np.arange(*xrange), np.arange(*(xrange if yrange is None else yrange)))
    return gx, gy, torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1))
