"""The book's one evaluation protocol: every sample-quality number and every loss comes from here.

Sample quality (:func:`evaluate`): a sampler (a trained model or the exact denoiser; DDPM, DDIM,
Euler or Heun; a number of steps; DDIM's ``eta``, DDPM's ``variance``; a flow-matching
``VelocityMLP`` with Euler or Heun, :func:`flow.flow_sample`) draws ``num_samples`` points for
each seed s of :class:`Protocol` (``torch.Generator().manual_seed(s)``), scored by the
``METRICS`` against the dino's split (:class:`Reference`); on request, also every x_t of the run
(``by_step``). Tables give the mean over the seeds with a Student-t ``confidence`` interval;
:func:`compare` says "A beats B" only when the intervals do not overlap (both from :mod:`stats`,
re-exported here); :func:`baseline` scores reference samplers. Results are cached, keyed by the
model's weights, the sampler, the protocol, the reference and the code. Losses: L_simple (DDPM
eq. 14) on the fixed batches of the training curves (:func:`split_losses`).
"""

import dataclasses
from dataclasses import dataclass

import pandas as pd
import torch

from . import metrics
from .cache import cached, digest, model_digest, result_key
from .flow import METHODS as FLOW_SAMPLERS
from .flow import VelocityMLP, flow_sample
from .samplers import VARIANCES, sample
from .stats import (  # noqa: F401 - re-exported: chapters and tests call them as protocol.*
    cell,
    compare,
    format_interval,
    interval,
    mean_interval,
    t_quantile,
)
from .training import TrainConfig, batch_losses, loss_batches, split_for
from .utils import check_points, check_positive_int, torch_threads

# the modules whose code determines a protocol result (besides the model's weights)
EVALUATION_MODULES = (
    "exact.py", "flow.py", "metrics.py", "model.py", "parameterisation.py", "protocol.py",
    "samplers.py", "schedules.py", "utils.py",
)


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
        n = self.num_samples
        if isinstance(n, bool) or not isinstance(n, int) or n < 2:
            raise ValueError(f"Protocol.num_samples must be an int >= 2, got {n!r}")
        if len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"Protocol.seeds needs at least two distinct seeds, got {self.seeds}")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"Protocol.confidence must lie in (0, 1), got {self.confidence}")


PROTOCOL = Protocol()

METRICS: dict[str, tuple[str, str]] = {  # name: (label in tables, what it measures)
    "chamfer": ("Chamfer", "Chamfer distance to all dino points (Fan et al. 2017)"),
    "mmd2": ("MMD²", "unbiased MMD^2 (Gretton et al. 2012, eq. 3) of the first mmd_samples "
             "samples to all dino points"),
    "nn_mean": ("NN distance", "mean distance from a sample to its nearest dino point"),
    "frac_close": ("within spacing", "share of samples within the median spacing of the dino"),
    "frac_copies": ("near-copies", "share within copy_fraction x the training points' spacing"),
    "train_coverage": ("train coverage", "mean distance from a training point to a sample"),
    "heldout_coverage": ("held-out coverage", "mean distance from a held-out point to a sample"),
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
    def of(cls, config: TrainConfig, data: torch.Tensor | None = None) -> "Reference":
        """The split a model trained with ``config`` saw (:func:`training.split_for`)."""
        return cls(*split_for(config, data))

    def digest(self) -> str:
        return digest(self.train.double(), self.heldout.double())


def scores(samples: torch.Tensor, ref: Reference, protocol: Protocol = PROTOCOL,
           mmd: bool = True) -> dict:
    """The ``METRICS`` of one set of samples (N, 2); ``mmd=False``: MMD² (the slowest) is None."""
    nn = metrics.nearest_neighbour_distances
    with torch_threads(1):
        all_points = ref.all
        nn_all, nn_train = nn(samples, all_points), nn(samples, ref.train)  # (N,) each
        spacing = float(metrics.data_spacing(all_points).median())
        copy_radius = protocol.copy_fraction * float(metrics.data_spacing(ref.train).median())
        return {
            "chamfer": metrics.chamfer_distance(samples, all_points),
            "mmd2": metrics.mmd_rbf(samples[: protocol.mmd_samples], all_points) if mmd else None,
            "nn_mean": float(nn_all.mean()),
            "frac_close": float((nn_all <= spacing).double().mean()),
            "frac_copies": float((nn_train <= copy_radius).double().mean()),
            "train_coverage": float(nn(ref.train, samples).mean()),
            "heldout_coverage": float(nn(ref.heldout, samples).mean()),
        }


def options(sampler: str, eta: float = 0.0, variance: str = "beta") -> dict:
    """The sampler's options that differ from the defaults, as the cache key records them (none:
    the key of a run without options); ValueError for an option the sampler does not take."""
    if isinstance(eta, bool) or not isinstance(eta, int | float) or not eta >= 0:
        raise ValueError(f"eta must be a non-negative number, got {eta!r}")
    if variance not in VARIANCES:
        raise ValueError(f"variance must be one of {VARIANCES}, got {variance!r}")
    if eta and sampler != "ddim":
        raise ValueError(f"eta applies to sampler 'ddim' only, got eta={eta} with {sampler!r}")
    if variance != "beta" and sampler != "ddpm":
        raise ValueError(f"variance applies to sampler 'ddpm' only, got {variance!r} with "
                         f"{sampler!r}")
    return {"eta": float(eta)} if eta else {"variance": variance} if variance != "beta" else {}


def samples(model, seed: int, sampler: str = "ddpm", num_steps: int | None = None,
            protocol: Protocol = PROTOCOL, *, eta: float = 0.0,
            variance: str = "beta") -> list[torch.Tensor]:
    """The whole run of one protocol seed, x_T first, x_0 last (each (num_samples, 2); a flow
    model's: noise first, data last): figures that show samples draw them here, so they show
    exactly what the numbers measure."""
    generator, opts = torch.Generator().manual_seed(seed), options(sampler, eta, variance)
    if isinstance(model, VelocityMLP):  # flow matching: noise at t = 0, data last, as DDPM's
        if sampler not in FLOW_SAMPLERS:
            raise ValueError(f"sampler must be one of {FLOW_SAMPLERS} for a flow model, got "
                             f"{sampler!r}")
        return flow_sample(protocol.num_samples, model, num_steps or model.T, sampler, generator)
    return sample(protocol.num_samples, model, sampler, generator, num_steps, **opts)


def _key(model, sampler: str, num_steps: int | None, ref: Reference, protocol: Protocol,
         **options) -> str:
    return result_key(EVALUATION_MODULES, model=model_digest(model), sampler=sampler,
                      num_steps=num_steps,
                      reference=ref.digest(), protocol=dataclasses.asdict(protocol), **options)


def evaluate(model, ref: Reference, sampler: str = "ddpm", num_steps: int | None = None,
             protocol: Protocol = PROTOCOL, *, eta: float = 0.0, variance: str = "beta",
             by_step: bool = False) -> pd.DataFrame:
    """Score ``model`` under the protocol: one row per seed, one column per metric; ``eta``
    (DDIM) and ``variance`` (DDPM) as in :func:`samplers.sample`. With ``by_step``,
    ``df.attrs["chamfer_by_step"]`` holds, per seed, the Chamfer distance of every x_t of the run
    to all dino points (x_T first, x_0 last); the rows are the same either way."""
    opts = options(sampler, eta, variance)
    key = _key(model, sampler, num_steps, ref, protocol, **opts)

    def run(trace: bool) -> dict:
        rows, by_step = [], []
        for seed in protocol.seeds:
            xs = samples(model, seed, sampler, num_steps, protocol, **opts)  # x_T ... x_0
            rows.append(scores(xs[-1], ref, protocol))
            if trace:
                with torch_threads(1):
                    by_step.append([metrics.chamfer_distance(x, ref.all) for x in xs])
        return {"rows": rows, "chamfer_by_step": by_step} if trace else {"rows": rows}

    if not by_step:
        return _frame(cached(key, lambda: run(False))["rows"], protocol)
    result = cached(_key(model, sampler, num_steps, ref, protocol, by_step=True, **opts),
                    lambda: run(True))
    cached(key, lambda: {"rows": result["rows"]})  # the same rows: no second run without
    return _frame(result["rows"], protocol, chamfer_by_step=result["chamfer_by_step"])


def smooth_samples(points: torch.Tensor, num_samples: int, bandwidth: float,
                   generator: torch.Generator) -> torch.Tensor:
    """``num_samples`` draws (N, 2) from a Gaussian kernel density of ``points`` (M, 2): a point
    drawn uniformly, plus N(0, bandwidth^2 I). It lands within a radius r of its chosen point
    only with probability 1 - exp(-r^2 / (2 bandwidth^2)): it copies no point on purpose."""
    pts = check_points("points", torch.as_tensor(points)).float()
    if bandwidth is None or not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth!r}")
    check_positive_int("num_samples", num_samples)
    idx = torch.randint(0, len(pts), (num_samples,), generator=generator)
    return pts[idx] + bandwidth * torch.randn(num_samples, 2, generator=generator)


def baseline(name: str, ref: Reference, protocol: Protocol = PROTOCOL,
             bandwidth: float | None = None) -> pd.DataFrame:
    """The protocol's rows (one per seed) for ``protocol.num_samples`` points of a reference
    sampler: ``"gaussian"``, N(0, I) draws (it learned nothing); ``"smooth"``,
    :func:`smooth_samples` of all dino points with ``bandwidth`` (kept in ``df.attrs``);
    ``"resampled"``, the same with the tiny ``protocol.jitter`` (it copies)."""
    if name not in ("gaussian", "resampled", "smooth"):
        raise ValueError(f"name must be 'gaussian', 'resampled' or 'smooth', got {name!r}")
    n, h = protocol.num_samples, protocol.jitter if name == "resampled" else bandwidth

    def run() -> dict:
        gens = [torch.Generator().manual_seed(seed) for seed in protocol.seeds]
        xs = [torch.randn(n, 2, generator=g) if name == "gaussian"
              else smooth_samples(ref.all, n, h, g) for g in gens]  # fmt: skip
        return {"rows": [scores(x, ref, protocol) for x in xs]}

    key = result_key(EVALUATION_MODULES, baseline=name, bandwidth=h, reference=ref.digest(),
                     protocol=dataclasses.asdict(protocol))
    rows = cached(key, run)["rows"]
    return _frame(rows, protocol, **({"bandwidth": bandwidth} if name == "smooth" else {}))


def _frame(rows: list[dict], protocol: Protocol, **attrs) -> pd.DataFrame:
    df = pd.DataFrame(rows, index=pd.Index(protocol.seeds, name="seed"))
    df.attrs.update(confidence=protocol.confidence, **attrs)
    return df


def table(results: dict[str, pd.DataFrame], columns: tuple[str, ...] = ("chamfer", "mmd2"),
          extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per result, ``"mean ± half-width"`` per metric, after any ``extra`` columns."""
    body = pd.DataFrame({METRICS[c][0]: [cell(df, c) for df in results.values()] for c in columns},
                        index=pd.Index(list(results), name=""))
    return body if extra is None else extra.reindex(body.index).join(body)


def split_losses(denoiser, config: TrainConfig, data: torch.Tensor | None = None) -> dict:
    """``{"train": L, "held-out": L}``: the training loss of any denoiser (L_simple; the
    flow-matching loss for a flow config's velocity model) on the fixed batches of
    :func:`training.loss_batches` (for a trained model: the last point of its history)."""
    with torch_threads(1):
        return batch_losses(denoiser, loss_batches(config, data))


def glue_result(prefix: str, df: pd.DataFrame) -> None:
    """Glue ``{prefix}-{metric}`` (the mean over the seeds), ``-pm`` (the half-width of its
    interval), ``-ci`` (both, as tables print them: ``"0.0670 ± 0.0012"``) and, for a share
    (``frac_*``), ``-pct`` (the same in percent). Use one canonical prefix per quantity in every
    chapter (e.g. ``q-v3-ddpm``): the site tests check that a key on two pages has one value."""
    from myst_nb import glue

    for metric in (m for m in METRICS if m in df.columns):
        mean, lo, hi = interval(df, metric)
        key, half = f"{prefix}-{metric}", (hi - lo) / 2
        glue(key, mean, display=False)
        glue(f"{key}-pm", half, display=False)
        glue(f"{key}-ci", format_interval(mean, half), display=False)
        if metric.startswith("frac_"):
            glue(f"{key}-pct", format_interval(mean, half, percent=True), display=False)
