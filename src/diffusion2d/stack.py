"""Training several models at once, each exactly as it would train alone (DDPM Algorithm 1).

Most of a training step of our small networks is fixed cost: a hundred small kernels, each a few
microseconds whatever its size. :func:`train_many` therefore trains M models in one loop. The
residual blocks and the read-out of all M run as one stacked network: their parameters are
leaves of shape (M, ...), the linear layers one batched product (``baddbmm``, per slice the
kernel ``nn.Linear`` uses), GELU one call; the input layers, LayerNorms and losses run per model.
Every model keeps its own seed, data draws, noise, steps, target and evaluations; one fused AdamW
steps all parameters, which is M AdamWs because it acts element by element. So each model ends
with the weights :func:`training.train` gives it alone, bit for bit (tested), and the cache can
store it under its own key.

Models train together when they share :func:`signature`: the width and depth of the trunk, the
optimisation (epochs, batch size, learning rate and its schedule, weight decay), the number of
training points per epoch and the threads. Schedule, prediction, objective, embeddings and seed
are free. A class-conditional config (``dataset="all"``) or a budget of ``steps`` is refused
(:func:`stackable`): :func:`training.train` trains it alone (``cache.load_or_train_many`` does).
"""

import sys
import time

import torch
import torch.nn.functional as F
from torch.optim.adamw import adamw
from tqdm import tqdm

from .data import load_datasaurus
from .flow import check_times, flow_path
from .forward import q_sample
from .parameterisation import target
from .training import (
    TrainConfig,
    TrainHistory,
    _make_optimizer,
    batch_losses,
    build_model,
    draw_times,
    evaluation_due,
    learning_rate,
    loss_batches,
    split_for,
)
from .utils import torch_threads


def stackable(config: TrainConfig) -> bool:
    """Whether :func:`train_many` takes ``config``: an unconditional model, trained for epochs."""
    return config.num_classes is None and config.steps is None


def signature(config: TrainConfig, data: torch.Tensor | None = None) -> tuple:
    """What the configs of one :func:`train_many` call must share."""
    n = len(split_for(config, data)[0]) * config.repeats
    return (config.hidden, config.num_blocks, config.epochs, config.batch_size, config.lr,
            config.lr_schedule, config.lr_final_fraction, config.weight_decay, config.threads, n)


class _Run:
    """One model of a stack: built, seeded and drawn exactly as :func:`training.train` does."""

    def __init__(self, config: TrainConfig, data: torch.Tensor):
        self.config = config
        torch.manual_seed(config.seed)
        self.model = build_model(config)
        self.g = torch.Generator().manual_seed(config.seed + 1)
        self.epoch_x = split_for(config, data)[0].repeat(config.repeats, 1)  # (R*N_train, 2)
        self.batches = loss_batches(config, data)
        self.history = TrainHistory()

    def draws(self):
        """This epoch's ``(perm, eps, t)``, in the order and from the generator of ``train``."""
        n = len(self.epoch_x)
        perm = torch.randperm(n, generator=self.g)
        return perm, torch.randn(n, 2, generator=self.g), draw_times(self.config, n, self.g)

    def pair(self, x0: torch.Tensor, eps: torch.Tensor, t: torch.Tensor):
        """``(network input, target)`` of one batch: flow matching's or DDPM's (eq. 4)."""
        if t.is_floating_point():  # as flow.flow_loss
            return flow_path(x0, eps, check_times("t", t, len(x0))), x0 - eps
        m = self.model  # as loss.get_loss (eq. 4; a model's native target)
        xt = q_sample(x0, t, eps, m.alpha_bars)  # (B, 2)
        return xt, eps if m.prediction == "eps" else target(m.prediction, x0, eps, m.alpha_bars[t])


def _trunk_names(model) -> list[str]:
    return [n for n, _ in model.named_parameters() if n.startswith(("blocks.", "out."))]


def _linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.baddbmm(b[:, None], h, w.transpose(1, 2))  # (M, B, in) -> (M, B, out)


def _norm(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor, eps: float) -> torch.Tensor:
    # per model: LayerNorm's fused backward has no batched twin that agrees bit for bit
    return torch.stack([F.layer_norm(x, x.shape[-1:], wi, bi, eps)
                        for x, wi, bi in zip(h, w, b, strict=True)])


def _trunk(h: torch.Tensor, p: dict[str, torch.Tensor], num_blocks: int, eps: float):
    """The residual blocks and read-out of DenoisingMLP/VelocityMLP on (M, B, hidden)."""
    for k in range(num_blocks):
        z = _norm(h, p[f"blocks.{k}.norm.weight"], p[f"blocks.{k}.norm.bias"], eps)
        a = F.gelu(_linear(z, p[f"blocks.{k}.fc1.weight"], p[f"blocks.{k}.fc1.bias"]))
        h = h + _linear(a, p[f"blocks.{k}.fc2.weight"], p[f"blocks.{k}.fc2.bias"])
    z = F.gelu(_norm(h, p["out.0.weight"], p["out.0.bias"], eps))
    return _linear(z, p["out.2.weight"], p["out.2.bias"])  # (M, B, 2)


def train_many(configs: list[TrainConfig], datas: list[torch.Tensor] | None = None,
               progress: bool | None = None) -> list[tuple]:
    """``[(model, history)]`` of ``configs`` (sharing one :func:`signature`), trained together;
    ``datas`` replace their Datasaurus shapes. ``history.seconds`` and ``cpu_seconds`` are each
    model's share of the time. Models are returned in eval mode."""
    configs = list(configs)
    datas = [load_datasaurus(c.dataset) for c in configs] if datas is None else list(datas)
    if not configs or len(datas) != len(configs):
        raise ValueError(f"configs must be a non-empty list with one data tensor each, got "
                         f"{len(configs)} configs and {len(datas)} data tensors")
    for c in configs:
        if not stackable(c):
            raise ValueError(f"train_many takes unconditional models trained for epochs, got "
                             f"dataset={c.dataset!r}, steps={c.steps!r}: train that config "
                             f"alone with training.train")
    if len({signature(c, d) for c, d in zip(configs, datas, strict=True)}) != 1:
        raise ValueError("configs trained together must share hidden, num_blocks, epochs, "
                         "batch_size, the learning rate and its schedule, weight_decay, threads "
                         "and the number of training points")
    cfg = configs[0]
    progress = sys.stderr.isatty() if progress is None else progress
    start, start_cpu = time.perf_counter(), time.process_time()
    with torch_threads(cfg.threads):
        runs = [_Run(c, d) for c, d in zip(configs, datas, strict=True)]
        models = [r.model for r in runs]
        names = _trunk_names(models[0])
        trunk = {n: torch.stack([m.get_parameter(n).detach() for m in models]).requires_grad_()
                 for n in names}  # (M, ...) leaves
        opt = _Adam(trunk, models, cfg)
        ln_eps = models[0].out[0].eps
        for epoch in tqdm(range(1, cfg.epochs + 1), desc="training", unit="epoch",
                          disable=not progress):
            opt.lr = learning_rate(cfg, epoch)  # shared: the signature fixes the schedule
            draws = [r.draws() for r in runs]
            for i in range(0, len(draws[0][0]), cfg.batch_size):
                hs, wants = [], []
                for r, (perm, eps, t) in zip(runs, draws, strict=True):
                    idx = perm[i : i + cfg.batch_size]
                    xt, want = r.pair(r.epoch_x[idx], eps[idx], t[idx])
                    hs.append(r.model.embed(xt, t[idx]))
                    wants.append(want)
                out = _trunk(torch.stack(hs), trunk, cfg.num_blocks, ln_eps)  # (M, B, 2)
                loss = sum(((w - o) ** 2).mean() for w, o in zip(wants, out, strict=True))
                opt.zero_grad()
                loss.backward()
                opt.step()
            due = [r for r in runs if evaluation_due(r.config, epoch)]
            if due:
                _copy_back(trunk, models)
            for r in due:
                r.model.eval()
                r.history.record(epoch, batch_losses(r.model, r.batches))
    _copy_back(trunk, models)
    for r in runs:
        r.history.seconds = (time.perf_counter() - start) / len(runs)
        r.history.cpu_seconds = (time.process_time() - start_cpu) / len(runs)
    return [(r.model.eval(), r.history) for r in runs]


class _Adam:
    """``training._make_optimizer``'s AdamW for each model of a stack, in one call of torch's
    functional AdamW. It gets every model's tensors as separate views (the stacked leaves sliced):
    the fused kernel vectorises by tensor size, so one (M, 2) bias would not step like M biases
    of size 2, bit for bit."""

    def __init__(self, trunk: dict[str, torch.Tensor], models: list, config: TrainConfig):
        self.trunk, self.models, self.lr = trunk, models, config.lr
        defaults = _make_optimizer(torch.nn.Linear(1, 1), config).defaults
        self.fused, self.wd = bool(defaults.get("fused")), defaults["weight_decay"]
        self.betas, self.eps = defaults["betas"], defaults["eps"]
        self.params = self._tensors(lambda name, m, p: trunk[name][m] if name in trunk else p)
        self.avg = [torch.zeros_like(p) for p in self.params]
        self.avg_sq = [torch.zeros_like(p) for p in self.params]
        self.steps = [torch.zeros((), dtype=torch.float32) for _ in self.params]

    def _tensors(self, get) -> list[torch.Tensor]:
        return [get(name, m, p) for m, model in enumerate(self.models)
                for name, p in model.named_parameters()]

    def zero_grad(self) -> None:
        for leaf in [*self.trunk.values(), *(p for m in self.models for p in m.parameters())]:
            leaf.grad = None

    @torch.no_grad()
    def step(self) -> None:
        grads = self._tensors(lambda name, m, p: self.trunk[name].grad[m] if name in self.trunk
                              else p.grad)
        adamw(
            self.params, grads, self.avg, self.avg_sq, [], self.steps, foreach=False,
            fused=self.fused or None, amsgrad=False, beta1=self.betas[0], beta2=self.betas[1],
            lr=self.lr, weight_decay=self.wd, eps=self.eps, maximize=False)


@torch.no_grad()
def _copy_back(trunk: dict[str, torch.Tensor], models: list) -> None:
    for name, leaf in trunk.items():
        for m, model in enumerate(models):
            model.get_parameter(name).copy_(leaf[m])
