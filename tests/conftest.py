"""Shared fixtures for the library's unit tests (the site tests live in tests/site/)."""

from __future__ import annotations

import sys

import pytest
import torch

from diffusion2d.data import load_datasaurus, read_datasaurus_bytes


@pytest.fixture(scope="session")
def dino() -> torch.Tensor:
    return load_datasaurus("dino")  # (142, 2), z-normalised


@pytest.fixture(scope="session")
def tsv_bytes() -> bytes:
    return read_datasaurus_bytes()


@pytest.fixture(autouse=True)
def _one_thread():
    """Unit tests are tiny: one thread keeps them fast and steady on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _close_figures():
    """Close every matplotlib figure a test opened (only where a test imported pyplot)."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
