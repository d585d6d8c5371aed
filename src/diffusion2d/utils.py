"""Small utilities every module shares: argument checks, threads, atomic files, seeding, grids.

Nothing here is mathematics. A wrong argument fails loudly, naming it, instead of broadcasting
into a wrong figure. The networks are small, so intra-op threads cost more in synchronisation
than they save: training and sampling run under :func:`torch_threads` (default 1).
"""

import os
import random
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

INT_DTYPES = (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8)


def check_points(name: str, x: object, like: tuple[str, torch.Tensor] | None = None):
    """Require a floating tensor of shape (N, 2), or of the shape of ``like = (name, tensor)``."""
    shape = "(N, 2)" if like is None else f"{tuple(like[1].shape)} (that of {like[0]})"
    if not isinstance(x, torch.Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, torch.Tensor) else type(x).__name__
        raise TypeError(f"{name} must be a floating-point torch.Tensor of shape {shape}, got {got}")
    if (x.shape != like[1].shape) if like else (x.ndim != 2 or x.shape[1] != 2):
        raise ValueError(f"{name} must have shape {shape}, got {tuple(x.shape)}")
    return x


def check_schedule(**schedules: object) -> None:
    """Require each keyword argument to be a non-empty 1-D floating tensor."""
    for name, v in schedules.items():
        if not (isinstance(v, torch.Tensor) and v.ndim == 1 and len(v) and v.is_floating_point()):
            got = tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__
            raise ValueError(f"{name} must be a non-empty 1-D floating tensor, got {got}")


def check_positive_int(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def check_steps(name: str, t: object, T: int, n: int | None = None) -> torch.Tensor:
    """Require 0-based integer steps in [0, T); a long tensor, (n,) if ``n`` is given."""
    if isinstance(t, int) and not isinstance(t, bool):
        t = torch.tensor(t, dtype=torch.long)
    if not isinstance(t, torch.Tensor) or t.dtype not in INT_DTYPES:
        got = t.dtype if isinstance(t, torch.Tensor) else type(t).__name__
        raise TypeError(f"{name} must hold integer steps (int or torch.long), got {got}")
    if t.ndim > 1:
        raise ValueError(f"{name} must be a scalar or 1-D tensor of steps, got {tuple(t.shape)}")
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= T):
        raise ValueError(f"{name} must be 0-based steps in [0, {T - 1}] (T={T}), got values in "
                         f"[{int(t.min())}, {int(t.max())}]")
    if n is not None and t.ndim == 1 and len(t) != n:
        raise ValueError(f"{name} has {len(t)} steps but the batch has {n} points")
    return t.long() if n is None or t.ndim else t.long().expand(n)


def check_labels(name: str, y: object, num_classes: int, n: int, null: bool = False):
    """Require class labels: an int or an integer tensor () or (n,) in [0, num_classes), or up to
    num_classes itself (the null label) if ``null``; returns a long tensor (n,)."""
    if isinstance(y, int) and not isinstance(y, bool):
        y = torch.tensor(y)
    if not isinstance(y, torch.Tensor) or y.dtype not in INT_DTYPES:
        got = y.dtype if isinstance(y, torch.Tensor) else type(y).__name__
        raise TypeError(f"{name} must hold class indices (int or torch.long), got {got}")
    if y.ndim > 1 or (y.ndim == 1 and len(y) != n):
        raise ValueError(f"{name} must be a scalar or of shape ({n},), got {tuple(y.shape)}")
    top = num_classes if null else num_classes - 1
    if y.numel() and (int(y.min()) < 0 or int(y.max()) > top):
        raise ValueError(f"{name} must be class indices in [0, {top}] (num_classes="
                         f"{num_classes}{', null label ' + str(top) if null else ''}), got "
                         f"values in [{int(y.min())}, {int(y.max())}]")
    return y.long().expand(n)


@contextmanager
def torch_threads(n: int = 1):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def evaluating(model):
    """Run a block with ``model`` in eval mode (if it has one) on one thread, then restore it."""
    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()
    try:
        with torch_threads():
            yield
    finally:
        if was_training:
            model.train()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a ``torch.Generator`` seeded the same way."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds code that uses the legacy global RNG
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def grid(xrange: tuple, yrange: tuple | None = None) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """``gx, gy`` (ny, nx) of the grid of ``(start, stop, step)`` ranges (``yrange``: ``xrange``
    if None) and its points as a float64 tensor (ny*nx, 2), row by row."""
    for name, r in (("xrange", xrange), ("yrange", yrange)):
        if r is not None and (len(r) != 3 or not r[2] > 0 or not r[1] > r[0]):
            raise ValueError(f"{name} must be (start, stop, step) with start < stop, step > 0, "
                             f"got {r}")
    gx, gy = np.meshgrid(np.arange(*xrange), np.arange(*(xrange if yrange is None else yrange)))
    return gx, gy, torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], axis=1))
