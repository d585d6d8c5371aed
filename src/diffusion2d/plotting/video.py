"""Short videos readers can pause: encoding, the HTML a page shows, and the files of the site.

Scope: no drawing (frames come from :mod:`plotting.animation`). :func:`encode` pipes RGB
frames into the ffmpeg binary of the PyPI package ``imageio-ffmpeg`` and returns a :class:`Video`
holding two encodings of the same frames: MP4/H.264, offered first (Chrome, Safari, Edge, Firefox
with the system's codecs; sharper than VP9 at the same size on these frames), and WebM/VP9 for
browsers without H.264 (e.g. Chromium or Firefox builds without it). Frames are shown for whole
multiples of 1 / :data:`FPS` s; a longer duration (a held first or last frame) repeats the frame,
which costs the encoders almost nothing.

:func:`html` is the ``<video controls muted loop playsinline>`` element (WCAG 2.2.2: the reader
can pause any motion), both encodings inlined as ``data:`` URIs, so a notebook shows it as it is
and the execution cache holds it. On the site, the book's Sphinx extension
``book/_ext/videos.py`` moves each inlined encoding into a file ``_videos/<sha256>.webm|mp4`` of
the built HTML and points the page at it: the video is served from the site, nothing is written
into the source tree, and a browser fetches only the one encoding it plays. :func:`probe` reads
a file back (codec, size, frames).
"""

from __future__ import annotations

import base64
import html as html_escape
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .style import DPI, SAVE_DPI

FPS = 10  # frames per second of every video: durations are multiples of 0.1 s
# fmt: off
# Constant quality, tuned on the book's frames (white background, thin lines): VP9 in constant-
# quality mode (b:v 0) at libvpx's fast "realtime" setting, H.264 with the "animation" tuning;
# both in yuv420p, tagged BT.709 (browsers decode the colours matplotlib drew), deterministic
# (bitexact: no muxing date), so the same frames give the same files.
COLOR = ["-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
         "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]
ENCODERS = {  # in the order of the <source>s: a browser plays the first it can
    "mp4": ["-c:v", "libx264", "-preset", "medium", "-crf", "33", "-tune", "animation",
            "-profile:v", "high", "-g", "100", "-movflags", "+faststart"],
    "webm": ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "42", "-deadline", "realtime",
             "-cpu-used", "6", "-row-mt", "1", "-g", "100", "-fflags", "+bitexact"],
}
MIME = {"mp4": "video/mp4", "webm": "video/webm; codecs=vp9"}
# fmt: on


@dataclass(frozen=True)
class Video:
    """One animation in both encodings, with what it shows when.

    ``width`` and ``height`` are device pixels (CSS size: :attr:`css_size`); ``durations`` are
    the seconds each drawn frame stays on screen, holds included (each a multiple of 1 / fps).
    """

    mp4: bytes
    webm: bytes
    width: int
    height: int
    durations: tuple[float, ...]
    fps: int = FPS

    @property
    def css_size(self) -> tuple[int, int]:
        """The logical size (CSS px): frames are drawn at ``SAVE_DPI``, shown at ``DPI``."""
        return round(self.width * DPI / SAVE_DPI), round(self.height * DPI / SAVE_DPI)

    @property
    def duration(self) -> float:
        """Seconds of one loop."""
        return sum(self.durations)

    def save(self, stem: str | Path) -> dict[str, Path]:
        """Write ``<stem>.webm`` and ``<stem>.mp4`` (parents created); return both paths."""
        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        paths = {}
        for ext in ENCODERS:
            paths[ext] = stem.with_name(f"{stem.name}.{ext}")
            paths[ext].write_bytes(getattr(self, ext))
        return paths


def repeats(durations: Sequence[float], fps: int = FPS) -> list[int]:
    """How many video frames show each drawn frame: ``durations`` (s) in whole 1 / fps steps."""
    out = []
    for i, d in enumerate(durations):
        n = round(float(d) * fps)
        if n < 1 or abs(n - float(d) * fps) > 1e-6:
            raise ValueError(f"durations[{i}] = {d} must be a positive multiple of 1/{fps} s")
        out.append(n)
    return out


def _ffmpeg() -> str:
    import imageio_ffmpeg  # only needed when a video is encoded

    return imageio_ffmpeg.get_ffmpeg_exe()


def encode(frames: Sequence[np.ndarray], durations: Sequence[float], fps: int = FPS) -> Video:
    """Encode RGB frames (H, W, 3) uint8, frame i shown ``durations[i]`` seconds, both ways."""
    if len(frames) < 2:
        raise ValueError(f"frames: an animation needs at least 2 frames, got {len(frames)}")
    if len(durations) != len(frames):
        raise ValueError(f"durations: need one per frame, got {len(durations)} for {len(frames)}")
    counts = repeats(durations, fps)
    shape = np.shape(frames[0])
    if len(shape) != 3 or shape[2] != 3 or shape[0] % 2 or shape[1] % 2:
        raise ValueError(f"frames must be (H, W, 3) with even H and W, got {shape}")
    for i, f in enumerate(frames):
        if np.shape(f) != shape or np.asarray(f).dtype != np.uint8:
            raise ValueError(f"frames[{i}] must be uint8 of shape {shape}")
    h, w = shape[:2]
    with tempfile.TemporaryDirectory(prefix="d2d-video-") as tmp:
        out = {ext: Path(tmp) / f"v.{ext}" for ext in ENCODERS}
        cmd = [_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "pipe:0"]  # fmt: skip
        for ext, opts in ENCODERS.items():
            cmd += COLOR + opts + ["-an", str(out[ext])]
        with open(Path(tmp) / "log", "w+b") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=log)
            try:
                for f, n in zip(frames, counts, strict=True):
                    raw = np.ascontiguousarray(f).tobytes()
                    for _ in range(n):
                        proc.stdin.write(raw)
            finally:
                proc.stdin.close()
                code = proc.wait()
            if code:
                log.seek(0)
                raise RuntimeError(f"ffmpeg failed ({code}): {log.read().decode(errors='replace')}")
        data = {ext: p.read_bytes() for ext, p in out.items()}
    return Video(data["mp4"], data["webm"], w, h, tuple(float(d) for d in durations), fps)


def html(video: Video, alt: str, autoplay: bool = False) -> str:
    """The ``<video>`` element: controls (pause, seek), muted, looping, inline on phones, at
    most its CSS size and never wider than the column; ``alt`` names what it shows (the
    accessible name, and the text of browsers without video)."""
    if not isinstance(video, Video):
        raise ValueError(f"video must be a Video, got {type(video).__name__}")
    if not alt or not alt.strip():
        raise ValueError("alt must describe the animation")
    w, h = video.css_size
    label = html_escape.escape(" ".join(alt.split()))
    sources = "".join(
        f'<source src="data:{MIME[ext].split(";")[0]};base64,'
        f'{base64.b64encode(getattr(video, ext)).decode()}" type="{MIME[ext]}">'
        for ext in ENCODERS
    )
    play = " autoplay" if autoplay else ""
    return (
        f'<video class="d2d-video" width="{w}" height="{h}" controls muted loop playsinline'
        f'{play} preload="metadata" aria-label="{label}" '
        f'style="max-width: 100%; height: auto; display: block; margin: 0 auto">'
        f"{sources}<p>{label}</p></video>"
    )


def probe(path: str | Path) -> dict[str, object]:
    """Read a video file back: container (from its header), codec, size, fps, frame count."""
    import imageio_ffmpeg

    path = Path(path)
    head = path.read_bytes()[:64]
    if head[:4] == b"\x1a\x45\xdf\xa3":
        container = "webm" if b"webm" in head else "matroska"
    elif head[4:8] == b"ftyp":
        container = "mp4"
    else:
        raise ValueError(f"path is not a WebM or MP4 file: {path}")
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    return {"container": container, "codec": meta["codec"], "size": (w, h), "fps": meta["fps"],
            "frames": frames}  # fmt: skip
