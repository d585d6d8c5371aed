"""The workshop's four experiments, each a full :class:`TrainConfig` (so the cache can key on it).

``EXPERIMENTS`` v1..v4 (see ``TITLES``), chapter 5's follow-up ``EXTRA``, the models of the part
"Beyond DDPM" (``BEYOND``), and ``POOL``: every model the book trains, at once (:func:`load_all`).
``WORKSHOP`` records the workshop notebook's settings (:func:`workshop_comparison`);
:func:`show_config` prints a config one field per line, marking the fields that differ from
another.
"""

import dataclasses
import html
import math

import pandas as pd
import torch

from .cache import load_or_train_many, plan, stored
from .data import load_datasaurus
from .metrics import gaussian_kl, nearest_neighbour_distances
from .model import FourierFeatures, TimeEmbedding
from .schedules import get_diffusion_parameters, make_schedule
from .training import TrainConfig, _make_optimizer, split_for

BASE = TrainConfig()

EXPERIMENTS: dict[str, TrainConfig] = {
    "v1": BASE.replace(input_embedding="identity", time_embedding="zero"),
    "v2": BASE.replace(input_embedding="identity", time_embedding="linear"),
    "v3": BASE.replace(input_embedding="fourier", time_embedding="fourier"),
    "v4": BASE.replace(input_embedding="fourier", time_embedding="fourier", beta_max=0.02),
}

# The workshop notebook's settings where this book changed them (read for issue 8, chapter 10's
# held-out fraction, benchmarks/train_speed.py's optimizer): facts, change them only against it.
WORKSHOP: dict[str, object] = {
    "hidden": 128, "blocks": "plain MLP layers (no residual connections, no LayerNorm)",
    "position_embedding": "random Gaussian Fourier features, scale 25",
    "time_embedding": "a different embedding", "lr": 4e-4, "batch_size": 32, "epochs": 10,
    "epochs_asked": 1000,  # its text asks participants to train for more than this
    "optimizer": "Adam, constant learning rate",
    "normalisation": "a different normalisation, not per coordinate",
    "holdout_fraction": 0.10, "holdout_of": "the six-fold repeated data",
}  # fmt: skip

# Chapter 5's follow-up: the workshop's suggestion "train twice as long", for experiment 4.
EXTRA = {"v4long": EXPERIMENTS["v4"].replace(epochs=2 * EXPERIMENTS["v4"].epochs)}

# Part "Beyond DDPM": experiment 3's network and budget with one thing changed each: the noise
# schedule (cosine; the linear one rescaled to zero terminal SNR, with v-prediction, since an
# eps-model cannot give x_0 there), what the network predicts (x_0, v), and the objective (flow
# matching). Experiment 3 is their eps / linear / DDPM reference.
BEYOND = {
    "cosine": EXPERIMENTS["v3"].replace(schedule="cosine"),
    "zsnr": EXPERIMENTS["v3"].replace(schedule="linear_zero_snr", prediction="v"),
    "x0": EXPERIMENTS["v3"].replace(prediction="x0"),
    "v": EXPERIMENTS["v3"].replace(prediction="v"),
    "flow": EXPERIMENTS["v3"].replace(objective="flow_matching"),
}

# Chapter "Guidance" and the live explorer: one class-conditional model of all 13 shapes (labels
# dropped to the null label 10% of the time, Ho & Salimans 2022), experiment 3's network,
# trained by gradient steps (13 shapes' points in an epoch: epochs would not compare).
CONDITIONAL = {"cfg": BASE.replace(dataset="all", label_dropout=0.1, steps=24000)}

# Every model the book trains, in one parallel pool: chapter 5's, chapter 10's model trained for
# the workshop's epochs (bug 7), those of "Beyond DDPM" and the conditional one.
POOL = {**EXPERIMENTS, **EXTRA, "v3short": BASE.replace(epochs=WORKSHOP["epochs"]), **BEYOND,
        **CONDITIONAL}

TITLES: dict[str, str] = {"v1": "identity position, no time",
                          "v2": "identity position, linear time",
                          "v3": "Fourier position, Fourier time",
                          "v4": "Fourier/Fourier, gentler schedule (beta_max = 0.02)",
                          "v4long": "experiment 4 trained twice as long",
                          "v3short": f"BASE for the workshop's {WORKSHOP['epochs']} epochs",
                          "cosine": "experiment 3, cosine schedule",
                          "zsnr": "experiment 3, zero SNR, predicts v",
                          "x0": "experiment 3 predicting x_0",
                          "v": "experiment 3 predicting v",
                          "flow": "experiment 3 by flow matching",
                          "cfg": "all 13 shapes, class-conditional"}

# Short descriptions of chapter 5's models for the columns of narrow tables.
SHORT_TITLES: dict[str, str] = {"v1": "raw x, no t", "v2": "raw x, t / T", "v3": "Fourier x and t",
                                "v4": f"as 3, beta_max {EXPERIMENTS['v4'].beta_max:g}",
                                "v4long": f"as 4, {EXTRA['v4long'].epochs} epochs"}


def _resolve(value, argument: str) -> tuple[TrainConfig, str]:
    """``(config, how the prose names it)`` for a TrainConfig, ``"BASE"`` or a name of POOL."""
    if isinstance(value, TrainConfig):
        return value, "the other config"
    if value == "BASE":
        return BASE, "BASE (the defaults)"
    if isinstance(value, str) and value in POOL:
        return POOL[value], f"experiment {value[1:]}" if value in EXPERIMENTS else TITLES[value]
    names = ", ".join(POOL)
    raise ValueError(f"{argument} must be a TrainConfig, 'BASE' or one of {names}, got {value!r}")


@dataclasses.dataclass
class ConfigView:
    """A config shown one field per line; ``changed`` names the fields that differ from the
    baseline, marked ``*`` (with the old value in a comment) and bold in HTML."""

    lines: list[str]
    changed: tuple[str, ...]

    def __repr__(self) -> str:
        return "\n".join(self.lines)

    def _repr_html_(self) -> str:
        rows = (f"<strong>{t}</strong>" if t.startswith("  *") else t
                for t in map(html.escape, self.lines))
        return '<pre class="config-view">' + "\n".join(rows) + "</pre>"


def show_config(config: TrainConfig | str, baseline: TrainConfig | str | None = "BASE"):
    """``config`` (a ``TrainConfig``, ``"BASE"`` or a name of ``POOL``) one field per line,
    marking the fields that differ from ``baseline`` (same kinds, or ``None`` for no marks)."""
    cfg, title = _resolve(config, "config")
    base, base_title = (None, "") if baseline is None else _resolve(baseline, "baseline")
    names = [f.name for f in dataclasses.fields(cfg)]
    changed = tuple(n for n in names if base and getattr(cfg, n) != getattr(base, n))
    if base:
        title += f"; * = changed from {base_title}" if changed else f", the same as {base_title}"
    fields = [f"  * {n}={getattr(cfg, n)!r},  # was {getattr(base, n)!r}" if n in changed
              else f"    {n}={getattr(cfg, n)!r}," for n in names]  # fmt: skip
    return ConfigView([f"# {title}", "TrainConfig(", *fields, ")"], changed)


def _lr(x: float) -> str:
    return f"{x:.0e}".replace("e-0", "e-")


def workshop_comparison(config: TrainConfig | None = None) -> pd.DataFrame:
    """Every setting the book changed from the workshop notebook: one row each, with the
    workshop's value (``WORKSHOP``), the book's (from ``config`` and the model) and the reason."""
    cfg = config or EXPERIMENTS["v3"]
    f = (FourierFeatures().freqs / (2 * 3.141592653589793)).tolist()
    w = WORKSHOP
    rows = [
        ("width", str(w["hidden"]), str(cfg.hidden),
         "a small 2-D point cloud needs no more; half the width is a quarter of the work"),
        ("hidden layers", w["blocks"],
         f"{cfg.num_blocks} residual blocks h + W2 GELU(W1 LayerNorm(h))",
         "each block adds a correction to its input, so training is steady from the start"),
        ("position embedding", w["position_embedding"],
         f"{len(f)} fixed frequencies per coordinate, log-spaced {f[0]:.1f} to {f[-1]:.1f}"
         " cycles per unit",
         "no random draw in the model; frequencies matched to the scale of the dino's detail"),
        ("time embedding", w["time_embedding"],
         f"Transformer sinusoids, {TimeEmbedding('fourier', cfg.T).out_dim} features (as DDPM)",
         "the embedding DDPM uses; one distinct code per step"),
        ("learning rate", _lr(w["lr"]),
         f"{_lr(cfg.lr)}, cosine decay to {_lr(cfg.lr * cfg.lr_final_fraction)}",
         "larger batches take larger steps; the decay lets the final weights settle"),
        ("batch size", str(w["batch_size"]), str(cfg.batch_size),
         "few, well-vectorised optimizer steps: seconds per model on a CPU"),
        ("epochs", f"{w['epochs']} (its text asks for more than {w['epochs_asked']})",
         str(cfg.epochs), f"enough to converge; {w['epochs']} epochs are far from it"),
        ("optimizer", w["optimizer"], "AdamW (fused kernel), cosine schedule",
         "the same update in one kernel; see the appendix on build time"),
        ("normalisation", w["normalisation"], "z-score per coordinate (chapter 1)",
         "both coordinates on the scale of the unit noise"),
        ("held-out points", f"{w['holdout_fraction']:.0%} of {w['holdout_of']}",
         f"{cfg.holdout_fraction:.0%} of the distinct points, split before any repetition",
         "a held-out point must not have a copy in the training set"),
    ]
    columns = ["setting", "workshop", "this book", "why"]
    return pd.DataFrame(rows, columns=columns).set_index("setting")


def signal_scale(config: TrainConfig, t: int, workshop_bug: bool = False) -> float:
    """How much of x_0 is left in x_t after ``t`` noising steps (the paper's step t, 1..T):
    sqrt(alpha_bar_t) (DDPM eq. 2 iterated, = eq. 4); with the workshop's bug (each step scaled by
    sqrt(alpha_bar_s) instead of sqrt(alpha_s), chapter 10) the product of sqrt(alpha_bar_s)."""
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t <= config.T:
        raise ValueError(f"t must be an int in [0, T={config.T}], got {t!r}")
    _, _, alpha_bars = get_diffusion_parameters(config.beta_min, config.beta_max, config.T)
    ab = alpha_bars.double()[:t]  # the paper's alpha_bar_1 .. alpha_bar_t
    return float(ab.sqrt().prod()) if workshop_bug else float(ab[-1].sqrt()) if t else 1.0


SECOND_ORDER_MAX = 500  # prior_terms: data points up to which E_q[u^2] is summed exactly


def prior_terms(config: TrainConfig, data=None, num_samples: int = 200_000) -> dict:
    """Where the forward process of ``config`` (its ``schedule``: linear, cosine or zero terminal
    SNR) ends, against the sampler's start N(0, I): ``alpha_bar_T``, the last alpha_bar (0-based
    step T-1); ``prior_kl``, KL(q(x_T) || N(0, I)) in nats, and ``prior_kl_se``, its standard error
    (both exactly 0 where alpha_bar_T = 0, since q(x_T) is then N(0, I) itself); ``matched_kl``,
    the KL of the Gaussian N(m, S) with the moments of q(x_T): m = sqrt(ab) mean(x_0), S = ab
    Cov(x_0) + (1 - ab) I.

    ``prior_kl`` is a seeded Monte Carlo estimate of E_q[log r], r = q(x) / N(x; 0, I), with exact
    log-densities (it sees the shape of the data left in x_T, not just its moments) and a control
    variate: with u = r - 1, log r = u - u^2 / 2 + (log r - u + u^2 / 2), and E_q[u] and E_q[u^2]
    are sums of Gaussian integrals in closed form (q is a mixture of Gaussians of one variance
    1 - ab < 1.5), so only the small remainder is sampled (for more than ``SECOND_ORDER_MAX``
    points, only u is subtracted). Its standard error is under 1% of the estimate for the book's
    schedules; plain Monte Carlo (``metrics.prior_mismatch_kl``, a standard error of about
    sqrt(2 KL / num_samples)) is off by some 10% for the linear schedules and cannot tell the
    cosine schedule's 2e-15 from 0."""
    data = load_datasaurus(config.dataset) if data is None else data
    schedule = make_schedule(config.schedule, config.beta_min, config.beta_max, config.T)
    ab = float(schedule[2][-1])  # alpha_bar of the last step, T-1 (0-based)
    x0 = data.double()  # (M, d)
    cov = ab * torch.cov(x0.T, correction=0) + (1 - ab) * torch.eye(x0.shape[1], dtype=x0.dtype)
    terms = {"alpha_bar_T": ab, "prior_kl": 0.0, "prior_kl_se": 0.0,
             "matched_kl": gaussian_kl(ab**0.5 * x0.mean(0), cov)}
    if ab == 0.0:
        return terms
    centres, var, (m, d) = ab**0.5 * x0, 1.0 - ab, x0.shape  # (M, d), scalar
    sq = (centres**2).sum(1)  # (M,)

    def moment(k: int) -> float:
        """E_q[r^(k-1)] - 1 for k = 2 or 3: the mean over k-tuples (i, ..., l) of components of
        the integral of N(c_i, var I) ... N(c_l, var I) / N(0, I)^(k-1), minus 1."""
        a = k - (k - 1) * var  # > 0 for var < k / (k - 1)
        log_det = (k - 1) * math.log1p(-ab) + math.log1p((k - 1) * ab)  # log(var^(k-1) a)
        pairs = (centres[:, None] + centres, sq[:, None] + sq) if k == 3 else (centres, sq)
        out = 0.0
        for i in range(0, m, 32):  # the tuples (i, ...) of 32 first components at a time
            tail = (None,) * (k - 1)
            total = centres[(slice(i, i + 32), *tail)] + pairs[0]  # (32, M[, M], d)
            norms = sq[(slice(i, i + 32), *tail)] + pairs[1]  # (32, M[, M])
            log_int = (total**2).sum(-1) / (2 * var * a) - norms / (2 * var) - 0.5 * d * log_det
            out += float(torch.expm1(log_int).sum())
        return out / m**k

    mean_u = moment(2)  # E_q[u], the chi-square divergence
    # E_q[u^2] = E_q[r^2] - 2 E_q[r] + 1: M^3 terms, so only for data of up to SECOND_ORDER_MAX
    # points (the datasaurus sets have 142); larger data keeps only the first-order term
    mean_u2 = moment(3) - 2 * mean_u if m <= SECOND_ORDER_MAX else None
    g = torch.Generator().manual_seed(0)
    pick = torch.randint(0, m, (num_samples,), generator=g)
    x = centres[pick] + var**0.5 * torch.randn(num_samples, d, generator=g, dtype=x0.dtype)
    log_q = torch.logsumexp(-(torch.cdist(x, centres) ** 2) / (2 * var), dim=1)
    log_q = log_q - math.log(m) - 0.5 * d * math.log(2 * math.pi * var)  # (S,)
    log_r = log_q + 0.5 * (x**2).sum(1) + 0.5 * d * math.log(2 * math.pi)  # (S,)
    u = torch.expm1(log_r)
    if mean_u2 is None:
        rest, known = log_r - u, mean_u  # (S,): about -u^2 / 2
    else:
        rest, known = log_r - u + u**2 / 2, mean_u - mean_u2 / 2  # (S,): about u^3 / 3
    terms["prior_kl"] = known + float(rest.mean())
    terms["prior_kl_se"] = float(rest.std() / num_samples**0.5)
    return terms


def workshop_split_copies(data, repeats: int = 6, seed: int = 0) -> float:
    """Share of the workshop's "held-out" points with an exact copy in its training set: it
    repeated the points ``repeats`` times, then held out a random ``holdout_fraction`` of them."""
    repeated = data.repeat(repeats, 1)  # (repeats * N, 2)
    perm = torch.randperm(len(repeated), generator=torch.Generator().manual_seed(seed))
    n_test = round(float(WORKSHOP["holdout_fraction"]) * len(repeated))
    test, train = repeated[perm[:n_test]], repeated[perm[n_test:]]
    return float((nearest_neighbour_distances(test, train) == 0).double().mean())


def training_summary(runs: dict[str, tuple]) -> pd.DataFrame:
    """A row per model of ``runs`` ({name: (model, history)}): the stack it trains in on a cold
    build (:func:`cache.plan`; models with one number train together), its gradient steps and
    the CPU time of its training (``history.cpu_seconds``), in all and per step."""
    stack = {name: i for i, names in enumerate(plan({n: POOL[n] for n in runs}), 1)
             for name in names}  # trained together in a cold build (cache.plan)
    rows = {}
    for name, (_, h) in runs.items():
        cfg = POOL[name]
        steps = cfg.steps or cfg.epochs * -(-len(split_for(cfg)[0]) * cfg.repeats // cfg.batch_size)
        rows[name] = {"stack": stack[name], "epochs": cfg.epochs if cfg.steps is None else "–",
                      "threads": cfg.threads,
                      "gradient steps": steps,
                      "CPU seconds": round(h.cpu_seconds, 1),
                      "ms per step": round(1000 * h.cpu_seconds / steps, 2)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def fused_adamw() -> bool:
    """Whether this torch build gives the training loop the fused AdamW kernel."""
    return bool(_make_optimizer(torch.nn.Linear(2, 2), BASE).defaults.get("fused"))


def load_experiment(name: str):
    """``(model, history)`` of one model of ``POOL``: the first call trains all of ``POOL`` at once
    (:func:`cache.load_or_train_many`, one process per core); later calls only load. While
    another process trains the pool, it returns as soon as this model is stored
    (:func:`cache.stored`)."""
    if name not in POOL:
        raise ValueError(f"unknown experiment {name!r}; choose one of {', '.join(POOL)}")
    found = stored(POOL[name])
    return found if found is not None else load_or_train_many(POOL)[name]


def load_all() -> dict[str, tuple]:
    """``{name: (model, history)}`` of ``EXPERIMENTS`` and ``EXTRA``, as :func:`load_experiment`."""
    runs = load_or_train_many(POOL)
    return {name: runs[name] for name in {**EXPERIMENTS, **EXTRA}}
