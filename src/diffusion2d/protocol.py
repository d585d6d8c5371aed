"""The book's one evaluation protocol: every sample-quality number and every loss comes from here.

Sample quality (:func:`evaluate`). A sampler (a trained model or the exact denoiser, driven by
DDPM or DDIM with a given number of steps) draws ``PROTOCOL.num_samples`` points from each of the
seeds ``PROTOCOL.seeds`` (seed s: ``torch.Generator().manual_seed(s)``, x_T first). Each seed's
samples are scored against fixed reference sets of the z-normalised dino:

=====================  ==========================================================  ============
metric                 what it measures                                            reference
=====================  ==========================================================  ============
``chamfer``            symmetric Chamfer distance (Fan et al. 2017, arXiv           all 142
                       1612.00603): on the shape *and* covering it
``mmd2``               unbiased MMD^2, sum of Gaussian kernels (Gretton et al.      all 142
                       2012, eq. 3), first ``mmd_samples`` samples
``nn_mean``            mean distance from a sample to its nearest dino point        all 142
``frac_close``         share of samples within the median spacing of a dino point   all 142
``frac_copies``        share of samples within ``copy_fraction`` x the median       training
                       spacing of a training point: near-copies
``train_coverage``     mean distance from a training point to its nearest sample    training
``heldout_coverage``   mean distance from a held-out point to its nearest sample    held-out
=====================  ==========================================================  ============

A table reports each metric as the mean over the seeds with a ``confidence`` interval for that
mean (Student t over the seeds); :func:`compare` says "A beats B" only when the two intervals do
not overlap. Two reference rows (:func:`baseline`) frame the tables: N(0, I) noise, what a
sampler that learned nothing returns, and the dino resampled with a small jitter, what a sampler
that copies the data returns. :func:`evaluate` also records the Chamfer distance of every
intermediate x_t of the run, for quality-against-t curves. Results are cached on disk (beside the
model cache) under a key of the model's weights, the sampler, the protocol, the reference sets
and the source of the code that computes them.

Losses (:func:`split_losses`): L_simple (DDPM eq. 14, arXiv 2006.11239) on the fixed batches of
:func:`training.loss_batches`, the same draws as the training curves, for any denoiser.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass

import pandas as pd
import torch

from . import metrics
from .cache import cache_dir, source_hash
from .samplers import SAMPLERS, sample
from .training import TrainConfig, batch_loss, loss_batches, split_for
from .utils import torch_threads

FORMAT = 1
# the modules whose code determines a protocol result (besides the model's weights)
EVALUATION_MODULES = (
    "exact.py", "metrics.py", "model.py", "protocol.py", "samplers.py", "schedules.py", "utils.py",
)  # fmt: skip


@dataclass(frozen=True)
class Protocol:
    """The fixed settings of every sample-quality figure in the book."""

    num_samples: int = 2000
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    mmd_samples: int = 1000
    copy_fraction: float = 0.1
    jitter: float = 0.01
    confidence: float = 0.95

    def __post_init__(self):
        if isinstance(self.num_samples, bool) or not isinstance(self.num_samples, int) or (
            self.num_samples < 2
        ):
            raise ValueError(f"Protocol.num_samples must be an int >= 2, got {self.num_samples!r}")
        if len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"Protocol.seeds needs at least two distinct seeds, got {self.seeds}")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"Protocol.confidence must lie in (0, 1), got {self.confidence}")


PROTOCOL = Protocol()

METRICS: dict[str, tuple[str, bool | None]] = {
    # name: (label, lower is better? None: neither)
    "chamfer": ("Chamfer", True),
    "mmd2": ("MMD²", True),
    "nn_mean": ("NN distance", True),
    "frac_close": ("within spacing", False),
    "frac_copies": ("near-copies", None),
    "train_coverage": ("train coverage", True),
    "heldout_coverage": ("held-out coverage", True),
}


@dataclass(frozen=True)
class Reference:
    """The reference sets: ``train`` and ``heldout`` points of one split; ``all`` is both."""

    train: torch.Tensor  # (M_train, 2)
    heldout: torch.Tensor  # (M_heldout, 2)

    @property
    def all(self) -> torch.Tensor:
        return torch.cat([self.train, self.heldout])  # (M, 2)

    @classmethod
    def of(cls, config: TrainConfig, data: torch.Tensor | None = None) -> Reference:
        """The split a model trained with ``config`` saw (:func:`training.split_for`)."""
        return cls(*split_for(config, data))

    def digest(self) -> str:
        h = hashlib.sha256()
        for x in (self.train, self.heldout):
            h.update(x.detach().double().contiguous().numpy().tobytes())
        return h.hexdigest()


def scores(samples: torch.Tensor, ref: Reference, protocol: Protocol = PROTOCOL) -> dict:
    """The metrics of the module docstring for one set of samples (N, 2)."""
    with torch_threads(1):
        all_points = ref.all
        nn_all = metrics.nearest_neighbour_distances(samples, all_points)  # (N,)
        nn_train = metrics.nearest_neighbour_distances(samples, ref.train)  # (N,)
        spacing = float(metrics.data_spacing(all_points).median())
        copy_radius = protocol.copy_fraction * float(metrics.data_spacing(ref.train).median())
        return {
            "chamfer": metrics.chamfer_distance(samples, all_points),
            "mmd2": metrics.mmd_rbf(samples[: protocol.mmd_samples], all_points),
            "nn_mean": float(nn_all.mean()),
            "frac_close": float((nn_all <= spacing).double().mean()),
            "frac_copies": float((nn_train <= copy_radius).double().mean()),
            "train_coverage": float(metrics.nearest_neighbour_distances(ref.train, samples).mean()),
            "heldout_coverage": float(
                metrics.nearest_neighbour_distances(ref.heldout, samples).mean()
            ),
        }


def samples(model, seed: int, sampler: str = "ddpm", num_steps: int | None = None,
            protocol: Protocol = PROTOCOL) -> list[torch.Tensor]:  # fmt: skip
    """The whole run of one protocol seed: x_T first, x_0 last (each (num_samples, 2)).

    Figures that show samples draw them here, so they show exactly what the numbers measure.
    """
    generator = torch.Generator().manual_seed(seed)
    return sample(protocol.num_samples, model, sampler, generator, num_steps)


def baseline_samples(name: str, ref: Reference, seed: int,
                     protocol: Protocol = PROTOCOL) -> torch.Tensor:  # fmt: skip
    """``"gaussian"``: N(0, I) draws; ``"resampled"``: dino points drawn with replacement, plus
    ``protocol.jitter`` Gaussian jitter. Shape (num_samples, 2)."""
    g = torch.Generator().manual_seed(seed)
    n = protocol.num_samples
    if name == "gaussian":
        return torch.randn(n, 2, generator=g)
    if name == "resampled":
        data = ref.all.float()
        idx = torch.randint(0, len(data), (n,), generator=g)
        return data[idx] + protocol.jitter * torch.randn(n, 2, generator=g)
    raise ValueError(f"name must be 'gaussian' or 'resampled', got {name!r}")


def _state_digest(model) -> str:
    h = hashlib.sha256(type(model).__name__.encode())
    h.update(str(model.T).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _key(what: dict, ref: Reference, protocol: Protocol) -> str:
    payload = {
        "format": FORMAT, **what, "reference": ref.digest(),
        "protocol": dataclasses.asdict(protocol), "source": source_hash(EVALUATION_MODULES),
        "torch": torch.__version__.split("+")[0],
    }  # fmt: skip
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _cached(key: str, compute):
    path = cache_dir() / "protocol" / f"{key}.json"
    try:
        blob = json.loads(path.read_text())
        if blob.get("key") == key:
            return blob["result"]
    except (OSError, ValueError):
        pass
    result = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{id(result)}.tmp")
    tmp.write_text(json.dumps({"key": key, "result": result}))
    tmp.replace(path)
    return result


def evaluate(model, ref: Reference, sampler: str = "ddpm", num_steps: int | None = None,
             protocol: Protocol = PROTOCOL) -> pd.DataFrame:  # fmt: skip
    """Score ``model`` under the protocol: one row per seed, one column per metric.

    ``df.attrs["chamfer_by_step"]`` holds, per seed, the Chamfer distance of every x_t of the run
    to all dino points (x_T first, x_0 last).
    """
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")

    def compute():
        rows, by_step = [], []
        for seed in protocol.seeds:
            run = samples(model, seed, sampler, num_steps, protocol)
            rows.append(scores(run[-1], ref, protocol))
            with torch_threads(1):
                by_step.append([metrics.chamfer_distance(x, ref.all) for x in run])
        return {"rows": rows, "chamfer_by_step": by_step}

    what = {"model": _state_digest(model), "sampler": sampler, "num_steps": num_steps}
    result = _cached(_key(what, ref, protocol), compute)
    return _frame(result["rows"], protocol, chamfer_by_step=result["chamfer_by_step"])


def baseline(name: str, ref: Reference, protocol: Protocol = PROTOCOL) -> pd.DataFrame:
    """The protocol's rows for a reference cloud (:func:`baseline_samples`), one per seed."""
    return score_seeds(lambda seed: baseline_samples(name, ref, seed, protocol), ref, protocol)


def score_seeds(draw, ref: Reference, protocol: Protocol = PROTOCOL, **attrs) -> pd.DataFrame:
    """The protocol's rows for any sampler: ``draw(seed)`` returns the samples (N, 2) of one seed;
    one row of :func:`scores` per seed of ``protocol`` (``attrs`` go to ``df.attrs``)."""
    return _frame([scores(draw(seed), ref, protocol) for seed in protocol.seeds], protocol, **attrs)


def _frame(rows: list[dict], protocol: Protocol, **attrs) -> pd.DataFrame:
    df = pd.DataFrame(rows, index=pd.Index(protocol.seeds, name="seed"))
    df.attrs.update(confidence=protocol.confidence, **attrs)
    return df


def mean_interval(values, confidence: float = 0.95):
    """``(mean, half-width)`` of the Student-t interval of the mean over the first axis of
    ``values`` (one row per seed); arrays for 2-D ``values``, floats for 1-D."""
    import numpy as np

    v = np.asarray(values, dtype=float)
    n = v.shape[0]
    half = t_quantile(0.5 + confidence / 2, n - 1) * v.std(0, ddof=1) / math.sqrt(n)
    return v.mean(0), half


def interval(df: pd.DataFrame, metric: str) -> tuple[float, float, float]:
    """``(mean, low, high)`` of ``metric`` over the seeds: the mean and its Student-t interval."""
    mean, half = mean_interval(df[metric].to_numpy(), df.attrs.get("confidence", 0.95))
    mean, half = float(mean), float(half)
    return mean, mean - half, mean + half


def t_quantile(p: float, dof: int) -> float:
    """The p-quantile of Student's t with ``dof`` degrees of freedom (p > 0.5), solved from its
    CDF 1 - I_x(dof/2, 1/2) / 2 with x = dof / (dof + q^2) (mpmath, a dependency of torch)."""
    import mpmath

    if not 0.5 < p < 1.0 or dof < 1:
        raise ValueError(f"t_quantile needs 0.5 < p < 1 and dof >= 1, got p={p}, dof={dof}")

    def tail(q):
        return mpmath.betainc(dof / 2, 0.5, 0, dof / (dof + q * q), regularized=True) / 2 - (1 - p)

    return float(mpmath.findroot(tail, (mpmath.mpf("1e-9"), mpmath.mpf(1000)), solver="bisect"))


def compare(a: pd.DataFrame, b: pd.DataFrame, metric: str) -> int:
    """-1 if A is lower than B with non-overlapping intervals, +1 if higher, 0 if they overlap."""
    _, a_lo, a_hi = interval(a, metric)
    _, b_lo, b_hi = interval(b, metric)
    return -1 if a_hi < b_lo else 1 if a_lo > b_hi else 0


def format_interval(mean: float, half: float) -> str:
    """``"mean ± half"`` with the half-width to two significant digits and the mean to the same
    decimal place (at least 3, at most 4 decimals; scientific notation below 1e-3)."""
    if 0 < abs(mean) < 1e-3:
        return f"{mean:.2g} ± {half:.1g}"
    decimals = 3 if half <= 0 else min(4, max(3, 1 - math.floor(math.log10(half))))
    return f"{mean:.{decimals}f} ± {half:.{decimals}f}"


def cell(df: pd.DataFrame, metric: str) -> str:
    """``"mean ± half-width"`` of one metric, as tables and prose print it."""
    mean, lo, hi = interval(df, metric)
    return format_interval(mean, (hi - lo) / 2)


def table(results: dict[str, pd.DataFrame], columns: tuple[str, ...] = ("chamfer", "mmd2"),
          extra: pd.DataFrame | None = None) -> pd.DataFrame:  # fmt: skip
    """One row per result, ``"mean ± half-width"`` per metric; ``extra`` columns joined as they
    are (e.g. a description, or alpha_bar_T)."""
    body = pd.DataFrame(
        {METRICS[c][0]: [cell(df, c) for df in results.values()] for c in columns},
        index=pd.Index(list(results), name=""),
    )
    if extra is not None:
        body = extra.reindex(body.index).join(body)
    return body


def split_losses(denoiser, config: TrainConfig, data: torch.Tensor | None = None) -> dict:
    """``{"train": L, "held-out": L}``: L_simple of any denoiser on the fixed batches of
    :func:`training.loss_batches` (for a trained model: the last point of its history)."""
    with torch_threads(1):
        return {split: batch_loss(denoiser, batch, denoiser.alpha_bars)
                for split, batch in loss_batches(config, data).items()}  # fmt: skip


def glue_result(prefix: str, df: pd.DataFrame, columns: tuple[str, ...] | None = None) -> None:
    """Glue a result for the prose: ``{prefix}-{metric}`` (the mean over the seeds),
    ``{prefix}-{metric}-pm`` (the half-width of its interval) and ``{prefix}-{metric}-ci`` (both,
    formatted as the tables print them: ``"0.0670 ± 0.0012"``), for each metric in ``columns``.

    Use one canonical prefix per quantity in every chapter (e.g. ``q-v3-ddpm50``): the site tests
    check that a key glued on two pages has one value.
    """
    from myst_nb import glue

    for metric in columns or tuple(c for c in METRICS if c in df.columns):
        mean, lo, hi = interval(df, metric)
        glue(f"{prefix}-{metric}", mean, display=False)
        glue(f"{prefix}-{metric}-pm", (hi - lo) / 2, display=False)
        glue(f"{prefix}-{metric}-ci", format_interval(mean, (hi - lo) / 2), display=False)
