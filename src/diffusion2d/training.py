"""Training eps_theta with L_simple (DDPM Algorithm 1, eq. 14) on a 2-D point cloud, fast on a CPU.

Algorithm 1: repeat { x_0 ~ data; t ~ Uniform; eps ~ N(0, I); gradient step on
|| eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t) ||^2 }.

What makes it fast and steady on 2 cores: whole-tensor batching (no DataLoader), large batches with
a matching learning rate, fused AdamW, and one deliberately chosen thread count (default 1: a
tiny MLP gains nothing from more threads and loses a lot when another process wants the core).
The held-out loss is honest: distinct points are held out *before* any repetition, and both losses
are evaluated on fixed noise and steps so that the curves are comparable across evaluations.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field

import torch

from .data import load_datasaurus, train_test_split
from .loss import get_loss
from .model import DenoisingMLP
from .schedules import check_schedule_args
from .utils import torch_threads


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model (the model cache keys on all of it)."""

    dataset: str = "dino"
    beta_min: float = 1e-4
    beta_max: float = 0.05
    T: int = 50
    input_embedding: str = "fourier"
    time_embedding: str = "fourier"
    hidden: int = 64
    num_blocks: int = 3
    epochs: int = 2000
    batch_size: int = 256
    lr: float = 2e-3
    lr_schedule: str = "cosine"  # "cosine" (decay to lr_final_fraction * lr) or "constant"
    lr_final_fraction: float = 0.05
    weight_decay: float = 0.0
    repeats: int = 6  # copies of the training points per epoch (the workshop's 6x)
    holdout_fraction: float = 0.15
    eval_every: int = 50  # epochs between loss evaluations
    eval_repeats: int = 64  # fixed (t, eps) draws per point for the evaluation
    seed: int = 0
    threads: int = 1

    def __post_init__(self):
        check_schedule_args(self.beta_min, self.beta_max, self.T)
        for name in ("hidden", "num_blocks", "epochs", "batch_size", "repeats", "eval_every",
                     "eval_repeats", "threads"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive int, got {value!r}")
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be positive, got {self.lr}")
        if self.lr_schedule not in ("cosine", "constant"):
            raise ValueError(
                f"TrainConfig.lr_schedule must be 'cosine' or 'constant', got {self.lr_schedule!r}"
            )

    def replace(self, **changes) -> TrainConfig:
        return dataclasses.replace(self, **changes)


@dataclass
class TrainHistory:
    """Losses per evaluation: ``epochs[i]`` with ``train_loss[i]`` and ``test_loss[i]``."""

    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def build_model(config: TrainConfig) -> DenoisingMLP:
    return DenoisingMLP(
        config.beta_min, config.beta_max, config.T, config.input_embedding,
        config.time_embedding, hidden=config.hidden, num_blocks=config.num_blocks,
    )  # fmt: skip


def split_for(config: TrainConfig, data: torch.Tensor | None = None):
    """``(train, heldout)``: the split of distinct points a model trained with ``config`` saw
    (``data`` defaults to the config's Datasaurus shape)."""
    if data is None:
        data = load_datasaurus(config.dataset)
    return train_test_split(data, config.holdout_fraction, seed=config.seed)


def _fixed_eval_batch(x: torch.Tensor, T: int, repeats: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x0 = x.repeat(repeats, 1)  # (R*N, 2)
    return x0, torch.randn(x0.shape, generator=g), torch.randint(0, T, (len(x0),), generator=g)


def loss_batches(config: TrainConfig, data: torch.Tensor | None = None) -> dict[str, tuple]:
    """The fixed ``(x0, eps, t)`` batches on which the losses of the history are measured.

    ``{"train": ..., "held-out": ...}``: every point of the split ``config.eval_repeats`` times,
    each with its own noise and step, drawn from fixed seeds. Every loss the book reports is
    measured on these batches (:func:`batch_loss`), so a model, the exact denoiser and the last
    point of a training curve are compared on the same draws.
    """
    train_x, test_x = split_for(config, data)
    return {
        "train": _fixed_eval_batch(train_x, config.T, config.eval_repeats, config.seed + 2),
        "held-out": _fixed_eval_batch(test_x, config.T, config.eval_repeats, config.seed + 3),
    }


@torch.no_grad()
def batch_loss(model, batch: tuple, alpha_bars: torch.Tensor) -> float:
    """L_simple (eq. 14) of ``model`` on one fixed batch from :func:`loss_batches`."""
    if len(batch[0]) == 0:
        return float("nan")
    x0, eps, ts = batch
    return float(get_loss(model, x0, eps, alpha_bars, ts))


def _cosine_lr(config: TrainConfig, epoch: int) -> float:
    """Cosine decay from lr (epoch 1) to lr_final_fraction * lr (last epoch)."""
    progress = (epoch - 1) / max(config.epochs - 1, 1)
    floor = config.lr * config.lr_final_fraction
    return floor + 0.5 * (config.lr - floor) * (1.0 + math.cos(math.pi * progress))


def _make_optimizer(model, config: TrainConfig):
    kwargs = dict(lr=config.lr, weight_decay=config.weight_decay)
    try:
        return torch.optim.AdamW(model.parameters(), fused=True, **kwargs)
    except (RuntimeError, TypeError):  # a torch build without the fused CPU kernel
        return torch.optim.AdamW(model.parameters(), **kwargs)


def train(
    config: TrainConfig | None = None,
    data: torch.Tensor | None = None,
    progress: bool | None = None,
    **overrides,
) -> tuple[DenoisingMLP, TrainHistory]:
    """Train a DenoisingMLP; returns ``(model, history)``, model in eval mode.

    ``config`` defaults to :class:`TrainConfig()` (good samples); keyword
    ``overrides`` replace fields. ``data`` (N, 2) replaces the named
    Datasaurus shape. ``progress``: show a tqdm bar (None: only when a person
    watches a terminal, silent in book builds and CI logs).
    """
    import time

    config = (config or TrainConfig()).replace(**overrides)
    if data is None:
        data = load_datasaurus(config.dataset)
    train_x, _ = split_for(config, data)
    if progress is None:
        progress = sys.stderr.isatty()
    start = time.perf_counter()
    with torch_threads(config.threads):
        torch.manual_seed(config.seed)
        model = build_model(config)
        g = torch.Generator().manual_seed(config.seed + 1)
        opt = _make_optimizer(model, config)
        alpha_bars = model.alpha_bars
        epoch_x = train_x.repeat(config.repeats, 1)  # (R*N_train, 2)
        n = len(epoch_x)
        batches = loss_batches(config, data)
        history = TrainHistory()
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=config.epochs, desc="training", unit="epoch")
        for epoch in range(1, config.epochs + 1):
            model.train()
            if config.lr_schedule == "cosine":
                for group in opt.param_groups:
                    group["lr"] = _cosine_lr(config, epoch)
            perm = torch.randperm(n, generator=g)
            eps_all = torch.randn(n, 2, generator=g)  # (n, 2)
            ts_all = torch.randint(0, config.T, (n,), generator=g)  # (n,)
            for i in range(0, n, config.batch_size):
                idx = perm[i : i + config.batch_size]
                loss = get_loss(
                    model, epoch_x[idx], eps_all[idx], alpha_bars, ts_all[idx]
                )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            last = epoch == config.epochs
            if epoch % config.eval_every == 0 or last or epoch == 1:
                model.eval()
                history.epochs.append(epoch)
                for split, losses in (("train", history.train_loss),
                                      ("held-out", history.test_loss)):
                    losses.append(batch_loss(model, batches[split], alpha_bars))
                if bar is not None:
                    bar.set_postfix(train=history.train_loss[-1],
                                    test=history.test_loss[-1])
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
    model.eval()
    history.seconds = time.perf_counter() - start
    return model, history
