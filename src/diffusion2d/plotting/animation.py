"""The book's animations: point clouds frame by frame, drift fields over t, as pausable videos.

Scope: drawing only (:mod:`plotting.video` encodes WebM and MP4 and makes the ``<video>``).
:func:`render` is the one frame loop of every animation, also of
:func:`particles.sampling_video`: what all frames share is drawn once, each frame
adds its own artists, on an Agg figure pyplot never sees, in the book's style at
``plotting.SAVE_DPI`` (a frame w inches wide is shown w * 100 CSS px wide at 2 device px per CSS
px). :class:`Timing` holds the first and last frames and can slow the last steps down.
:func:`points_video` animates (N, 2) clouds (over the data, with arrows by meaning and tails);
:func:`samples_video` a sampler's run x_T ... x_0; :func:`forward_noising_video` the noised data;
:func:`drift_field_video` the fields of ``exact.drift_grids``. :func:`show` is the notebook
output; on the site the video is a file of the built HTML (:func:`video.setup`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from . import video
from .points import LIMITS, arrows, as_points, draw_data, draw_field, point_axes, point_size
from .style import COLORS, CUES, SAVE_DPI, style
from .video import Video

SIZE = (5.0, 5.0)  # inches of a one-panel animation: 500 x 500 CSS px, 1000 x 1000 device px
AXES_RECT = (0.13, 0.1, 0.84, 0.82)  # left, bottom, width, height: room for labels and title
Setup = Callable[[Figure], Callable[[int], None]]


@dataclass(frozen=True)
class Timing:
    """Seconds per frame (multiples of 1 / ``video.FPS``): ``step`` each, the first frame held
    ``hold_first``, the last ``hold_last``, and the ``slow_last`` frames before the last shown
    ``slow_step`` each (where the picture changes most, e.g. the dino forming)."""

    step: float = 0.1
    hold_first: float = 1.5
    hold_last: float = 2.0
    slow_last: int = 0
    slow_step: float = 0.3

    def durations(self, n: int) -> list[float]:
        """The duration of each of ``n`` frames."""
        if n < 2:
            raise ValueError(f"n: an animation needs at least 2 frames, got {n}")
        if not 0 <= self.slow_last <= n - 2:
            raise ValueError(f"slow_last must lie in 0..{n - 2}, got {self.slow_last}")
        out = [self.step] * n
        out[n - 1 - self.slow_last : n - 1] = [self.slow_step] * self.slow_last
        out[0], out[-1] = max(self.step, self.hold_first), max(self.step, self.hold_last)
        video.repeats(out)  # raises for durations that are not whole video frames
        return out


def _pixels(size: tuple[float, float]) -> tuple[int, int]:
    """(W, H) device pixels of a figure ``size`` inches; even and whole, as the encoders need."""
    if len(size) != 2:
        raise ValueError(f"size must be (width, height) in inches, got {size!r}")
    px = tuple(round(s * SAVE_DPI) for s in size)
    if any(p < 100 or p % 2 or abs(p - s * SAVE_DPI) > 1e-6 for p, s in zip(px, size, strict=True)):
        raise ValueError(f"size (inches) must give even whole pixels at {SAVE_DPI} dpi: {size}")
    return px


def render(setup: Setup, n: int, size: tuple[float, float] = SIZE) -> list[np.ndarray]:
    """The one frame loop: n RGB frames (H, W, 3) uint8 of ``size`` inches at ``SAVE_DPI``.

    ``setup(fig)`` draws what every frame shares (axes, limits, data, legend) and returns
    ``draw(i)``, which adds frame i's artists to those axes and sets their titles. The shared
    part is drawn once (a layout engine, e.g. constrained, runs once; titles set by ``setup``
    only reserve room and are then cleared); each frame is that background plus frame i's
    artists and titles (in z-order), which are removed again afterwards.
    """
    _pixels(size)  # even and whole: the encoders check that every frame has this shape
    if n < 2:
        raise ValueError(f"n: an animation needs at least 2 frames, got {n}")
    frames = []
    with style():
        fig = Figure(figsize=size, dpi=SAVE_DPI)
        canvas = FigureCanvasAgg(fig)
        draw = setup(fig)
        canvas.draw()  # lays the figure out, with room for the titles setup set
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")  # keep that layout for every frame
        for ax in fig.axes:
            ax.set_title("")
        canvas.draw()
        background = canvas.copy_from_bbox(fig.bbox)
        for i in range(n):
            canvas.restore_region(background)
            before = {ax: set(ax.get_children()) for ax in fig.axes}
            draw(i)
            added = {ax: [a for a in ax.get_children() if a not in before[ax]] for ax in fig.axes}
            for ax, new in added.items():
                for artist in sorted(new + [ax.title], key=lambda a: a.get_zorder()):
                    ax.draw_artist(artist)
            frames.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
            for new in added.values():
                for artist in new:
                    artist.remove()
    return frames


def marker(kind: str, label: str) -> Line2D:
    """A legend entry for points of one meaning (its colour and marker)."""
    return Line2D([], [], ls="", ms=6, color=COLORS[kind], label=label,
                  **{"marker": "o", **CUES.get(kind, {})})  # fmt: skip


def pick(n: int, every: int, dense_last: int = 0) -> list[int]:
    """Frame indices: every ``every``-th, then each of the last ``dense_last`` + 1 (so always
    ending with the last one)."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    if not 0 <= dense_last < n:
        raise ValueError(f"dense_last must lie in 0..{n - 1}, got {dense_last}")
    return list(range(0, n - 1 - dense_last, every)) + list(range(n - 1 - dense_last, n))


def _arrow_frames(arrows_by_kind, clouds: list[np.ndarray]) -> dict[str, list[np.ndarray]]:
    n, vecs = len(clouds), {}
    for k, seq in (arrows_by_kind or {}).items():
        if k not in COLORS:
            raise ValueError(f"arrows_by_kind: unknown kind {k!r}; choose from {list(COLORS)}")
        if len(seq) != n:
            raise ValueError(f"arrows_by_kind[{k!r}] has {len(seq)} entries for {n} frames")
        vecs[k] = [as_points(f"arrows_by_kind[{k!r}][{i}]", v) for i, v in enumerate(seq)]
        for i, (v, c) in enumerate(zip(vecs[k], clouds, strict=True)):
            if v.shape != c.shape:
                raise ValueError(f"arrows_by_kind[{k!r}][{i}] has shape {v.shape}, frame {c.shape}")
    return vecs


def points_video(
    frames: Sequence[object],
    titles: Sequence[str] | None = None,
    arrows_by_kind: Mapping[str, Sequence[object]] | None = None,
    arrow_scale: float = 1.0,
    data: object = None,
    kind: str = "samples",
    labels: tuple[str, str] | None = None,
    tail: int = 0,
    every: int = 1,
    timing: Timing = Timing(),  # noqa: B008 - frozen dataclass
    dot: float | None = None,
    lim: tuple[float, float] = LIMITS,
    size: tuple[float, float] = SIZE,
) -> Video:
    """Animate point clouds: ``frames`` is a sequence (or (F, N, 2) array) of (N, 2) clouds.

    ``arrows_by_kind`` maps a meaning of :data:`plotting.COLORS` (e.g. ``"noise"``,
    ``"pred_noise"``) to one (N, 2) array of vectors per frame, drawn from that frame's points
    times ``arrow_scale``. ``data`` is drawn beneath (grey dots); ``labels`` = (points, data)
    adds a legend; ``tail`` > 0 draws each point's path over that many previous frames (needs
    the same N in every frame); ``every`` keeps every k-th frame (and the last); ``dot`` is the
    marker area in pt² (default: the book's size for samples in a panel this large).
    """
    clouds = [as_points(f"frames[{i}]", f) for i, f in enumerate(frames)]
    n = len(clouds)
    if n < 2:
        raise ValueError(f"frames: an animation needs at least 2 frames, got {n}")
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles: need one per frame: {n} frames, {len(titles)} titles")
    if kind not in COLORS:
        raise ValueError(f"kind {kind!r} unknown; choose one of {', '.join(COLORS)}")
    vecs = _arrow_frames(arrows_by_kind, clouds)
    if tail and len({c.shape for c in clouds}) != 1:
        raise ValueError("tail needs the same number of points in every frame")
    back = None if data is None else as_points("data", data)
    picks = pick(n, every)
    side = min(size)
    dot = point_size("samples", side) if dot is None else float(dot)

    def setup(fig: Figure) -> Callable[[int], None]:
        ax = fig.add_axes(AXES_RECT)
        point_axes(ax, lim)
        if back is not None:
            draw_data(ax, back, side)
        if labels is not None:
            handles = [marker(kind, labels[0])] + ([marker("data", labels[1])] if back is not None
                                                   else [])  # fmt: skip
            ax.legend(handles=handles, loc="upper right", handletextpad=0.2)

        def draw(j: int) -> None:
            i = picks[j]
            if tail:
                path_pts = np.stack(clouds[max(0, i - tail) : i + 1], axis=1)  # (N, L, 2)
                ax.add_collection(LineCollection(path_pts, colors=COLORS[kind], alpha=0.3,
                                                 linewidths=0.7, zorder=2))  # fmt: skip
            c = clouds[i]
            ax.scatter(*c.T, s=dot, color=COLORS[kind], zorder=3)
            for k, seq in vecs.items():
                arrows(ax, c, seq[i] * arrow_scale, k)
            if titles is not None:
                ax.set_title(titles[i])

        return draw

    return video.encode(render(setup, len(picks), size), timing.durations(len(picks)))


# A sampler's run: early steps two at a time (0.1 s per step), the last 12, where the dino forms,
# one at a time and slower (0.3 s per step), x_0 held.
SAMPLING = Timing(step=0.2, hold_first=1.0, hold_last=3.0, slow_last=12, slow_step=0.3)


def samples_video(xs: Sequence[object], timing: Timing = SAMPLING, every: int = 2, **kw) -> Video:
    """A sampler's run x_T, ..., x_0 (e.g. ``protocol.samples``) as points titled t = T, ..., 0:
    every ``every``-th step at first, then each of the last ``timing.slow_last`` steps (where
    the dino forms), slower, and x_0 held (:data:`SAMPLING`). Extra arguments go to
    :func:`points_video`."""
    T = len(xs) - 1
    picks = pick(T + 1, every, timing.slow_last)
    titles = [f"t = {T - k}" for k in picks]
    return points_video([xs[k] for k in picks], titles=titles, timing=timing, **kw)


def forward_noising_video(
    xs: Sequence[object],
    alpha_bars: object = None,
    timing: Timing = Timing(hold_first=2.0),  # noqa: B008 - frozen dataclass
    **kw,
) -> Video:
    """The data noised step by step: ``xs`` is the list of T+1 clouds of
    ``forward.forward_noise_dataset`` (element k after k steps), drawn as blue points over the
    clean data (grey); the first frame, the clean dino, is held. Extra arguments go to
    :func:`points_video`."""
    ab = None if alpha_bars is None else np.asarray(alpha_bars, dtype=float)
    T = len(xs) - 1
    if ab is not None and ab.shape != (T,):
        raise ValueError(f"alpha_bars must have shape ({T},) for {T + 1} clouds, got {ab.shape}")
    titles = [
        f"t = {k} / {T}" + ("" if ab is None else f",  ᾱ = {1.0 if k == 0 else ab[k - 1]:.2f}")
        for k in range(T + 1)
    ]
    kw.setdefault("data", xs[0])
    kw.setdefault("labels", ("noised points $x_t$", "data $x_0$"))
    return points_video(xs, titles=titles, timing=timing, **kw)


def drift_field_video(
    grids: Sequence[np.ndarray],
    data: object = None,
    steps: Sequence[int] | None = None,
    xrange: tuple[float, float, float] = (-2, 2, 0.15),
    yrange: tuple[float, float, float] = (-2, 2, 0.15),
    timing: Timing = Timing(step=0.2),  # noqa: B008 - frozen dataclass
    size: tuple[float, float] = SIZE,
) -> Video:
    """The drift fields of ``exact.drift_grids`` (same ranges) at ``steps`` (default T, ..., 1:
    the order in which sampling visits them). Arrows are rescaled per frame, as in
    :func:`plotting.drift_quiver`; the title gives the factor."""
    steps = list(range(len(grids) - 1, 0, -1)) if steps is None else list(steps)
    for k in steps:
        if not 0 < k < len(grids):
            raise ValueError(f"steps: step {k} outside 1..{len(grids) - 1}")

    def setup(fig: Figure) -> Callable[[int], None]:
        ax = fig.add_axes(AXES_RECT)
        draw_field(ax, grids[steps[0]], xrange, yrange, data)  # the limits: grid and data
        lims = ax.get_xlim(), ax.get_ylim()
        for artist in list(ax.collections):
            artist.remove()  # the field is drawn per frame, over the data drawn once
        if data is not None:
            draw_data(ax, data, min(size))

        def draw(i: int) -> None:
            factor = draw_field(ax, grids[steps[i]], xrange, yrange)
            ax.set_xlim(*lims[0])
            ax.set_ylim(*lims[1])
            ax.set_title(f"t = {steps[i]}  (arrows ×{factor:.2g})")

        return draw

    return video.encode(render(setup, len(steps), size), timing.durations(len(steps)))


def show(clip: Video, alt: str, autoplay: bool = False):
    """The video as a notebook output (the last line of a cell): ``<video controls>`` with both
    encodings; ``alt`` describes it for screen readers. See :func:`video.html`."""
    from IPython.display import HTML

    return HTML(video.html(clip, alt, autoplay=autoplay))
