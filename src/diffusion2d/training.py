"""Training eps_theta with L_simple (DDPM Algorithm 1, eq. 14) on a 2-D point cloud, fast on a CPU.

Algorithm 1: repeat { x_0 ~ data; t ~ Uniform; eps ~ N(0, I); gradient step on
|| eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, t) ||^2 }.

With ``objective="flow_matching"`` the same loop trains a ``flow.VelocityMLP`` on the
flow-matching loss instead (Lipman et al. 2023): x_1 ~ data, t ~ U[0, 1), z ~ N(0, I).

On ``dataset="all"`` it trains a class-conditional eps_theta(x_t, t, y), y a shape's index in
``data.SHAPES``, each label dropped to the null label with probability ``label_dropout`` (Ho &
Salimans 2022, Algorithm 1). ``steps``: a budget of gradient steps instead of epochs.

Fast and steady on 2 cores: whole-tensor batches (no DataLoader), large batches with a matching
learning rate, fused AdamW, one thread per model. The held-out loss is honest: distinct points
are held out *before* any repetition, and both losses are measured on fixed noise and steps.
"""

import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

from .data import ALL, SHAPES, class_labels, load_datasaurus, train_test_split
from .flow import VelocityMLP, flow_loss
from .loss import get_loss
from .model import DenoisingMLP
from .parameterisation import PREDICTIONS
from .schedules import make_schedule
from .utils import check_positive_int, torch_threads

OBJECTIVES = ("ddpm", "flow_matching")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model (the model cache keys on all of it)."""

    dataset: str = "dino"  # a shape of data.SHAPES, or "all": a class-conditional model
    label_dropout: float = 0.0  # "all": the probability of the null label (Ho & Salimans)
    beta_min: float = 1e-4
    beta_max: float = 0.05
    T: int = 50
    schedule: str = "linear"  # schedules.SCHEDULES: "linear", "cosine" or "linear_zero_snr"
    prediction: str = "eps"  # what the network predicts: "eps", "x0" or "v"
    objective: str = "ddpm"  # OBJECTIVES; "flow_matching" uses T only to scale time, not betas
    input_embedding: str = "fourier"
    time_embedding: str = "fourier"
    hidden: int = 64
    num_blocks: int = 3
    epochs: int = 2000
    steps: int | None = None  # a budget of gradient steps; set, it replaces epochs
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
        if self.dataset not in (*SHAPES, ALL):
            raise ValueError(f"TrainConfig.dataset must be one of {', '.join(SHAPES)} or "
                             f"{ALL!r}, got {self.dataset!r}")
        p = self.label_dropout
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise ValueError(f"TrainConfig.label_dropout must be in [0, 1], got {p!r}")
        if p and self.dataset != ALL:
            raise ValueError(f"TrainConfig.label_dropout needs dataset={ALL!r} (class labels), "
                             f"got {p} with dataset={self.dataset!r}")
        if self.dataset == ALL and self.objective != "ddpm":
            raise ValueError(f"TrainConfig.objective must be 'ddpm' for dataset={ALL!r}, got "
                             f"{self.objective!r}")
        if self.steps is not None:
            check_positive_int("TrainConfig.steps", self.steps)
        make_schedule(self.schedule, self.beta_min, self.beta_max, self.T)  # checks the schedule
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"TrainConfig.prediction must be one of {PREDICTIONS}, got "
                             f"{self.prediction!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"TrainConfig.objective must be one of {OBJECTIVES}, got "
                             f"{self.objective!r}")
        for name in ("hidden", "num_blocks", "epochs", "batch_size", "repeats", "eval_every",
                     "eval_repeats", "threads"):
            check_positive_int(f"TrainConfig.{name}", getattr(self, name))
        if not self.lr > 0:
            raise ValueError(f"TrainConfig.lr must be positive, got {self.lr}")
        if self.lr_schedule not in ("cosine", "constant"):
            raise ValueError(f"TrainConfig.lr_schedule must be cosine or constant, got "
                             f"{self.lr_schedule!r}")

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    @property
    def num_classes(self) -> int | None:
        """The classes of the model: one per shape for ``"all"``, else None (unconditional)."""
        return len(SHAPES) if self.dataset == ALL else None


@dataclass
class TrainHistory:
    """Losses per evaluation: ``epochs[i]``, ``train_loss[i]``, ``test_loss[i]``; the training's
    ``seconds`` (wall clock) and ``cpu_seconds`` (CPU time, which other jobs barely change)."""

    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def record(self, epoch: int, losses: dict[str, float]) -> None:
        """Append one evaluation (:func:`batch_losses`) after ``epoch``."""
        self.epochs.append(epoch)
        self.train_loss.append(losses["train"])
        self.test_loss.append(losses["held-out"])


def with_budget(config: TrainConfig, n_train: int) -> TrainConfig:
    """``config`` with the ``epochs`` its ``steps`` take on ``n_train`` points (the last one cut
    short by :func:`batch_starts`); unchanged without ``steps``."""
    if config.steps is None:
        return config
    per_epoch = -(-n_train * config.repeats // config.batch_size)  # ceil
    return config.replace(epochs=-(-config.steps // per_epoch))


def batch_starts(config: TrainConfig, n: int, epoch: int) -> range:
    """Where each batch of 1-based ``epoch`` starts in its permutation of ``n`` points: every
    ``batch_size``-th, no more than the ``steps`` left (if set)."""
    starts = range(0, n, config.batch_size)
    left = len(starts) if config.steps is None else config.steps - (epoch - 1) * len(starts)
    return starts[: max(left, 0)]


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """The learning rate of 1-based ``epoch``: constant, or cosine from ``lr`` (epoch 1) down to
    ``lr * lr_final_fraction`` (the last epoch)."""
    if config.lr_schedule != "cosine":
        return config.lr
    floor = config.lr * config.lr_final_fraction
    done = (epoch - 1) / max(config.epochs - 1, 1)
    cos = 1.0 + math.cos(math.pi * done)
    return floor + 0.5 * (config.lr - floor) * cos


def evaluation_due(config: TrainConfig, epoch: int) -> bool:
    """Whether the losses are measured after ``epoch``: every ``eval_every`` epochs, after the
    first and after the last."""
    return epoch % config.eval_every == 0 or epoch in (1, config.epochs)


def build_model(config: TrainConfig) -> DenoisingMLP | VelocityMLP:
    if config.objective == "flow_matching":
        return VelocityMLP(config.input_embedding, config.time_embedding, config.hidden,
                           config.num_blocks, config.T)
    return DenoisingMLP(config.beta_min, config.beta_max, config.T, config.input_embedding,
                        config.time_embedding, config.hidden, config.num_blocks,
                        config.prediction, config.schedule, config.num_classes)


def split_for(config: TrainConfig, data: torch.Tensor | None = None):
    """``(train, heldout)``: the split of distinct points a model trained with ``config`` saw
    (``data`` defaults to the config's Datasaurus shape; for ``"all"`` each shape split alike)."""
    data = load_datasaurus(config.dataset) if data is None else data
    return train_test_split(data, config.holdout_fraction, seed=config.seed,
                            num_classes=config.num_classes or 1)


def draw_times(config: TrainConfig, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` training times (n,): 0-based steps uniform on 0 .. T-1 (Algorithm 1, line 3), or
    for flow matching floats uniform on [0, 1)."""
    if config.objective == "flow_matching":
        return torch.rand(n, generator=generator)
    return torch.randint(0, config.T, (n,), generator=generator)


def draw_labels(config: TrainConfig, train_x: torch.Tensor,
                generator: torch.Generator) -> torch.Tensor | None:
    """The class labels (n,) of an epoch's points, ``train_x`` ``repeats`` times: each the null
    label ``num_classes`` with probability ``label_dropout``; None (no draw): unconditional."""
    if config.num_classes is None:
        return None
    y = class_labels(train_x).repeat(config.repeats)  # (n,)
    dropped = torch.rand(len(y), generator=generator) < config.label_dropout  # (n,)
    return y.masked_fill(dropped, config.num_classes)


def objective_loss(model, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor,
                   alpha_bars: torch.Tensor | None = None,
                   y: torch.Tensor | None = None) -> torch.Tensor:
    """The training loss on one batch: for float times t the flow-matching loss (x0 is x_1, eps
    is z), for integer steps L_simple (eq. 14) with ``alpha_bars`` (default the model's) and
    the class labels ``y`` (B,) of a class-conditional model."""
    if t.is_floating_point():
        return flow_loss(model, x0, eps, t)
    return get_loss(model, x0, eps, model.alpha_bars if alpha_bars is None else alpha_bars, t, y)


def loss_batches(config: TrainConfig, data: torch.Tensor | None = None) -> dict[str, tuple]:
    """The fixed ``(x0, eps, t)`` batches ``{"train": ..., "held-out": ...}`` of every loss the
    book reports (:func:`batch_losses`): every point of the split ``config.eval_repeats`` times,
    each with its own noise and time (:func:`draw_times`) from a fixed seed, so that a model, the
    exact denoiser and the points of a training curve are compared on the same draws. A
    class-conditional config's batches add the true labels (R*N,), none dropped."""
    batches = {}
    for seed, split, x in zip((2, 3), ("train", "held-out"), split_for(config, data), strict=True):
        g = torch.Generator().manual_seed(config.seed + seed)
        x0 = x.repeat(config.eval_repeats, 1)  # (R*N, 2)
        eps = torch.randn(x0.shape, generator=g)
        batches[split] = x0, eps, draw_times(config, len(x0), g)
        if config.num_classes:
            batches[split] += (class_labels(x).repeat(config.eval_repeats),)
    return batches


@torch.no_grad()
def batch_losses(model, batches: dict[str, tuple],
                 alpha_bars: torch.Tensor | None = None) -> dict[str, float]:
    """:func:`objective_loss` of ``model`` on each batch of :func:`loss_batches` (NaN: empty)."""
    return {split: float(objective_loss(model, x0, eps, ts, alpha_bars, *y)) if len(x0)
            else float("nan") for split, (x0, eps, ts, *y) in batches.items()}


def _make_optimizer(model, config: TrainConfig):
    """AdamW over a module's parameters (or a list of tensors), fused where torch has it."""
    params = list(model.parameters() if isinstance(model, torch.nn.Module) else model)
    kwargs = dict(lr=config.lr, weight_decay=config.weight_decay)
    try:
        return torch.optim.AdamW(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):  # a torch build without the fused CPU kernel
        return torch.optim.AdamW(params, **kwargs)


def train(
    config: TrainConfig | None = None,
    data: torch.Tensor | None = None,
    progress: bool | None = None,
    **overrides,
) -> tuple[DenoisingMLP | VelocityMLP, TrainHistory]:
    """Train a DenoisingMLP (a VelocityMLP for flow matching); returns
    ``(model, history)``, model in eval mode.

    Keyword ``overrides`` replace fields of ``config``; ``data`` (N, 2)
    replaces the named Datasaurus shape. ``progress``: a tqdm bar (None:
    only when a person watches a terminal). The book's pool trains several
    models at once with ``stack.train_many``, which gives each the weights
    this loop gives it, bit for bit (tested). On ``dataset="all"``: a
    class-conditional model, labels dropped with ``label_dropout``."""
    config = (config or TrainConfig()).replace(**overrides)
    data = load_datasaurus(config.dataset) if data is None else data
    train_x, _ = split_for(config, data)
    config = with_budget(config, len(train_x))  # the epochs of its steps
    if progress is None:
        progress = sys.stderr.isatty()
    start, start_cpu = time.perf_counter(), time.process_time()
    with torch_threads(config.threads):
        torch.manual_seed(config.seed)
        model = build_model(config)
        g = torch.Generator().manual_seed(config.seed + 1)
        opt = _make_optimizer(model, config)
        epoch_x = train_x.repeat(config.repeats, 1)  # (R*N_train, 2)
        n = len(epoch_x)
        batches = loss_batches(config, data)
        history = TrainHistory()
        bar = tqdm(range(1, config.epochs + 1), desc="training",
                   unit="epoch", disable=not progress)
        for epoch in bar:
            model.train()
            for group in opt.param_groups:
                group["lr"] = learning_rate(config, epoch)
            perm = torch.randperm(n, generator=g)
            eps_all = torch.randn(n, 2, generator=g)  # (n, 2)
            ts_all = draw_times(config, n, g)  # (n,): randint(0, T)
            ys_all = draw_labels(config, train_x, g)  # (n,) or None
            for i in batch_starts(config, n, epoch):
                idx = perm[i : i + config.batch_size]
                y = None if ys_all is None else ys_all[idx]  # class labels
                # get_loss (L_simple), or flow_loss for flow matching
                loss = objective_loss(model, epoch_x[idx], eps_all[idx],
                                      ts_all[idx], y=y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if evaluation_due(config, epoch):
                model.eval()
                losses = batch_losses(model, batches)
                history.record(epoch, losses)
                bar.set_postfix(train=losses["train"], test=losses["held-out"])
    model.eval()
    history.seconds = time.perf_counter() - start
    history.cpu_seconds = time.process_time() - start_cpu
    return model, history
