"""Reproducibility: one call seeds every random number generator the library uses."""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch, and return a fresh ``torch.Generator`` seeded the same way.

    Library functions that draw random numbers take an explicit ``generator``; the returned one is
    the usual thing to pass.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 - seeds code that uses the legacy global RNG
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)
