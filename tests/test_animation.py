"""Checks of the animations (animation, video, plotting.sampling_video): frames, holds,
sizes, both encodings read back with ffmpeg, the HTML element, the site's video files, errors.

Videos here are small (1 to 2 inches, a few frames), so everything runs in seconds on Agg.
"""

from __future__ import annotations

import base64
import importlib.util
import re
from pathlib import Path

import imageio_ffmpeg
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from docutils import nodes  # noqa: E402
from docutils.frontend import get_default_settings  # noqa: E402
from docutils.parsers.rst import Parser  # noqa: E402
from docutils.utils import new_document  # noqa: E402

from diffusion2d.exact import ExactDenoiser  # noqa: E402
from diffusion2d.plotting import (  # noqa: E402
    animation,
    particles,  # noqa: E402
    video,
)
from diffusion2d.schedules import get_diffusion_parameters  # noqa: E402
from diffusion2d.trajectories import record_pair  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "videos", Path(__file__).resolve().parents[1] / "book" / "_ext" / "videos.py"
)
videos = importlib.util.module_from_spec(_spec)  # the book's Sphinx extension (build tooling)
_spec.loader.exec_module(videos)

XR, YR = (-1.0, 1.0, 0.5), (-1.0, 1.0, 0.5)  # a 4 x 4 grid
SMALL = (1.2, 1.2)  # inches: 240 x 240 device px, 120 x 120 CSS px
FAST = animation.Timing(step=0.1, hold_first=0.3, hold_last=0.5)


@pytest.fixture
def cloud() -> torch.Tensor:
    return torch.randn(30, 2, generator=torch.Generator().manual_seed(0))


def _grids(T: int = 3) -> list[np.ndarray]:
    gx, _ = np.meshgrid(np.arange(*XR), np.arange(*YR))
    rng = np.random.default_rng(0)
    return [np.zeros(gx.shape + (2,))] + [rng.normal(size=gx.shape + (2,)) for _ in range(T)]


def _frames_read_back(clip: video.Video, tmp_path, ext: str) -> dict:
    """One encoding written to a file and read back with ffmpeg: codec, size, fps, frames."""
    path = tmp_path / f"clip.{ext}"
    path.write_bytes(getattr(clip, ext))
    reader = imageio_ffmpeg.read_frames(str(path))
    info = next(reader)
    w, h = info["size"]
    info["frames"] = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in reader]
    assert info["size"] == (clip.width, clip.height)
    assert len(info["frames"]) == sum(video.repeats(clip.durations))
    return info


# --------------------------------------------------------------------------- timing and encoding


def test_timing_holds_the_first_and_last_frames_and_slows_the_end():
    d = animation.Timing(step=0.1, hold_first=1.5, hold_last=2.0, slow_last=3, slow_step=0.3)
    assert d.durations(8) == [1.5, 0.1, 0.1, 0.1, 0.3, 0.3, 0.3, 2.0]
    assert animation.Timing().durations(2) == [1.5, 2.0]
    with pytest.raises(ValueError, match="slow_last"):
        animation.Timing(slow_last=5).durations(6)
    with pytest.raises(ValueError, match=r"durations\[1\]"):
        animation.Timing(step=0.15).durations(4)
    with pytest.raises(ValueError, match="n: an animation needs at least 2 frames"):
        animation.Timing().durations(1)


def test_encode_writes_webm_vp9_and_mp4_h264_with_the_holds(tmp_path):
    h, w = 120, 160
    frames = [np.full((h, w, 3), 255, np.uint8) for _ in range(3)]
    frames[1][40:80, 40:120] = (0, 114, 178)  # a blue block in the middle frame
    clip = video.encode(frames, [1.0, 0.1, 0.5])
    assert (clip.width, clip.height, clip.css_size) == (w, h, (w // 2, h // 2))
    assert sum(clip.durations) == pytest.approx(1.6)
    assert clip.webm[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in clip.webm[:64]  # WebM (Matroska)
    assert clip.mp4[4:8] == b"ftyp"  # MP4
    mp4 = clip.mp4
    assert mp4.index(b"moov") < mp4.index(b"mdat")  # faststart: plays before it has loaded
    for ext, codec in (("webm", "vp9"), ("mp4", "h264")):
        info = _frames_read_back(clip, tmp_path, ext)
        assert info["codec"].startswith(codec)
        assert info["fps"] == video.FPS
        got = [f[60, 80].astype(int) for f in info["frames"]]  # centre pixel of each video frame
        assert len(got) == 16  # 10 + 1 + 5 frames at 10 fps
        white = [np.abs(p - 255).max() < 24 for p in got]
        assert white == [True] * 10 + [False] + [True] * 5, f"{ext}: {got}"
        assert np.abs(got[10] - (0, 114, 178)).max() < 24  # colours survive the encoding


def test_encode_is_deterministic():
    f = np.zeros((100, 100, 3), np.uint8)
    a, b = video.encode([f, 255 - f], [0.1, 0.2]), video.encode([f, 255 - f], [0.1, 0.2])
    assert a == b  # same frames, same bytes: a rebuild gives the site the same files


def test_encode_bad_input():
    f = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError, match="frames: an animation needs at least 2 frames"):
        video.encode([f], [1.0])
    with pytest.raises(ValueError, match="durations: need one per frame"):
        video.encode([f, f], [1.0])
    with pytest.raises(ValueError, match=r"durations\[0\]"):
        video.encode([f, f], [0.05, 0.1])
    with pytest.raises(ValueError, match="even H and W"):
        video.encode([f[:99], f[:99]], [0.1, 0.1])
    with pytest.raises(ValueError, match=r"frames\[1\]"):
        video.encode([f, f.astype(float)], [0.1, 0.1])


# --------------------------------------------------------------------------- drawing


def test_points_video_frames_size_and_holds(tmp_path, cloud):
    frames = [cloud * (1 - k / 10) for k in range(11)]
    clip = animation.points_video(
        frames,
        data=cloud,
        titles=[f"{k}" for k in range(11)],
        every=3,
        labels=("points", "data"),
        timing=animation.Timing(hold_first=1.0, hold_last=2.0),
        size=SMALL,
    )
    assert clip.durations == (1.0, 0.1, 0.1, 0.1, 2.0)  # frames 0, 3, 6, 9 and the last
    assert (clip.width, clip.height) == (240, 240) and clip.css_size == (120, 120)
    assert max(len(clip.webm), len(clip.mp4)) < 200_000
    info = _frames_read_back(clip, tmp_path, "mp4")
    held = info["frames"][:10]  # the first frame, held 1 s
    assert max(np.abs(f.astype(int) - held[0]).mean() for f in held) < 1.0
    assert np.abs(info["frames"][10].astype(int) - held[0]).mean() > 1.0  # then it moves


def test_default_animation_is_2_device_px_per_css_px_at_most_the_column(cloud):
    def setup(fig):
        fig.add_axes((0.1, 0.1, 0.8, 0.8))
        return lambda i: None

    frames = animation.render(setup, 2)
    assert frames[0].shape == (1000, 1000, 3)  # SIZE 5 in: 500 CSS px at 200 dpi
    assert animation.SIZE[0] * 100 <= 680  # no wider than the text column at 1280 px


def test_samples_video_slows_the_end_and_holds_x0(cloud):
    xs = [cloud * (1 - k / 20) for k in range(21)]  # x_T ... x_0, T = 20
    timing = animation.SAMPLING
    assert timing.slow_last == 12  # t = 12 ... 1 one by one, t = 20 ... 14 two at a time
    assert animation.pick(21, 2, timing.slow_last) == [0, 2, 4, 6, *range(8, 21)]
    clip = animation.samples_video(xs, size=SMALL)
    d = list(clip.durations)
    assert len(d) == 17 and d[0] == timing.hold_first and d[-1] == timing.hold_last >= 2.0
    assert d[1:4] == [timing.step] * 3  # 2 steps per frame: 0.1 s per step
    slow = d[-1 - timing.slow_last : -1]  # 1 step per frame: 0.3 s per step
    assert slow == [timing.slow_step] * timing.slow_last and timing.slow_step > timing.step / 2
    assert sum(slow) + d[-1] >= 3.0  # the dino forms over seconds, not in the last one


def test_forward_noising_video_holds_the_clean_data(cloud):
    xs = [cloud * (1 - k / 5) for k in range(6)]
    _, _, ab = get_diffusion_parameters(1e-4, 0.05, 5)
    clip = animation.forward_noising_video(xs, alpha_bars=ab, size=SMALL)
    assert len(clip.durations) == 6
    assert clip.durations[0] >= 1.5 and clip.durations[-1] >= 1.5  # first and last held
    with pytest.raises(ValueError, match="alpha_bars must have shape"):
        animation.forward_noising_video(xs, alpha_bars=ab[:3], size=SMALL)


def test_drift_field_video(cloud):
    clip = animation.drift_field_video(_grids(3), XR, YR, data=cloud, timing=FAST, size=SMALL)
    assert clip.durations == (0.3, 0.1, 0.5)  # steps 3, 2, 1


def test_points_video_bad_input(cloud):
    bad = [
        ("frames: an animation needs at least 2 frames", dict(frames=[cloud])),
        (r"frames\[1\] must have shape \(N, 2\)", dict(frames=[cloud, torch.zeros(30, 3)])),
        ("titles: need one per frame", dict(titles=["a"])),
        ("every must be >= 1", dict(every=0)),
        ("size", dict(size=(1.234, 1.2))),
    ]
    for match, kw in bad:
        with pytest.raises(ValueError, match=match):
            animation.points_video(**{"frames": [cloud, cloud], **kw})


# --------------------------------------------------------------------------- the page


def _clip() -> video.Video:
    f = np.zeros((100, 100, 3), np.uint8)
    return video.encode([f, 255 - f], [0.1, 0.1])


def test_show_is_a_pausable_video_with_both_encodings():
    clip = _clip()
    html = animation.show(clip, alt="A square  turning\nwhite.").data
    assert re.match(r"<video [^>]*\bcontrols\b[^>]*>", html)
    for attr in ("muted", "loop", "playsinline", 'width="50"', 'height="50"',
                 'aria-label="A square turning white."'):  # fmt: skip
        assert attr in html.split(">")[0], attr
    assert "autoplay" not in html
    sources = re.findall(r'<source src="data:([^;]+);base64,([^"]+)" type="([^"]+)">', html)
    assert [(m, t) for m, _, t in sources] == [
        ("video/mp4", "video/mp4"),  # first: H.264 plays in every major browser
        ("video/webm", "video/webm; codecs=vp9"),  # for browsers without H.264
    ]
    assert base64.b64decode(sources[0][1]) == clip.mp4
    assert base64.b64decode(sources[1][1]) == clip.webm
    assert "autoplay" in animation.show(clip, alt="x", autoplay=True).data.split(">")[0]
    with pytest.raises(ValueError, match="alt"):
        animation.show(clip, alt=" ")
    with pytest.raises(ValueError, match="clip must be a Video"):
        animation.show(b"bytes", alt="x")


def test_site_gets_the_video_files_and_the_page_points_at_them(tmp_path):
    clip = _clip()
    html = animation.show(clip, alt="x").data
    out = videos.to_files(html, tmp_path, "chapters/02_forward.html")
    files = {p.suffix: p for p in (tmp_path / "_videos").iterdir()}
    assert sorted(files) == [".mp4", ".webm"]
    assert files[".webm"].read_bytes() == clip.webm and files[".mp4"].read_bytes() == clip.mp4
    assert "data:" not in out
    assert re.findall(r'src="([^"]+)"', out) == [
        f"../_videos/{files['.mp4'].name}",  # the first source: MP4, then WebM
        f"../_videos/{files['.webm'].name}",
    ]
    top = videos.to_files(html, tmp_path, "intro.html")  # same video again: same files
    assert f'src="_videos/{files[".mp4"].name}"' in top
    assert len(list((tmp_path / "_videos").iterdir())) == 2


class _Builder:
    format = "html"

    def get_target_uri(self, docname: str) -> str:
        return docname + ".html"


class _App:
    def __init__(self, outdir):
        self.outdir, self.builder, self.events = outdir, _Builder(), {}

    def connect(self, event, handler):
        self.events[event] = handler


def test_sphinx_extension_moves_inlined_videos_into_files(tmp_path):
    app = _App(tmp_path)
    assert videos.setup(app)["parallel_write_safe"]
    doc = new_document("page", get_default_settings(Parser))
    html = animation.show(_clip(), alt="x").data
    doc += nodes.raw(html, html, format="html", classes=["output", "text_html"])
    doc += nodes.raw("<p>other</p>", "<p>other</p>", format="html")
    app.events["doctree-resolved"](app, doc, "chapters/06_sampling")
    raws = list(doc.findall(nodes.raw))
    assert "data:" not in raws[0].astext() and 'src="../_videos/' in raws[0].astext()
    assert raws[0]["classes"] == ["output", "text_html"] and raws[1].astext() == "<p>other</p>"
    assert len(list((tmp_path / "_videos").iterdir())) == 2


# --------------------------------------------------------------------------- DDPM beside DDIM


@pytest.fixture(scope="module")
def runs():
    data = torch.randn(12, 2, generator=torch.Generator().manual_seed(3))
    model = ExactDenoiser(data, 1e-3, 0.2, 6)  # T = 6
    return record_pair(model, 20, torch.Generator().manual_seed(0), grid=(-2.0, 2.01, 1.0))


def test_sampling_video_shows_both_runs_side_by_side_and_ends_on_x0(runs, tmp_path):
    timing = animation.Timing(step=0.1, hold_first=0.3, hold_last=0.5, slow_last=1, slow_step=0.2)
    clip = particles.sampling_video(runs, num=5, every=2, timing=timing, width=2.4)
    assert clip.durations == (0.3, 0.1, 0.1, 0.2, 0.5)  # t = 6, 4, 2, then 1 (slow) and 0
    assert clip.width == 480 and clip.width > clip.height  # two panels beside each other
    clip = particles.sampling_video(runs, num=5, every=4, timing=FAST, width=2.4)
    assert len(clip.durations) == 3  # frames 0, 4 and the last one, 6
    with pytest.raises(ValueError, match="runs must be recordings with the same number"):
        particles.sampling_video({}, width=2.4)
