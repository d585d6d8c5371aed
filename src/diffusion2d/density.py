"""Densities of the dino, measured: the numbers of the chapter "Likelihood".

Held-out negative log-likelihood (NLL) in nats per point, the honest test of generalisation: a
model that memorised its training points gives them a high density and the held-out points of
the same dino a low one. Models are scored through the probability-flow ODE
(:func:`likelihood.nll_terms`, cached: :func:`ode_nll`); the baselines in closed form:

- a Gaussian fit, N(mean, covariance) of the training points (maximum likelihood);
- a Gaussian kernel density estimate (KDE) ``p(x) = 1/M sum_i N(x; x_i, h^2 I)`` with the
  bandwidth ``h`` of :data:`BANDWIDTHS` that maximises the leave-one-out likelihood of the
  training points (:func:`kde_bandwidth`): each point scored by the other M - 1.

:func:`nll_table` is the chapter's table: the mean NLL over the training and over the held-out
points, each with its Student-t interval over the points (``protocol.mean_interval``).
"""

import math

import numpy as np
import pandas as pd
import torch

from .cache import cached, digest, model_digest, result_key
from .likelihood import nll_terms
from .protocol import Reference, format_interval, mean_interval
from .utils import check_points, grid

# the modules whose code determines an ODE NLL (besides the model's weights)
DENSITY_MODULES = (
    "density.py", "exact.py", "flow.py", "likelihood.py", "model.py", "parameterisation.py",
    "samplers.py", "schedules.py", "utils.py",
)
# the bandwidths the KDE may choose from: 41 log-spaced values, 0.01 to 1 (z-normalised units)
BANDWIDTHS = tuple(float(h) for h in np.geomspace(0.01, 1.0, 41))
SPLITS = ("train", "held-out")


def gaussian_fit_nll(train: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """NLL (N,) of the points ``x`` (N, 2) under the Gaussian fitted to ``train`` (M, 2) by
    maximum likelihood (mean, covariance with divisor M), in float64."""
    data, pts = check_points("train", train).double(), check_points("x", x).double()
    mean, cov = data.mean(0), torch.cov(data.T, correction=0)  # (2,), (2, 2)
    chol = torch.linalg.cholesky(cov)  # cov = L L^T
    z = torch.linalg.solve_triangular(chol, (pts - mean).T, upper=False)  # (2, N)
    log_det = 2 * chol.diagonal().log().sum()  # log det cov
    return 0.5 * (z**2).sum(0) + 0.5 * log_det + math.log(2 * math.pi)  # d = 2


def kde_nll(train: torch.Tensor, x: torch.Tensor, bandwidth: float,
            leave_one_out: bool = False) -> torch.Tensor:
    """NLL (N,) of ``x`` (N, 2) under the Gaussian KDE of ``train`` (M, 2) with ``bandwidth``
    h, in float64; ``leave_one_out`` (``x`` must be ``train``): each point under the other
    M - 1 kernels."""
    data, pts = check_points("train", train).double(), check_points("x", x).double()
    if isinstance(bandwidth, bool) or not isinstance(bandwidth, int | float) or bandwidth <= 0:
        raise ValueError(f"bandwidth must be a positive number, got {bandwidth!r}")
    if leave_one_out and (pts.shape != data.shape or len(data) < 2):
        raise ValueError("leave_one_out needs x to be the training points (at least 2)")
    sq = ((pts[:, None, :] - data[None, :, :]) ** 2).sum(-1)  # (N, M)
    log_k = -sq / (2 * bandwidth**2) - math.log(2 * math.pi * bandwidth**2)  # log N(x; x_i, h^2 I)
    m = len(data)
    if leave_one_out:
        log_k = log_k.masked_fill(torch.eye(m, dtype=torch.bool), -math.inf)
        m -= 1
    return math.log(m) - torch.logsumexp(log_k, dim=1)


def kde_bandwidth(train: torch.Tensor, bandwidths: tuple[float, ...] = BANDWIDTHS) -> float:
    """The bandwidth of ``bandwidths`` with the lowest mean leave-one-out NLL of ``train``."""
    if not bandwidths:
        raise ValueError("bandwidths must not be empty")
    loo = [float(kde_nll(train, train, h, leave_one_out=True).mean()) for h in bandwidths]
    return bandwidths[int(np.argmin(loo))]


def ode_nll(model, x: torch.Tensor, num_steps: int | None = None) -> dict:
    """``{"nll": (N,), "folds": (N,)}``: :func:`likelihood.nll` of each point of ``x`` (N, 2)
    with ``num_steps`` ODE steps, and how many of its steps folded the plane (det J < 0), as
    float64 tensors. Computed in the dtype of the model's weights (float64 for a model without
    weights, the exact denoiser) and cached."""
    pts = check_points("x", x)
    weight = next(iter(model.parameters()), None)
    dtype = torch.float64 if weight is None else weight.dtype

    def run() -> dict:
        terms = nll_terms(model, pts.to(dtype), num_steps)
        return {"nll": -(terms.log_prior + terms.log_dets.sum(1)).double(),
                "folds": (terms.signs < 0).sum(1).double()}

    key = result_key(DENSITY_MODULES, nll=model_digest(model), points=digest(pts.double()),
                     num_steps=num_steps, dtype=str(dtype))
    return cached(key, run)


def nll_table(models: dict, ref: Reference, num_steps: int | None = None,
              baselines: bool = True, confidence: float = 0.95) -> pd.DataFrame:
    """The mean NLL in nats per point (``"mean ± half-width"`` of the Student-t interval over the
    points) of the training and of the held-out points of ``ref``: a row per entry of ``models``
    ({name: a DDPM-style model, through the ODE with ``num_steps``, or a function of points
    (N, 2) returning their NLL (N,)}), then with ``baselines`` the rows ``"gaussian"`` and
    ``"kde"``. ``df.attrs``: ``"nll"`` and ``"folds"`` ({row: {split: (M,) array}}; no folds for
    a function), ``"interval"`` ({row: {split: (mean, half)}}), ``"bandwidth"`` (the KDE's)."""
    splits = dict(zip(SPLITS, (ref.train, ref.heldout), strict=True))
    values, folds = {}, {}
    for name, model in models.items():
        if not hasattr(model, "alpha_bars"):  # a closed form
            values[name] = {s: torch.as_tensor(model(x)).double() for s, x in splits.items()}
            folds[name] = {s: torch.zeros(len(x), dtype=torch.float64) for s, x in splits.items()}
            continue
        out = ode_nll(model, ref.all, num_steps)  # one pass; the split is the first M_train
        cut = len(ref.train)
        values[name] = {"train": out["nll"][:cut], "held-out": out["nll"][cut:]}
        folds[name] = {"train": out["folds"][:cut], "held-out": out["folds"][cut:]}
    bandwidth = kde_bandwidth(ref.train) if baselines else None
    if baselines:
        values["gaussian"] = {s: gaussian_fit_nll(ref.train, x) for s, x in splits.items()}
        values["kde"] = {s: kde_nll(ref.train, x, bandwidth) for s, x in splits.items()}
    values = {name: {s: v.numpy() for s, v in row.items()} for name, row in values.items()}
    interval = {name: {s: tuple(map(float, mean_interval(v, confidence))) for s, v in row.items()}
                for name, row in values.items()}  # fmt: skip
    df = pd.DataFrame({s: [format_interval(*interval[name][s]) for name in values]
                       for s in SPLITS}, index=pd.Index(list(values), name=""))  # fmt: skip
    df.attrs.update(nll=values, interval=interval, bandwidth=bandwidth, confidence=confidence,
                    folds={n: {s: v.numpy() for s, v in r.items()} for n, r in folds.items()})
    return df


def log_density_grid(model, xrange: tuple, yrange: tuple | None = None,
                     num_steps: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``gx, gy`` (ny, nx) of :func:`utils.grid` and the log density ``-NLL`` there (ny, nx):
    ``model`` a DDPM-style model (through :func:`ode_nll`, cached) or a function of points (N, 2)
    returning their NLL (N,)."""
    gx, gy, pts = grid(xrange, yrange)  # (ny, nx) each, (ny*nx, 2) float64
    nll = ode_nll(model, pts, num_steps)["nll"] if hasattr(model, "alpha_bars") else model(pts)
    return gx, gy, -torch.as_tensor(nll).double().numpy().reshape(gx.shape)
