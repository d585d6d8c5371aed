"""A model cache shared by chapters that run in separate kernels: each model trains once per build.

The key is a SHA-256 over what determines a trained model: every field of the
:class:`TrainConfig`, the data, the source of ``TRAINING_MODULES`` and the torch version; an edit
of plotting, sampling or evaluation code keeps every model. Files are written atomically and
carry their key; an unusable file is retrained, never silently reused; processes that find the
same models missing train them once (:func:`training_lock`). The cache lives in
``$DIFFUSION2D_CACHE``, else ``_build/model_cache`` in the checkout, else ``~/.cache/diffusion2d``.
"""

import concurrent.futures
import contextlib
import dataclasses
import functools
import hashlib
import io
import itertools
import json
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

from .data import POINTS_PER_SHAPE, load_datasaurus, project_root
from .stack import signature, stackable, train_many
from .training import TrainConfig, TrainHistory, build_model, train
from .utils import atomic_write

try:
    import fcntl
except ImportError:  # not POSIX
    fcntl = None

ENV_VAR = "DIFFUSION2D_CACHE"
# The package's modules that determine a trained model (training imports nothing else of ours).
TRAINING_MODULES = (
    "data.py", "flow.py", "forward.py", "loss.py", "model.py", "parameterisation.py",
    "schedules.py", "stack.py", "training.py", "utils.py",
)


def cache_dir() -> Path:
    root = project_root()
    default = root / "_build" / "model_cache" if root else Path.home() / ".cache" / "diffusion2d"
    return Path(os.environ.get(ENV_VAR) or default)


def digest(*parts: str | bytes | torch.Tensor) -> str:
    """SHA-256 over strings, bytes and the bytes of tensors, in order."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, torch.Tensor):
            p = p.detach().cpu().contiguous().numpy().tobytes()
        h.update(p.encode() if isinstance(p, str) else p)
    return h.hexdigest()


def model_digest(model) -> str:
    """A digest of what makes ``model`` the model it is, for keys of results computed from it:
    its class, T and every tensor of its state (parameters and schedule)."""
    state = sorted(model.state_dict().items())
    return digest(type(model).__name__, str(model.T), *(x for item in state for x in item))


def source_hash(modules: tuple[str, ...] = TRAINING_MODULES) -> str:
    """SHA-256 over the named ``.py`` files of the package (names and contents)."""
    package = Path(__file__).resolve().parent
    return digest(*(part for name in sorted(modules)
                    for part in (name, (package / name).read_bytes())))


def result_key(modules: tuple[str, ...], **payload) -> str:
    """The hash naming a cached result: ``payload``, the source of ``modules``, torch's version."""
    payload.update(source=source_hash(modules), torch=torch.__version__.split("+")[0])
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def cached(key: str, compute: Callable[[], dict]) -> dict:
    """``compute()`` (a dict of tensors, numbers, strings and lists), stored under ``key`` in
    ``results/`` of the cache: later calls with the same key load it, equal to a fresh result."""
    path = cache_dir() / "results" / f"{key}.pt"
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - missing or unreadable: compute it (again)
        result, buffer = compute(), io.BytesIO()
        torch.save(result, buffer)
        atomic_write(path, buffer.getvalue())
        return result


def cache_key(config: TrainConfig, data: torch.Tensor) -> str:
    """The hash naming a trained model: config fields, data, training source, torch version."""
    return result_key(TRAINING_MODULES, config=dataclasses.asdict(config),
                      data=digest(data.float()))


def load_or_train(config: TrainConfig, data: torch.Tensor | None = None,
                  directory: str | os.PathLike | None = None, progress: bool | None = None):
    """``(model, history)`` for ``config``: from the cache when valid (as soon as another process
    training it has stored it, :func:`stored`), else trained and stored (under the
    :func:`training_lock`: a model another process is training is loaded, not trained again)."""
    data = load_datasaurus(config.dataset) if data is None else data
    directory = Path(directory or cache_dir())
    found = stored(config, data, directory)
    if found is not None:
        return found
    with training_lock(directory):
        return _load_or_train(config, data, directory, progress)


def stored(config: TrainConfig, data: torch.Tensor | None = None,
           directory: str | os.PathLike | None = None):
    """``(model, history)`` for ``config`` from the cache, without training: while another process
    holds the :func:`training_lock` (the build's pool), it waits for this model's file, checked
    every 0.2 s, not for the whole pool. ``None`` if the file is missing (or unusable) and no
    process is training."""
    data = load_datasaurus(config.dataset) if data is None else data
    directory = Path(directory or cache_dir())
    key = cache_key(config, data)
    path = directory / f"{key}.pt"
    while not path.is_file() and _training_elsewhere(directory):
        time.sleep(0.2)
    return _load(config, key, path) if path.is_file() else None


def _training_elsewhere(directory: Path) -> bool:
    """Whether another open handle holds the training lock (without ``flock``: never)."""
    if fcntl is None or not (directory / ".training.lock").is_file():
        return False
    with open(directory / ".training.lock", "a") as handle:  # closing releases a lock taken here
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def _load(config: TrainConfig, key: str, path: Path, warn: bool = False):
    """``(model, history)`` from the cache file ``path``, or ``None`` if it is unusable."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("key") != key or blob.get("config") != dataclasses.asdict(config):
            raise ValueError("key or config in the file does not match its name")
        model = build_model(config)
        model.load_state_dict(blob["state_dict"])
        return model.eval(), TrainHistory(**blob["history"])
    except Exception as err:  # noqa: BLE001 - any unreadable file is retrained
        if warn:
            warnings.warn(f"model cache file {path} is unusable ({err}); retraining", stacklevel=3)
        return None


def _load_or_train(config: TrainConfig, data: torch.Tensor, directory: Path, progress):
    """:func:`load_or_train` for a caller that holds the lock (or a worker of one that does)."""
    key = cache_key(config, data)
    path = directory / f"{key}.pt"
    found = _load(config, key, path, warn=True) if path.is_file() else None
    if found is not None:
        return found
    return _store(config, data, *train(config, data=data, progress=progress), directory)


def _store(config: TrainConfig, data: torch.Tensor, model, history, directory: Path):
    """Write a trained model to its file in the cache; returns ``(model, history)``."""
    key, buffer = cache_key(config, data), io.BytesIO()
    torch.save({"key": key, "config": dataclasses.asdict(config), "state_dict": model.state_dict(),
                "history": dataclasses.asdict(history)}, buffer)
    atomic_write(directory / f"{key}.pt", buffer.getvalue())
    return model, history


@contextlib.contextmanager
def training_lock(directory: Path):
    """Hold the cache's training lock (``flock``; where there is none, e.g. on Windows, no lock):
    processes that find the same models missing (the build's training pool and a chapter, two
    notebooks, two test workers) train them once, one after the other, not each at once."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".training.lock", "w") as handle:  # the lock ends when it closes
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def training_work(config: TrainConfig) -> float:
    """A model's training cost in relative units: passes over a shape's training points (epochs
    times repeats, or what ``steps`` batches hold) times the width squared and depth of its
    blocks (the matrix products that dominate a step)."""
    passes = config.epochs * config.repeats
    if config.steps is not None:
        n_train = POINTS_PER_SHAPE - round(POINTS_PER_SHAPE * config.holdout_fraction)
        passes = config.steps * config.batch_size / n_train
    return passes * config.hidden**2 * config.num_blocks


def load_or_train_many(configs: dict[str, TrainConfig], directory: str | os.PathLike | None = None,
                       processes: int | None = None) -> dict[str, tuple]:
    """``{name: (model, history)}`` for several configs, training the missing ones in parallel:
    the models that can train together (one :func:`stack.signature`) as one stack (a config
    :func:`stack.stackable` refuses: alone, by :func:`training.train`), each stack in
    a process of its own (up to ``processes``, default the number of CPUs) on ``config.threads``
    threads. The largest start first, so the processes finish together. Each model is stored
    under its own key, with the weights it would have trained to alone."""
    directory = Path(directory or cache_dir())
    datas = {name: load_datasaurus(cfg.dataset) for name, cfg in configs.items()}
    with training_lock(directory):  # another process training these: wait, then load its files
        missing = {name: cfg for name, cfg in configs.items()
                   if not (directory / f"{cache_key(cfg, datas[name])}.pt").is_file()}
        processes = processes or os.cpu_count() or 1
        tasks = [([configs[n] for n in names], [datas[n] for n in names])
                 for names in plan(missing, processes, datas)]
        train_stack = functools.partial(_train_and_store, directory=directory)
        workers = min(len(tasks), processes)
        if workers > 1:
            ctx = multiprocessing.get_context("spawn")
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx) as pool:
                list(pool.map(train_stack, *zip(*tasks, strict=True)))
        elif tasks:
            train_stack(*tasks[0])  # one stack: here
        # load what was written (an unusable file is trained here)
        return {name: _load_or_train(cfg, datas[name], directory, False)
                for name, cfg in configs.items()}


def plan(configs: dict[str, TrainConfig], processes: int | None = None,
         datas: dict[str, torch.Tensor] | None = None) -> list[list[str]]:
    """The stacks :func:`load_or_train_many` trains ``configs`` in, when all are missing, in the
    order it hands them to ``processes`` (default the number of CPUs): names of one
    :func:`stack.signature`, split where that makes the pool finish sooner, the costliest first."""
    if datas is None:  # each data set read once
        sets = {d: load_datasaurus(d) for d in {cfg.dataset for cfg in configs.values()}}
        datas = {name: sets[cfg.dataset] for name, cfg in configs.items()}
    stacks: dict[tuple, list[str]] = {}
    for name, cfg in configs.items():
        key = signature(cfg, datas[name]) if stackable(cfg) else ("alone", name)
        stacks.setdefault(key, []).append(name)
    parts = _balanced(stacks.values(), configs, processes or os.cpu_count() or 1)
    return sorted(parts, key=lambda names: -stack_cost([configs[n] for n in names]))


def stack_cost(configs: list[TrainConfig]) -> float:
    """The estimated cost of training ``configs`` as one stack, in :func:`training_work` units:
    a stack of k models costs about 0.6 + 0.4 / k of training them one by one (a step's fixed
    cost is shared, its arithmetic is not; ``benchmarks/train_stack.py`` measures it)."""
    return sum(map(training_work, configs)) * (0.6 + 0.4 / len(configs))


def _makespan(costs: list[float], processes: int) -> float:
    """When the last of ``processes`` finishes, the largest task first to the least loaded."""
    loads = [0.0] * processes
    for cost in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += cost
    return max(loads)


def _balanced(stacks, configs: dict[str, TrainConfig], processes: int) -> list[list[str]]:
    """``stacks`` (lists of names that can train together), each split into near-equal parts so
    that the pool of ``processes`` finishes soonest (:func:`stack_cost`; of equal times, the
    fewest parts): nine models in one process while another trains one would leave a core idle
    for most of the pool."""
    stacks = [list(names) for names in stacks]

    def parts(names: list[str], k: int) -> list[list[str]]:
        return [names[i::k] for i in range(k)]

    best = None
    for ks in itertools.product(*(range(1, len(n) + 1) for n in stacks)):
        split = [part for names, k in zip(stacks, ks, strict=True) for part in parts(names, k)]
        costs = [stack_cost([configs[n] for n in part]) for part in split]
        score = (round(_makespan(costs, processes), 6), sum(costs))
        if best is None or score < best[0]:
            best = score, split
    return best[1] if best else []


def _train_and_store(configs: list[TrainConfig], datas: list[torch.Tensor], directory: Path):
    """Train one stack (:func:`stack.train_many`; a config it refuses alone, by
    :func:`training.train`) and store each model under its own key."""
    runs = (train_many(configs, datas, progress=False) if stackable(configs[0])
            else [train(c, data=d, progress=False) for c, d in zip(configs, datas, strict=True)])
    for cfg, data, run in zip(configs, datas, runs, strict=True):
        _store(cfg, data, *run, directory)
