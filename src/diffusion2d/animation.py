"""Small animated GIFs for the book: point clouds frame by frame, and drift fields over t.

Scope: rendering only. Frames are drawn with matplotlib's Agg canvas on a figure that pyplot never
sees (so a notebook does not also show a stray still image), then written with Pillow using one
shared palette of few colours, no dithering and a longer last frame. At the default size (about
220 x 220 pixels) a 51-frame GIF takes about a second and a few hundred kilobytes.

- :func:`points_gif`: any sequence of (N, 2) clouds, optionally with arrows per frame (coloured by
  kind: ``"noise"`` red, ``"pred_noise"`` blue, ...) and trajectory tails;
- :func:`forward_noising_gif`: the data noised step by step (``forward.forward_noise_dataset``);
- :func:`drift_field_gif`: the fields of ``exact.drift_grids``;
- :func:`show`: embed a GIF in a notebook output (myst-nb copies it into the built page).

An output folder this module creates gets a ``.gitignore`` containing ``*``: nothing generated is
committed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from PIL import Image

from .plotting import COLORS, LIMITS, QUIVER, as_points, draw_field, point_axes, style

GIF_DPI = 64
GIF_SIZE = 3.4  # inches: GIF_SIZE * GIF_DPI pixels square
AXES_RECT = (0.15, 0.14, 0.8, 0.76)  # left, bottom, width, height: room for labels and title


def output_path(path: str | Path) -> Path:
    """Create the parent folder if needed (with a ``.gitignore`` of ``*``) and return the path."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"path must end in .gif, got {path}")
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
        (path.parent / ".gitignore").write_text("*\n")
    return path


def write_gif(
    frames: Sequence[np.ndarray],
    path: str | Path,
    fps: float = 10,
    hold_last: float = 1.5,
    colors: int = 24,
) -> Path:
    """Write RGB frames (H, W, 3) uint8 as a looping GIF with one shared palette; return path."""
    if len(frames) < 2:
        raise ValueError(f"an animation needs at least 2 frames, got {len(frames)}")
    path = output_path(path)
    images = [Image.fromarray(np.ascontiguousarray(f)) for f in frames]
    picks = np.linspace(0, len(images) - 1, min(len(images), 6)).round().astype(int)
    montage = np.concatenate([np.asarray(images[i]) for i in picks], axis=0)
    palette = Image.fromarray(montage).quantize(colors, method=Image.Quantize.MEDIANCUT)
    quantized = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
    durations = [round(1000 / fps)] * (len(quantized) - 1) + [round(1000 * hold_last)]
    quantized[0].save(
        path, save_all=True, append_images=quantized[1:], duration=durations, loop=0, optimize=False
    )
    return path


def _figure(size: float, dpi: int) -> tuple[Figure, FigureCanvasAgg]:
    with style():
        fig = Figure(figsize=(size, size), dpi=dpi)
        return fig, FigureCanvasAgg(fig)


def _grab(canvas: FigureCanvasAgg) -> np.ndarray:
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _pick(n: int, every: int) -> list[int]:
    """Every ``every``-th frame index, always ending with the last one."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    idx = list(range(0, n, every))
    return idx if idx[-1] == n - 1 else idx + [n - 1]


def points_gif(
    frames: Sequence[object],
    path: str | Path,
    titles: Sequence[str] | None = None,
    arrows: Mapping[str, Sequence[object]] | None = None,
    arrow_scale: float = 1.0,
    data: object = None,
    kind: str = "samples",
    tail: int = 0,
    every: int = 1,
    fps: float = 10,
    lim: tuple[float, float] = LIMITS,
    dpi: int = GIF_DPI,
    size: float = GIF_SIZE,
) -> Path:
    """Animate point clouds: ``frames`` is a sequence (or (F, N, 2) array) of (N, 2) clouds.

    ``arrows`` maps a colour kind of :data:`plotting.COLORS` (e.g. ``"noise"``, ``"pred_noise"``)
    to one (N, 2) array of vectors per frame, drawn from that frame's points times ``arrow_scale``.
    ``data`` is drawn faintly behind; ``tail`` > 0 draws each point's path over that many previous
    frames (needs the same N in every frame); ``every`` keeps every k-th frame (and the last).
    """
    clouds = [as_points(f"frames[{i}]", f) for i, f in enumerate(frames)]
    n = len(clouds)
    if n < 2:
        raise ValueError(f"an animation needs at least 2 frames, got {n}")
    if titles is not None and len(titles) != n:
        raise ValueError(f"need one title per frame: {n} frames, {len(titles)} titles")
    vecs: dict[str, list[np.ndarray]] = {}
    for k, seq in (arrows or {}).items():
        if k not in COLORS:
            raise ValueError(f"unknown arrow kind {k!r}; choose one of {', '.join(COLORS)}")
        if len(seq) != n:
            raise ValueError(f"arrows[{k!r}] has {len(seq)} entries for {n} frames")
        vecs[k] = [as_points(f"arrows[{k!r}][{i}]", v) for i, v in enumerate(seq)]
        for i, (v, c) in enumerate(zip(vecs[k], clouds, strict=True)):
            if v.shape != c.shape:
                raise ValueError(f"arrows[{k!r}][{i}] has shape {v.shape}, frame has {c.shape}")
    if tail and len({c.shape for c in clouds}) != 1:
        raise ValueError("tail needs the same number of points in every frame")
    back = None if data is None else as_points("data", data)

    fig, canvas = _figure(size, dpi)
    with style():
        ax = fig.add_axes(AXES_RECT)
        out = []
        for i in _pick(n, every):
            ax.cla()
            if back is not None:
                ax.scatter(back[:, 0], back[:, 1], s=5, color=COLORS["data"], alpha=0.3)
            if tail:
                path_pts = np.stack(clouds[max(0, i - tail) : i + 1], axis=1)  # (N, L, 2)
                ax.add_collection(
                    LineCollection(path_pts, colors=COLORS[kind], alpha=0.3, linewidths=0.6)
                )
            c = clouds[i]
            ax.scatter(c[:, 0], c[:, 1], s=4, color=COLORS[kind])
            for k, seq in vecs.items():
                v = seq[i] * arrow_scale
                ax.quiver(*c.T, *v.T, color=COLORS[k], width=0.005, headwidth=3, **QUIVER)
            point_axes(ax, lim)
            if titles is not None:
                ax.set_title(titles[i])
            out.append(_grab(canvas))
    return write_gif(out, path, fps=fps)


def forward_noising_gif(
    xs: Sequence[object], path: str | Path, alpha_bars: object = None, **kwargs
) -> Path:
    """The data noised step by step: ``xs`` is the list of T+1 clouds of
    ``forward.forward_noise_dataset`` (element k after k steps). Extra arguments go to
    :func:`points_gif`."""
    ab = None if alpha_bars is None else np.asarray(alpha_bars, dtype=float)
    T = len(xs) - 1
    titles = [
        f"t = {k} / {T}" + ("" if ab is None else f",  ᾱ = {1.0 if k == 0 else ab[k - 1]:.2f}")
        for k in range(T + 1)
    ]
    kwargs.setdefault("kind", "data")
    return points_gif(xs, path, titles=titles, **kwargs)


def drift_field_gif(
    grids: Sequence[np.ndarray],
    path: str | Path,
    data: object = None,
    steps: Sequence[int] | None = None,
    xrange: tuple[float, float, float] = (-2, 2, 0.15),
    yrange: tuple[float, float, float] = (-2, 2, 0.15),
    fps: float = 8,
    dpi: int = GIF_DPI,
    size: float = GIF_SIZE,
) -> Path:
    """The drift fields of ``exact.drift_grids`` (same ranges) at ``steps`` (default T, ..., 1:
    the order in which sampling visits them). Arrows are rescaled per frame, as in
    :func:`plotting.drift_quiver`; the title gives the factor."""
    steps = list(range(len(grids) - 1, 0, -1)) if steps is None else list(steps)
    for k in steps:
        if not 0 < k < len(grids):
            raise ValueError(f"step {k} outside 1..{len(grids) - 1}")
    fig, canvas = _figure(size, dpi)
    out = []
    with style():
        ax = fig.add_axes(AXES_RECT)
        for k in steps:
            ax.cla()
            factor = draw_field(ax, grids[k], xrange, yrange, data)
            ax.set_title(f"t = {k}  (arrows ×{factor:.2g})")
            out.append(_grab(canvas))
    return write_gif(out, path, fps=fps)


def show(path: str | Path, width: int | None = None):
    """An ``IPython.display.Image`` embedding the GIF (the last line of a notebook cell)."""
    from IPython.display import Image as IPyImage

    return IPyImage(filename=str(path), width=width)
