"""The book's animations: point clouds frame by frame, drift fields over t, as pausable videos.

Scope: drawing and the ``<video>`` element (:mod:`plotting.video` encodes). :func:`render` is the
one frame loop of every animation (also of :func:`particles.sampling_video`); :class:`Timing`
says how long each frame stays. :func:`show` is the notebook output, a ``<video controls muted
loop playsinline>`` (WCAG 2.2.2: the reader can pause any motion) with both encodings inlined as
``data:`` URIs, which ``book/_ext/videos.py`` moves into files ``_videos/<sha256>.mp4|webm``.
"""

import base64
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import video
from .points import Range, as_points, draw_data, draw_field, legend_dot, point_axes, point_size
from .style import COLORS, SAVE_DPI, style
from .video import Video

SIZE = (5.0, 5.0)  # inches of a one-panel animation: 500 x 500 CSS px, 1000 x 1000 device px
AXES_RECT = (0.13, 0.1, 0.84, 0.82)  # left, bottom, width, height: room for labels and title
Setup = Callable[[Figure], Callable[[int], None]]


@dataclass(frozen=True)
class Timing:
    """Seconds per frame (multiples of 1 / ``video.FPS``): ``step`` each; the first frame held
    ``hold_first``, the last ``hold_last``, the ``slow_last`` before it ``slow_step`` each."""

    step: float = 0.1
    hold_first: float = 1.5
    hold_last: float = 2.0
    slow_last: int = 0
    slow_step: float = 0.3

    def durations(self, n: int) -> list[float]:
        if n < 2:
            raise ValueError(f"n: an animation needs at least 2 frames, got {n}")
        if not 0 <= self.slow_last <= n - 2:
            raise ValueError(f"slow_last must lie in 0..{n - 2}, got {self.slow_last}")
        out = [self.step] * n
        out[n - 1 - self.slow_last : n - 1] = [self.slow_step] * self.slow_last
        out[0], out[-1] = max(self.step, self.hold_first), max(self.step, self.hold_last)
        video.repeats(out)  # raises for durations that are not whole video frames
        return out


def render(setup: Setup, n: int, size: tuple[float, float] = SIZE) -> list[np.ndarray]:
    """The one frame loop: n RGB frames (H, W, 3) uint8 of ``size`` inches at ``SAVE_DPI``, on
    an Agg figure pyplot never sees. ``setup(fig)`` draws what every frame shares, once (a layout
    engine runs once; titles it sets only reserve room), and returns ``draw(i)``, which adds
    frame i's artists and titles; they are drawn over that background, then removed."""
    half = [s * SAVE_DPI / 2 for s in size]  # the encoders need even whole pixels
    if len(size) != 2 or any(h < 50 or abs(h - round(h)) > 1e-6 for h in half):
        raise ValueError(f"size (inches) must give even whole pixels >= 100 at {SAVE_DPI} dpi")
    frames = []
    with style():
        fig = Figure(figsize=size, dpi=SAVE_DPI)
        canvas = FigureCanvasAgg(fig)
        draw = setup(fig)
        canvas.draw()  # lays the figure out, with room for the titles setup set
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
            for artist in (a for new in added.values() for a in new):
                artist.remove()
    return frames


def pick(n: int, every: int, dense_last: int = 0) -> list[int]:
    """Frame indices: every ``every``-th, then each of the last ``dense_last`` + 1 (the last)."""
    if every < 1:
        raise ValueError(f"every must be >= 1, got {every}")
    if not 0 <= dense_last < n:
        raise ValueError(f"dense_last must lie in 0..{n - 1}, got {dense_last}")
    return list(range(0, n - 1 - dense_last, every)) + list(range(n - 1 - dense_last, n))


def points_video(frames: Sequence[object], titles: Sequence[str] | None = None,
                 data: object = None, labels: tuple[str, str] | None = None, every: int = 1,
                 timing: Timing = Timing(), size: tuple[float, float] = SIZE,  # noqa: B008
                 ) -> Video:  # fmt: skip
    """Animate point clouds: ``frames`` is a sequence (or (F, N, 2) array) of (N, 2) clouds, drawn
    over ``data``; ``labels`` = (points, data) adds a legend; :func:`pick` chooses the frames."""
    clouds = [as_points(f"frames[{i}]", f) for i, f in enumerate(frames)]
    n = len(clouds)
    if n < 2:
        raise ValueError(f"frames: an animation needs at least 2 frames, got {n}")
    if titles is not None and len(titles) != n:
        raise ValueError(f"titles: need one per frame: {n} frames, {len(titles)} titles")
    picks = pick(n, every, timing.slow_last)
    dot = point_size("samples", min(size))

    def setup(fig: Figure) -> Callable[[int], None]:
        ax = fig.add_axes(AXES_RECT)
        point_axes(ax)
        draw_data(ax, data, min(size))
        if labels is not None:
            kinds = ("samples", "data")[: 1 + (data is not None)]
            handles = [legend_dot(label, COLORS[k], ms=6)
                       for k, label in zip(kinds, labels, strict=False)]
            ax.legend(handles=handles, loc="upper right", handletextpad=0.2)

        def draw(j: int) -> None:
            ax.scatter(*clouds[picks[j]].T, s=dot, color=COLORS["samples"], zorder=3)
            if titles is not None:
                ax.set_title(titles[picks[j]])

        return draw

    return video.encode(render(setup, len(picks), size), timing.durations(len(picks)))


# A sampler's run: 2 steps a frame (0.1 s a step), the last 12, where the dino forms, 1 (0.3 s)
SAMPLING = Timing(step=0.2, hold_first=1.0, hold_last=3.0, slow_last=12, slow_step=0.3)


def samples_video(xs: Sequence[object], timing: Timing = SAMPLING, every: int = 2, **kw) -> Video:
    """A sampler's run x_T, ..., x_0 (e.g. ``protocol.samples``) titled t = T, ..., 0, timed by
    :data:`SAMPLING`; other arguments as for :func:`points_video`."""
    titles = [f"t = {len(xs) - 1 - k}" for k in range(len(xs))]
    return points_video(xs, titles=titles, every=every, timing=timing, **kw)


def forward_noising_video(xs: Sequence[object], alpha_bars: object, **kw) -> Video:
    """The data noised step by step: the T+1 clouds ``xs`` of ``forward.forward_noise_dataset``,
    titled with t and ᾱ_t, over the clean data (held first); else as for :func:`points_video`."""
    T = len(xs) - 1
    ab = np.asarray(alpha_bars, dtype=float)
    if ab.shape != (T,):
        raise ValueError(f"alpha_bars must have shape ({T},) for {T + 1} clouds: {ab.shape}")
    titles = [f"t = {k} / {T},  ᾱ = {a:.2f}" for k, a in enumerate([1.0, *ab])]
    kw = {"data": xs[0], "labels": ("noised points $x_t$", "data $x_0$"),
          "timing": Timing(hold_first=2.0), **kw}  # fmt: skip
    return points_video(xs, titles=titles, **kw)


def drift_field_video(grids: Sequence[np.ndarray], xrange: Range, yrange: Range,
                      data: object = None, timing: Timing = Timing(step=0.2),  # noqa: B008
                      size: tuple[float, float] = SIZE) -> Video:  # fmt: skip
    """The drift fields of ``exact.drift_grids`` (same ranges) at t = T, ..., 1, as sampling visits
    them; arrows rescaled per frame, as in :func:`plotting.drift_quiver`, by the title's factor."""
    steps = list(range(len(grids) - 1, 0, -1))

    def setup(fig: Figure) -> Callable[[int], None]:
        ax = fig.add_axes(AXES_RECT)
        draw_field(ax, grids[steps[0]], xrange, yrange, data)  # the limits: grid and data
        lims = ax.get_xlim(), ax.get_ylim()
        for artist in list(ax.collections):
            artist.remove()  # the field is drawn per frame, over the data drawn once
        draw_data(ax, data, min(size))

        def draw(i: int) -> None:
            factor = draw_field(ax, grids[steps[i]], xrange, yrange)
            ax.set(xlim=lims[0], ylim=lims[1], title=f"t = {steps[i]}  (arrows ×{factor:.2g})")

        return draw

    return video.encode(render(setup, len(steps), size), timing.durations(len(steps)))


def show(clip: Video, alt: str, autoplay: bool = False):
    """The video as a notebook output (``IPython.display.HTML``), at most its CSS size and never
    wider than the column; ``alt`` names what it shows (the accessible name and fallback text)."""
    from IPython.display import HTML

    if not isinstance(clip, Video):
        raise ValueError(f"clip must be a Video, got {type(clip).__name__}")
    if not alt or not alt.strip():
        raise ValueError("alt must describe the animation")
    w, h = clip.css_size
    label = html.escape(" ".join(alt.split()))
    sources = "".join(f'<source src="data:{video.MIME[ext].split(";")[0]};base64,'
                      f'{base64.b64encode(getattr(clip, ext)).decode()}" type="{video.MIME[ext]}">'
                      for ext in video.ENCODERS)  # fmt: skip
    return HTML(
        f'<video class="d2d-video" width="{w}" height="{h}" controls muted loop playsinline'
        f'{" autoplay" if autoplay else ""} preload="metadata" aria-label="{label}" '
        f'style="max-width: 100%; height: auto; display: block; margin: 0 auto">'
        f"{sources}<p>{label}</p></video>"
    )
