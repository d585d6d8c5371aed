"""Video encoding: the frames of :mod:`plotting.animation` as MP4 and WebM.

Scope: no drawing, no HTML. :func:`encode` pipes RGB frames into the ffmpeg of ``imageio-ffmpeg``:
MP4/H.264, offered first (sharper than VP9 here at the same size), and WebM/VP9 for browsers
without H.264; a frame held longer than 1 / :data:`FPS` s is repeated (almost free to encode).
"""

import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from .style import DPI, SAVE_DPI

FPS = 10  # frames per second of every video: durations are multiples of 0.1 s
# Constant quality, tuned on the book's frames (white background, thin lines): VP9 in constant-
# quality mode (b:v 0) at libvpx's fast "realtime" setting, H.264 with the "animation" tuning
# at x264's "veryfast" preset on one thread (half the CPU time of "medium", same SSIM, 15 % more
# bytes; the build's chapters encode side by side);
# both in yuv420p, tagged BT.709 (browsers decode the colours matplotlib drew), deterministic
# (bitexact: no muxing date), so the same frames give the same files.
COLOR = ["-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
         "-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"]
ENCODERS = {  # in the order of the <source>s: a browser plays the first it can
    "mp4": ["-c:v", "libx264", "-preset", "veryfast", "-crf", "33", "-tune", "animation",
            "-profile:v", "high", "-g", "100", "-movflags", "+faststart", "-threads", "1"],
    "webm": ["-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "42", "-deadline", "realtime",
             "-cpu-used", "6", "-row-mt", "1", "-g", "100", "-fflags", "+bitexact"],
}
MIME = {"mp4": "video/mp4", "webm": "video/webm; codecs=vp9"}


@dataclass(frozen=True)
class Video:
    """One animation in both encodings: ``width`` x ``height`` device pixels, and the seconds
    each drawn frame stays on screen (``durations``, holds included)."""

    mp4: bytes
    webm: bytes
    width: int
    height: int
    durations: tuple[float, ...]

    @property
    def css_size(self) -> tuple[int, int]:
        """The logical size (CSS px): frames are drawn at ``SAVE_DPI``, shown at ``DPI``."""
        return round(self.width * DPI / SAVE_DPI), round(self.height * DPI / SAVE_DPI)


def repeats(durations: Sequence[float]) -> list[int]:
    """How many video frames show each drawn frame: ``durations`` (s) in whole 1 / FPS steps."""
    out = [round(float(d) * FPS) for d in durations]
    for i, (d, n) in enumerate(zip(durations, out, strict=True)):
        if n < 1 or abs(n - float(d) * FPS) > 1e-6:
            raise ValueError(f"durations[{i}] = {d} must be a positive multiple of 1/{FPS} s")
    return out


def encode(frames: Sequence[np.ndarray], durations: Sequence[float]) -> Video:
    """Encode RGB frames (H, W, 3) uint8, frame i shown ``durations[i]`` seconds, both ways."""
    if len(frames) < 2:
        raise ValueError(f"frames: an animation needs at least 2 frames, got {len(frames)}")
    if len(durations) != len(frames):
        raise ValueError(f"durations: need one per frame, got {len(durations)} for {len(frames)}")
    counts = repeats(durations)
    h, w = np.shape(frames[0])[:2]
    for i, f in enumerate(frames):
        if np.shape(f) != (h, w, 3) or h % 2 or w % 2 or np.asarray(f).dtype != np.uint8:
            raise ValueError(f"frames[{i}] must be uint8 (H, W, 3) with even H and W as frames[0]")
    with tempfile.TemporaryDirectory(prefix="d2d-video-") as tmp, tempfile.TemporaryFile() as log:
        cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(FPS), "-i", "pipe:0"]  # fmt: skip
        for ext, opts in ENCODERS.items():
            cmd += COLOR + opts + ["-an", f"{tmp}/v.{ext}"]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=log)
        with proc.stdin:  # each frame repeated for its duration
            for f, n in zip(frames, counts, strict=True):
                proc.stdin.writelines([np.ascontiguousarray(f).tobytes()] * n)
        if proc.wait():
            log.seek(0)
            raise RuntimeError(f"ffmpeg failed: {log.read().decode(errors='replace')}")
        data = {ext: Path(tmp, f"v.{ext}").read_bytes() for ext in ENCODERS}
    return Video(**data, width=w, height=h, durations=tuple(float(d) for d in durations))

