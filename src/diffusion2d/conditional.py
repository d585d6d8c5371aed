"""Per-shape sample quality of a class-conditional model under classifier-free guidance.

Scope: the book's one evaluation protocol (:mod:`protocol`) applied class by class, for the
chapter on guidance. For each protocol seed s, :func:`samples` draws ``protocol.num_samples``
points of one Datasaurus shape y at one guidance scale (``torch.Generator().manual_seed(s)``:
every shape and scale of a seed starts from the same x_T) with ``samplers.sample(..., y=shape,
guidance_scale=...)``: Ho & Salimans 2022, eq. 6, written with ``guidance_scale`` = 1 + w of the
paper (0: the unconditional model, 1: the conditional one; at 0 the label is never read, so one
run per seed serves every shape). :func:`evaluate` scores each run's x_0
with ``protocol.scores`` against that shape's own part of the split the model saw
(:func:`references`; ``training.split_for`` splits each shape alike, so a shape's part is the
split a model of that shape alone sees). Precision-like: ``nn_mean``, the mean distance from a
sample to the nearest point of the shape; coverage-like: ``train_coverage`` and
``heldout_coverage``, the mean distance from a point of the shape to the nearest sample. To keep
a sweep cheap, MMD² (nearly all the time of a score) and the per-step Chamfer distance are not
computed. Results are cached per (shape, scale), keyed by the model's weights, the shape, the
scale, the sampler, the protocol, the reference and the code; :func:`sweep` runs a grid of shapes
and scales, :func:`mean_over_shapes` averages a scale's shapes seed by seed, :func:`versus`
compares two scales shape by shape (``protocol.compare``) and :func:`table` prints a metric as
"mean ± half-width", a row per shape; :func:`means` prints the means over the shapes, a row per
metric, :func:`measures` several results, a row per metric in one format each, and :func:`ratio`
divides two results seed by seed (e.g. few sampling steps against all of them). :func:`samples`
also runs with one's own guided prediction (the exercise's ``guided_eps``).
"""

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .cache import cached, model_digest, result_key
from .data import ALL, SHAPES, class_labels
from .exact import ExactConditional
from .guidance import Guided, check_scale, labels
from .protocol import EVALUATION_MODULES as PROTOCOL_MODULES
from .protocol import (
    METRICS,
    PROTOCOL,
    Protocol,
    Reference,
    _frame,
    cell,
    compare,
    format_interval,
    interval,
    scores,
)
from .samplers import SAMPLERS, sample
from .stats import decimals
from .training import TrainConfig, split_for

# the modules whose code determines a result here (besides the model's weights)
EVALUATION_MODULES = (*PROTOCOL_MODULES, "conditional.py", "guidance.py")
Results = Mapping[tuple[str, float], pd.DataFrame]  # (shape, guidance_scale) -> protocol rows


def references(config: TrainConfig, data: torch.Tensor | None = None) -> dict[str, Reference]:
    """``{shape: Reference}``: each shape's part of the split a model trained with ``config``
    (``dataset="all"``) saw, in the order of ``data.SHAPES``."""
    if config.dataset != ALL:
        raise ValueError(f"config must be a class-conditional config (dataset={ALL!r}), got "
                         f"dataset={config.dataset!r}")
    train, heldout = split_for(config, data)  # (13 M_train, 2), (13 M_heldout, 2), shape by shape
    k = len(SHAPES)
    return {shape: Reference(a, b) for shape, a, b in
            zip(SHAPES, train.chunk(k), heldout.chunk(k), strict=True)}


def exact_conditional(config: TrainConfig, data: torch.Tensor | None = None) -> ExactConditional:
    """The exact class-conditional denoiser (``exact.ExactConditional``) of the training points a
    model trained with ``config`` saw, on its (linear) schedule: at scale 1 it copies them."""
    references(config, data)  # checks the config
    if config.schedule != "linear":
        raise ValueError(f"config.schedule must be 'linear' for the exact denoiser, got "
                         f"{config.schedule!r}")
    train, _ = split_for(config, data)  # (13 M_train, 2)
    return ExactConditional(train, class_labels(train), config.beta_min, config.beta_max, config.T)


def _check(model, shape: object, guidance_scale: object, sampler: object) -> float:
    """The scale as a float, after checking the arguments (errors name them)."""
    k = getattr(model, "num_classes", None)
    if k != len(SHAPES):
        raise ValueError(f"model must be class-conditional with one class per Datasaurus shape "
                         f"(num_classes={len(SHAPES)}), got num_classes={k!r}")
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}; got {shape!r}")
    scale = check_scale(guidance_scale)
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    return scale


class _Yours(Guided):
    """:class:`guidance.Guided` with a guided prediction ``fn(model, xt, t, y, guidance_scale)``
    of one's own (the exercise's ``guided_eps``) in place of the library's; y the labels (N,)."""

    def __init__(self, fn, model, y: str, guidance_scale: float, n: int):
        super().__init__(model, y, guidance_scale)
        self.fn, self.prediction = fn, "eps"  # fn gives eps: x_0 from it (DDIM eq. 12)
        self.labels = labels(model, y, n)  # (N,) torch.long

    def __call__(self, xt: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        eps = self.fn(self.model, xt, t, self.labels, self.guidance_scale)
        if not isinstance(eps, torch.Tensor) or eps.shape != xt.shape:
            raise ValueError(f"guided_eps must return a tensor of shape {tuple(xt.shape)}, got "
                             f"{getattr(eps, 'shape', type(eps).__name__)}")
        return eps


def samples(model, seed: int, shape: str, guidance_scale: float, sampler: str = "ddim",
            num_steps: int | None = None, protocol: Protocol = PROTOCOL,
            guided_eps=None) -> list[torch.Tensor]:
    """The whole run of one protocol seed for one shape, x_T first and x_0 last (each
    (num_samples, 2)): what :func:`evaluate` scores, so figures drawn from it show the numbers.
    ``guided_eps(model, xt, t, y, guidance_scale)``: one's own guided prediction (the exercise's)
    in place of :func:`guidance.guided_eps`; a right one gives the same run."""
    scale = _check(model, shape, guidance_scale, sampler)
    generator = torch.Generator().manual_seed(seed)
    if guided_eps is None:
        return sample(protocol.num_samples, model, sampler, generator, num_steps, y=shape,
                      guidance_scale=scale)
    if not callable(guided_eps):
        raise ValueError(f"guided_eps must be a function (model, xt, t, y, guidance_scale), got "
                         f"{type(guided_eps).__name__}")
    yours = _Yours(guided_eps, model, shape, scale, protocol.num_samples)
    return sample(protocol.num_samples, yours, sampler, generator, num_steps)


_UNCONDITIONAL: dict[tuple, torch.Tensor] = {}  # x_0 of scale-0 runs: the same for every shape


def _final(model, seed: int, shape: str, scale: float, sampler: str, num_steps: int | None,
           protocol: Protocol) -> torch.Tensor:
    """x_0 (num_samples, 2) of :func:`samples`; at scale 0 (the unconditional model, which never
    reads the label) one run per seed serves every shape."""
    if scale:
        return samples(model, seed, shape, scale, sampler, num_steps, protocol)[-1]
    key = (model_digest(model), seed, sampler, num_steps, protocol)
    if key not in _UNCONDITIONAL:
        if len(_UNCONDITIONAL) >= 32:
            _UNCONDITIONAL.clear()
        _UNCONDITIONAL[key] = samples(model, seed, shape, 0.0, sampler, num_steps, protocol)[-1]
    return _UNCONDITIONAL[key]


def _key(model, ref: Reference, shape: str, scale: float, sampler: str, num_steps: int | None,
         protocol: Protocol) -> str:
    return result_key(EVALUATION_MODULES, model=model_digest(model), shape=shape,
                      guidance_scale=scale, sampler=sampler, num_steps=num_steps,
                      reference=ref.digest(), protocol=dataclasses.asdict(protocol))


def evaluate(model, ref: Reference, shape: str, guidance_scale: float, sampler: str = "ddim",
             num_steps: int | None = None, protocol: Protocol = PROTOCOL) -> pd.DataFrame:
    """Score ``shape`` sampled at ``guidance_scale`` under the protocol: one row per seed, one
    column per metric of ``protocol.METRICS`` but MMD²; ``df.attrs["samples"]`` holds the x_0
    (num_samples, 2) of the first seed, to draw."""
    scale = _check(model, shape, guidance_scale, sampler)
    if not isinstance(ref, Reference):
        raise ValueError(f"ref must be a protocol.Reference (references(config)[shape]), got "
                         f"{type(ref).__name__}")

    def run() -> dict:
        rows, first = [], None
        for seed in protocol.seeds:
            x0 = _final(model, seed, shape, scale, sampler, num_steps, protocol)  # (N, 2)
            rows.append({m: v for m, v in scores(x0, ref, protocol, mmd=False).items()
                         if v is not None})
            first = x0 if first is None else first
        return {"rows": rows, "samples": first}

    result = cached(_key(model, ref, shape, scale, sampler, num_steps, protocol), run)
    return _frame(result["rows"], protocol, samples=result["samples"], shape=shape,
                  guidance_scale=scale)


def sweep(model, refs: Mapping[str, Reference], scales: Iterable[float],
          shapes: Sequence[str] = SHAPES, sampler: str = "ddim", num_steps: int | None = None,
          protocol: Protocol = PROTOCOL) -> dict[tuple[str, float], pd.DataFrame]:
    """:func:`evaluate` for every shape of ``shapes`` at every scale of ``scales``, keyed
    ``(shape, scale)``; ``refs`` maps each shape to its reference (:func:`references`)."""
    missing = [shape for shape in shapes if shape not in refs]
    if missing:
        raise ValueError(f"refs has no reference for the shape(s) {', '.join(map(str, missing))}")
    return {(shape, float(s)): evaluate(model, refs[shape], shape, s, sampler, num_steps,
                                        protocol)
            for s in scales for shape in shapes}


def _at(results: Results, guidance_scale: float, shapes: Iterable[str] | None) -> list:
    """``[(shape, rows)]`` of ``results`` at one scale, for ``shapes`` (default: all of them)."""
    found = [(shape, df) for (shape, s), df in results.items() if s == float(guidance_scale)
             and (shapes is None or shape in shapes)]
    if not found:
        raise ValueError(f"results hold no shape at guidance_scale={guidance_scale!r}")
    return found


def mean_over_shapes(results: Results, guidance_scale: float,
                     shapes: Iterable[str] | None = None) -> pd.DataFrame:
    """Protocol rows of the mean over ``shapes`` (default: every shape in ``results`` at that
    scale): seed by seed, each metric averaged over the shapes, so that ``protocol.interval``
    gives the interval of the mean and ``protocol.compare`` compares two such means."""
    frames = [df for _, df in _at(results, guidance_scale, shapes)]
    first = frames[0]
    if any(not df.index.equals(first.index) for df in frames):
        raise ValueError("results must share the protocol's seeds to be averaged")
    values = np.mean([df[first.columns].to_numpy() for df in frames], axis=0)  # (seeds, metrics)
    out = pd.DataFrame(values, index=first.index, columns=first.columns)
    out.attrs.update(confidence=first.attrs.get("confidence", 0.95), shapes=len(frames))
    return out


def versus(results: Results, a: float, b: float, metric: str,
           shapes: Iterable[str] | None = None) -> pd.Series:
    """Per shape, ``protocol.compare`` of scale ``a`` against scale ``b`` on ``metric``: -1 where
    ``a`` is lower with non-overlapping intervals, +1 where higher, 0 where they overlap."""
    at_b = dict(_at(results, b, shapes))
    return pd.Series({shape: compare(df, at_b[shape], metric)
                      for shape, df in _at(results, a, shapes) if shape in at_b}, dtype=int)


def table(results: Results, metric: str, scales: Sequence[float],
          shapes: Sequence[str] = SHAPES, mean: str = "mean") -> pd.DataFrame:
    """``metric`` as ``"mean ± half-width"``: a row per shape and a last row ``mean`` (the mean
    over the shapes, :func:`mean_over_shapes`), a column per scale, headed ``s = <scale>``."""
    columns = {}
    for s in scales:
        by_shape = dict(_at(results, s, shapes))
        cells = [cell(by_shape[shape], metric) for shape in shapes]
        columns[f"s\u00a0=\u00a0{float(s):g}"] = cells + [
            cell(mean_over_shapes(results, s, shapes), metric)]
    return pd.DataFrame(columns, index=pd.Index([*shapes, mean], name=""))


def means(results: Results, metrics: Sequence[str], scales: Sequence[float],
          shapes: Sequence[str] | None = None) -> pd.DataFrame:
    """The mean over the shapes (:func:`mean_over_shapes`) of each of ``metrics`` (a row each,
    named as in ``protocol.METRICS``) at each scale (a column, ``s = <scale>``), as
    ``"mean ± half-width"``."""
    rows = {METRICS[m][0]: [cell(mean_over_shapes(results, s, shapes), m) for s in scales]
            for m in metrics}
    return pd.DataFrame(rows, index=[f"s\u00a0=\u00a0{float(s):g}" for s in scales]).T


def ratio(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Protocol rows of ``a / b``, seed by seed, for the metrics both hold (e.g. the same means
    over the shapes sampled two ways): ``protocol.interval`` then gives the ratio's interval."""
    if not a.index.equals(b.index):
        raise ValueError("a and b must hold the same seeds (protocol rows of one protocol)")
    columns = [c for c in a.columns if c in b.columns]
    out = a[columns] / b[columns]  # (seeds, metrics)
    out.attrs.update(confidence=a.attrs.get("confidence", 0.95))
    return out


def _shown(mean: float, half: float, places: int, percent: bool) -> str:
    """One cell of :func:`measures`: ``protocol.format_interval``'s text, or for a mean below 1e-3
    the text with ``places`` decimals."""
    if not 0 < abs(mean) < 1e-3:
        return format_interval(mean, half, percent)
    scale, unit = (100, "%") if percent else (1, "")
    least = f"<{10.0**-places:.{places}f}{unit}"
    if not (round(scale * mean, places) or round(scale * half, places)):
        return least

    def text(v: float) -> str:
        return f"{scale * v:.{places}f}{unit}" if round(scale * v, places) else least

    return f"{text(mean)} ± {text(half)}"


def measures(results: Mapping[str, pd.DataFrame], metrics: Sequence[str],
             percent: Sequence[str] = ("frac_copies", "frac_close")) -> pd.DataFrame:
    """A row per metric (named as in ``protocol.METRICS``), a column per result: ``"mean ±
    half-width"`` as ``protocol.format_interval`` prints it, so as the prose's glue does; the
    shares of ``percent`` in percent. A mean below 1e-3, which that would print in scientific
    notation, takes instead the decimals the rest of its row needs: a number below the last
    decimal prints as ``"<0.0001"``, a cell whose mean and half-width both are, as that."""
    table = {}
    for m in metrics:
        cells = [interval(df, m) for df in results.values()]  # (mean, low, high) each
        cells = [(mean, (hi - lo) / 2) for mean, lo, hi in cells]
        places = max(decimals(half, m in percent) for _, half in cells)
        table[METRICS[m][0]] = [_shown(mean, half, places, m in percent) for mean, half in cells]
    return pd.DataFrame(table, index=pd.Index(list(results), name="")).T
