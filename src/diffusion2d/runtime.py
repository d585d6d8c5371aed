"""Thread settings for CPU work on tiny tensors (no paper equations here).

The networks here are small (64-wide MLPs on 2-D points), so intra-op threads add more
synchronisation than they save, and on a machine whose other core is busy an OpenMP team waiting
for a descheduled thread can slow a step down many times over. Training and sampling therefore run
on a deliberately chosen thread count (default 1) and restore the caller's setting afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

DEFAULT_THREADS = 1


@contextmanager
def torch_threads(n: int = DEFAULT_THREADS):
    """Run a block with ``n`` intra-op threads, restoring the previous setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
