"""The workshop's four experiments, each a full :class:`TrainConfig` (so the cache can key on it).

1. ``v1``: identity position embedding, no time input (the model cannot know t);
2. ``v2``: identity position embedding, linear time t/T;
3. ``v3``: Fourier position and Fourier (sinusoidal) time embeddings;
4. ``v4``: as v3 with a gentler schedule, beta_max = 0.02 instead of 0.05.
"""

from __future__ import annotations

from .training import TrainConfig

BASE = TrainConfig()

EXPERIMENTS: dict[str, TrainConfig] = {
    "v1": BASE.replace(input_embedding="identity", time_embedding="zero"),
    "v2": BASE.replace(input_embedding="identity", time_embedding="linear"),
    "v3": BASE.replace(input_embedding="fourier", time_embedding="fourier"),
    "v4": BASE.replace(input_embedding="fourier", time_embedding="fourier", beta_max=0.02),
}

TITLES: dict[str, str] = {
    "v1": "identity position, no time",
    "v2": "identity position, linear time",
    "v3": "Fourier position, Fourier time",
    "v4": "Fourier/Fourier, gentler schedule (beta_max = 0.02)",
}


def load_experiment(name: str):
    """``(model, history)`` of one experiment from the model cache.

    The first call trains all four experiments at once (one process per core, see
    :func:`diffusion2d.cache.load_or_train_many`); later calls, in any kernel, only load.
    """
    from .cache import load_or_train_many

    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {', '.join(EXPERIMENTS)}")
    return load_or_train_many(EXPERIMENTS)[name]
