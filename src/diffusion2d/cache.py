"""A model cache shared by chapters that run in separate kernels: each model trains once per build.

The key is a SHA-256 over everything that determines the result: every field of the
:class:`TrainConfig` (hyperparameters, seed, schedule), the training data's bytes, the source of
the modules that training runs (``TRAINING_MODULES``: data, schedules, forward process, model,
loss, training and their helpers) and the torch version. Nothing else: an edit of the plotting,
sampling or evaluation code keeps every trained model. Files are written atomically (temp file +
rename) and carry their key; a file that fails to load, or whose key or contents do not match, is
retrained and overwritten, never silently reused. Where it lives: ``$DIFFUSION2D_CACHE``, else
``_build/model_cache`` in the checkout (editable install), else ``~/.cache/diffusion2d``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

import torch

from .data import load_datasaurus, project_root
from .training import TrainConfig, TrainHistory, build_model, train

ENV_VAR = "DIFFUSION2D_CACHE"
FORMAT = 1
# The package's modules that determine a trained model (training imports nothing else of ours).
TRAINING_MODULES = (
    "data.py", "forward.py", "loss.py", "model.py", "schedules.py", "training.py", "utils.py",
)  # fmt: skip


def cache_dir() -> Path:
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    root = project_root()
    if root is not None:
        return root / "_build" / "model_cache"
    return Path.home() / ".cache" / "diffusion2d"


def source_hash(modules: tuple[str, ...]) -> str:
    """SHA-256 over the named ``.py`` files of the package (names and contents)."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in sorted(modules):
        digest.update(name.encode())
        digest.update((package / name).read_bytes())
    return digest.hexdigest()


def library_source_hash() -> str:
    """SHA-256 over the source of the modules that determine a trained model."""
    return source_hash(TRAINING_MODULES)


def cache_key(config: TrainConfig, data: torch.Tensor) -> str:
    """The hash naming a trained model: config fields, data, training source, torch version."""
    payload = {
        "format": FORMAT,
        "config": dataclasses.asdict(config),
        "data": hashlib.sha256(
            data.detach().cpu().float().contiguous().numpy().tobytes()
        ).hexdigest(),
        "source": library_source_hash(),
        "torch": torch.__version__.split("+")[0],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _atomic_save(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _try_load(path: Path, key: str, config: TrainConfig):
    """The cached (model, history), or None with a warning when the file is unusable."""
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("key") != key or blob.get("config") != dataclasses.asdict(config):
            raise ValueError("key or config in the file does not match its name")
        model = build_model(config)
        model.load_state_dict(blob["state_dict"])
        history = TrainHistory(**blob["history"])
    except Exception as err:  # noqa: BLE001 - any unreadable file is retrained
        warnings.warn(f"model cache file {path} is unusable ({err}); retraining", stacklevel=3)
        return None
    model.eval()
    return model, history


def _train_into_cache(config: TrainConfig, data: torch.Tensor, directory: str) -> None:
    """Worker for :func:`load_or_train_many` (top level so that it pickles for 'spawn')."""
    torch.set_num_threads(config.threads)
    load_or_train(config, data=data, directory=directory, progress=False)


def load_or_train_many(
    configs: dict[str, TrainConfig],
    directory: str | os.PathLike | None = None,
    processes: int | None = None,
) -> dict[str, tuple]:
    """``{name: (model, history)}`` for several configs, training the missing ones in parallel.

    Each worker process trains one model on ``config.threads`` threads (1 by default), so two
    models train at once on two cores instead of one model fighting over both: small matrices
    gain little from intra-op threads. ``processes`` defaults to the number of CPUs.
    """
    import concurrent.futures
    import multiprocessing

    directory = Path(directory) if directory is not None else cache_dir()
    shapes = {name: load_datasaurus(name) for name in {cfg.dataset for cfg in configs.values()}}
    datas = {name: shapes[cfg.dataset] for name, cfg in configs.items()}
    results = {}
    for name, cfg in configs.items():
        key = cache_key(cfg, datas[name])
        results[name] = _try_load(directory / f"{key}.pt", key, cfg)
    missing = [name for name, result in results.items() if result is None]
    workers = min(len(missing), processes or os.cpu_count() or 1)
    if workers > 1:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            jobs = [
                pool.submit(_train_into_cache, configs[n], datas[n], str(directory))
                for n in missing
            ]
            for job in jobs:
                job.result()  # re-raise a worker's error here
    for name in missing:  # load what the workers wrote (or train here, with one worker)
        results[name] = load_or_train(
            configs[name], data=datas[name], directory=directory, progress=False
        )
    return results


def load_or_train(
    config: TrainConfig,
    data: torch.Tensor | None = None,
    directory: str | os.PathLike | None = None,
    progress: bool | None = None,
):
    """``(model, history)`` for ``config``: from the cache when valid, else trained and stored."""
    if data is None:
        data = load_datasaurus(config.dataset)
    key = cache_key(config, data)
    path = Path(directory) if directory is not None else cache_dir()
    path = path / f"{key}.pt"
    cached = _try_load(path, key, config)
    if cached is not None:
        return cached
    model, history = train(config, data=data, progress=progress)
    blob = {
        "key": key,
        "config": dataclasses.asdict(config),
        "state_dict": model.state_dict(),
        "history": history.as_dict(),
    }
    _atomic_save(blob, path)
    return model, history
