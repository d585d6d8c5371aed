"""The analyses of a trained model beside the book's evaluation protocol (:mod:`protocol`),
which computes every sample-quality number; figures of them are in :mod:`diffusion2d.plotting`.

Memorisation distances (:func:`memorisation_of`); quality against t (:func:`chamfer_by_step`);
eps_theta against E[eps | x_t] on a grid (:func:`compare_fields`, :func:`error_by_distance`),
L_simple (DDPM eq. 14) per step (:func:`loss_by_step`), :func:`eps_slope`; the score and Tweedie's
E[x_0 | x_t] of a model against the exact ones by t (:func:`score_by_step`); the book's tables
(:func:`markdown_table`, captioned on the page; :func:`display_table` for a cell's output).
Everything uses explicit seeds and one torch thread.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import torch

from . import metrics
from . import protocol as P
from .forward import q_sample
from .loss import get_loss
from .metrics import rms_length as _rms
from .parameterisation import score_from_eps, x0_from_eps
from .utils import check_points, torch_threads
from .utils import grid as grid_points


@dataclass
class MemorisationStats:
    """Distances for one sampler (arrays float64); "nearest" is the nearest neighbour."""

    samples: np.ndarray  # (N, 2)
    sample_to_train: np.ndarray  # (N,): each sample to the nearest training point
    train_spacing: np.ndarray  # (M,): each training point to the nearest other one
    spacing: float  # median of train_spacing
    copy_radius: float  # copy_fraction * spacing
    heldout_to_train: float  # mean distance from a held-out point to the nearest training point


def memorisation_of(samples: torch.Tensor, train: torch.Tensor, heldout: torch.Tensor,
                    copy_fraction: float = 0.1) -> MemorisationStats:
    """The distances of :class:`MemorisationStats` for given ``samples`` (N, 2), e.g. one seed of
    the protocol (:func:`protocol.samples`), so that figures show what the protocol measures."""
    x = check_points("samples", torch.as_tensor(samples))
    nearest = metrics.nearest_neighbour_distances
    with torch_threads(1):
        spacing_all = metrics.data_spacing(train)  # (M,)
        spacing = float(spacing_all.median())
        return MemorisationStats(x.double().numpy(), nearest(x, train).numpy(), spacing_all.numpy(),
                                 spacing, copy_fraction * spacing,
                                 float(nearest(heldout, train).mean()))


def chamfer_by_step(df: pd.DataFrame) -> pd.DataFrame:
    """Quality against t from a protocol result: one row per paper time t (T first, 0 last), with
    the mean Chamfer distance of x_t over the seeds and its interval (``mean``, ``lo``, ``hi``)."""
    by_step = df.attrs.get("chamfer_by_step")
    if not by_step:
        raise ValueError("df has no attrs['chamfer_by_step']: pass a result of "
                         "protocol.evaluate(..., by_step=True)")
    mean, half = P.mean_interval(by_step, df.attrs.get("confidence", 0.95))  # (T+1,) each
    t = pd.Index(np.arange(len(mean) - 1, -1, -1), name="t")
    return pd.DataFrame({"mean": mean, "lo": mean - half, "hi": mean + half}, index=t)


@dataclass
class FieldComparison:
    """eps_theta and E[eps | x_t] on a grid at several paper times t (arrays float64)."""

    times: np.ndarray  # (S,)
    grid_x: np.ndarray  # (ny, nx)
    grid_y: np.ndarray  # (ny, nx)
    learned: np.ndarray  # (S, ny, nx, 2)
    exact: np.ndarray  # (S, ny, nx, 2)
    centres: np.ndarray  # (S, M, 2): sqrt(alpha_bar_t) x0_i, the means of the mixture q(x_t)
    alpha_bars: np.ndarray | None = None  # (S,): alpha_bar_t at the times

    @cached_property
    def sq_error(self) -> np.ndarray:
        """|eps_theta - E[eps|x_t]|^2 averaged over both coordinates (as L_simple): (S, ny, nx)."""
        return ((self.learned - self.exact) ** 2).mean(-1)

    @cached_property
    def distance(self) -> np.ndarray:
        """Each grid point's distance to the nearest centre sqrt(alpha_bar_t) x0_i, (S, ny, nx)."""
        pts = torch.from_numpy(np.stack([self.grid_x.ravel(), self.grid_y.ravel()], 1))  # (G, 2)
        with torch_threads(1):
            out = [metrics.nearest_neighbour_distances(pts, torch.from_numpy(c)).numpy()
                   for c in self.centres]
        return np.stack(out).reshape(self.sq_error.shape)


def _check_schedules(models: Mapping[str, object]):
    """Check that ``models`` share one schedule and put them in eval mode; return the first."""
    first = next(iter(models.values()))
    for name, m in models.items():
        if m.T != first.T or not torch.allclose(m.alpha_bars, first.alpha_bars):
            raise ValueError(f"{name} does not share the schedule of the others")
        if hasattr(m, "eval"):
            m.eval()
    return first


@torch.no_grad()
def compare_fields(model, exact, times: Sequence[int], grid: tuple = (-3.0, 3.001, 0.1)):
    """:class:`FieldComparison` of ``model`` (eps_theta) and ``exact`` (an
    :class:`exact.ExactDenoiser`, same schedule) on ``utils.grid(grid)`` at paper times t."""
    _check_schedules({"model": model, "exact denoiser": exact})
    times = np.asarray(list(times), dtype=int)
    if times.size == 0 or times.min() < 1 or times.max() > model.T:
        raise ValueError(f"times must lie in 1..{model.T} (there is no step at t = 0), got {times}")
    gx, gy, pts = grid_points(grid)  # (ny, nx) each, (G, 2)
    pts, shape = pts.float(), (len(times),) + gx.shape + (2,)  # (S, ny, nx, 2)
    with torch_threads(1):  # 0-based step t - 1
        learned = torch.stack([model(pts, int(t) - 1) for t in times]).double().numpy()
        exact_eps = torch.stack([exact(pts.double(), int(t) - 1) for t in times]).numpy()
    abars = exact.alpha_bars.double().numpy()[times - 1]  # (S,)
    centres = np.sqrt(abars)[:, None, None] * exact.data.double().numpy()[None]
    return FieldComparison(times, gx, gy, learned.reshape(shape), exact_eps.reshape(shape), centres,
                           abars)


def error_by_distance(comp: FieldComparison, edges: Sequence[float]):
    """Mean squared error in bins of distance to the nearest centre: ``(table (S, B), counts)``
    for B + 1 increasing bin ``edges``; empty bins hold NaN."""
    edges = np.asarray(edges, dtype=float)
    table = np.full((len(comp.times), len(edges) - 1), np.nan)
    counts = np.zeros(table.shape, dtype=int)
    for s, b in np.ndindex(table.shape):
        inside = np.digitize(comp.distance[s].ravel(), edges) - 1 == b  # grid points in bin b
        counts[s, b] = inside.sum()
        if counts[s, b]:
            table[s, b] = comp.sq_error[s].ravel()[inside].mean()
    return table, counts


@torch.no_grad()
def loss_by_step(models: Mapping[str, object], points: torch.Tensor, repeats: int = 16,
                 generator: torch.Generator | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """L_simple (eq. 14) per step for each model, ``{name: (T,) array}`` (entry t-1: time t):
    every point is noised ``repeats`` times at *every* step with one shared set of eps (eq. 4),
    so the models are compared on identical inputs."""
    first = _check_schedules(models)
    g = torch.Generator().manual_seed(0) if generator is None else generator
    x0 = check_points("points", torch.as_tensor(points)).float().repeat(repeats, 1)  # (R*M, 2)
    out = {name: np.zeros(first.T) for name in models}
    with torch_threads(1):
        for s in range(first.T):
            eps = torch.randn(x0.shape, generator=g)  # (R*M, 2)
            for name, m in models.items():
                out[name][s] = float(get_loss(m, x0, eps, first.alpha_bars, s))
    return out


@torch.no_grad()
def eps_slope(denoiser, points: torch.Tensor, t: int, num: int = 20_000) -> float:
    """The least-squares slope c of eps_pred ~ c x_t over x_t ~ q(x_t) (eq. 4 from ``points``)
    at paper time t (0-based step t - 1): how strongly the noise prediction points along x_t;
    sqrt(1 - alpha_bar_t) for unit-variance Gaussian data."""
    T = len(denoiser.alpha_bars)
    if isinstance(t, bool) or not 1 <= int(t) <= T or int(t) != t:
        raise ValueError(f"t must be a paper time in 1..{T}, got {t!r}")
    g = torch.Generator().manual_seed(0)
    x0 = torch.as_tensor(points).float()
    x0 = x0[torch.randint(0, len(x0), (num,), generator=g)]  # (num, 2)
    ts = torch.full((num,), int(t) - 1, dtype=torch.long)
    eps = torch.randn(x0.shape, generator=g)
    with torch_threads(1):
        xt = q_sample(x0, ts, eps, denoiser.alpha_bars)
        return float((denoiser(xt, ts) * xt).sum() / (xt * xt).sum())



@torch.no_grad()
def score_by_step(model, exact, points: torch.Tensor, repeats: int = 8,
                  grid: tuple = (-3.0, 3.001, 0.1),
                  generator: torch.Generator | None = None) -> pd.DataFrame:  # fmt: skip
    """The model's score ``s_theta = -eps_theta / sqrt(1 - alpha_bar_t)`` against the exact
    ``grad log q(x_t)`` of ``exact`` (an :class:`exact.ExactDenoiser`, same schedule), one row per
    paper time t = 1..T, over x_t ~ q(x_t) (eq. 4 from ``points``, each noised ``repeats`` times)
    and over ``utils.grid(grid)``. Columns: ``exact_rms``, ``model_rms`` (RMS length of the score
    under q), ``bound`` (sqrt(2 / (1 - alpha_bar_t)), the RMS if x_t revealed eps), ``error_rms``
    (RMS |s_theta - s| under q), ``relative_q``, ``relative_grid`` (RMS error over RMS exact score,
    under q and on the grid), ``grid_cosine`` (median cosine between the two scores on the grid),
    ``grid_length`` (their RMS lengths on the grid, learned over exact), ``x0_exact``, ``x0_model``
    (mean distance from Tweedie's E[x_0 | x_t], exact and the model's, to the nearest of
    ``points``) and ``xt_nearest`` (the same for x_t itself, undenoised)."""
    _check_schedules({"model": model, "exact denoiser": exact})
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    g = torch.Generator().manual_seed(0) if generator is None else generator
    data = check_points("points", torch.as_tensor(points)).double()  # (M, 2)
    x0, on_grid = data.repeat(repeats, 1), grid_points(grid)[2]  # (R*M, 2), (G, 2)
    abars, n, rows = exact.alpha_bars.double(), len(x0), []
    with torch_threads(1):
        for s in range(model.T):
            xt = q_sample(x0, s, torch.randn(x0.shape, generator=g, dtype=x0.dtype), abars)
            both = torch.cat([xt, on_grid])  # (R*M + G, 2): under q, then the grid
            eps = {"exact": exact(both, s), "model": model(both.float(), s).double()}
            score = {k: score_from_eps(e, abars[s]) for k, e in eps.items()}
            err = score["model"] - score["exact"]  # (R*M + G, 2)
            x0_hat = {k: x0_from_eps(xt, e[:n], abars[s]) for k, e in eps.items()}  # Tweedie
            x0_hat["xt"] = xt
            dist = {k: float(metrics.nearest_neighbour_distances(v, data).mean())
                    for k, v in x0_hat.items()}  # fmt: skip
            cosine = torch.cosine_similarity(score["model"][n:], score["exact"][n:], dim=1)  # (G,)
            rows.append({"exact_rms": _rms(score["exact"][:n]),
                         "model_rms": _rms(score["model"][:n]),
                         "bound": float((2 / (1 - abars[s])).sqrt()), "error_rms": _rms(err[:n]),
                         "relative_q": _rms(err[:n]) / _rms(score["exact"][:n]),
                         "relative_grid": _rms(err[n:]) / _rms(score["exact"][n:]),
                         "grid_cosine": float(cosine.median()),
                         "grid_length": _rms(score["model"][n:]) / _rms(score["exact"][n:]),
                         "x0_exact": dist["exact"], "x0_model": dist["model"],
                         "xt_nearest": dist["xt"]})  # fmt: skip
    return pd.DataFrame(rows, index=pd.Index(np.arange(1, model.T + 1), name="t"))


def rms_radius(points: torch.Tensor) -> float:
    """Root-mean-square distance of the points (N, 2) from their mean: the spread of a cloud."""
    x = torch.as_tensor(points).double()
    return float((x - x.mean(0)).pow(2).sum(1).mean().sqrt())


def display_table(df: pd.DataFrame, nowrap: bool = True, precision: int = 3):
    """A table as the book shows it (a pandas Styler, glued as HTML): row labels plain and
    left-aligned, no index name, numbers with ``precision`` decimals, and (with ``nowrap``) value
    cells that never break inside a ``"mean ± half"`` (the page scrolls the table instead)."""
    styles = [
        {"selector": "th.row_heading", "props": "text-align: left; font-weight: normal;"},
        {"selector": "th.col_heading", "props": "text-align: center;"},
        *([{"selector": "td", "props": "white-space: nowrap;"}] if nowrap else []),
        {"selector": "td, th", "props": "padding: 0.15em 0.4em;"},
    ]
    styler = df.rename_axis(index=None, columns=None).style.set_table_styles(styles)
    return styler.format(precision=precision).set_table_attributes('class="dataframe"')


NBSP = "\u00a0"  # a space a table cell never breaks at


def markdown_table(df: pd.DataFrame, precision: int | None = 3, nowrap: bool = True):
    """A table as the book captions it: Markdown (IPython ``Markdown``, glued and shown by
    ``{glue:md}`` with ``:format: myst`` inside a ``{table}`` directive, so that Sphinx numbers it
    as a table), the row labels first, numbers with ``precision`` decimals and right-aligned as
    every column whose cells are all numbers or ``"mean ± half"`` (``precision=None``: each number
    as short as it is, ``24.0`` as ``24``); with ``nowrap``, number cells never break (the page
    scrolls the table instead). The chapters give the ``{table}`` the class ``results`` (the
    book's CSS: 14 px text, tight cells)."""
    from IPython.display import Markdown

    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"df must be a pandas DataFrame, got {type(df).__name__}")

    def text(v) -> str:
        if isinstance(v, float | np.floating):
            return f"{v:g}" if precision is None else f"{v:.{precision}f}"
        return str(v).replace("|", "\\|")

    body = df.map(text)  # (rows, columns) of str
    numeric = [bool(body[c].str.fullmatch(r"[-−–+<\d.,eE%±\s]+").all()) for c in body.columns]
    space, kept = (" ", NBSP) if nowrap else ("± ", f"±{NBSP}")  # no break, or only before ±
    for column, is_number in zip(body.columns, numeric, strict=True):
        if is_number:
            body[column] = body[column].str.replace(space, kept, regex=False)
    body.index = [text(i) for i in df.index]
    header = [text(df.index.name or ""), *map(text, body.columns)]
    rows = [[i, *r] for i, r in zip(body.index, body.to_numpy().tolist(), strict=True)]
    align = [":--", *("--:" if n else ":--" for n in numeric)]
    lines = [header, align, *rows]
    return Markdown("\n".join("| " + " | ".join(line) + " |" for line in lines))
