"""The Datasaurus Dozen: loading (checksummed), z-normalisation and an honest held-out split.

Source: Matejka & Fitzmaurice, "Same Stats, Different Graphs" (CHI 2017), 13 shapes x 142 points,
as published in tanelp/tiny-diffusion. Where the file comes from, in order: an explicit ``path``,
``$DATASAURUS_TSV``, a local copy ``data/DatasaurusDozen.tsv``, else a download into ``data/``.
Every source is verified against :data:`SHA256`.
"""

import csv
import hashlib
import io
import os
import urllib.request
from pathlib import Path

import torch

from .utils import atomic_write

URL = ("https://raw.githubusercontent.com/tanelp/tiny-diffusion/"
       "4869af45569333918fd01d4af23f87245762ce5d/static/DatasaurusDozen.tsv")
SHA256 = "c8c4792c3ed15238ba07dad6ab778adc79d72e3e1324ead4d8c1ae52849780f8"
FILENAME = "DatasaurusDozen.tsv"
ENV_VAR = "DATASAURUS_TSV"
SHAPES = ("dino", "away", "h_lines", "v_lines", "x_shape", "star", "high_lines", "dots", "circle",
          "bullseye", "slant_up", "slant_down", "wide_lines")
POINTS_PER_SHAPE = 142
ALL = "all"  # every shape, in SHAPES order: a point's class label is its shape's index


class DataError(RuntimeError):
    """The Datasaurus file is missing, corrupted or not in the expected format."""


def project_root() -> Path | None:
    """The checkout this package is installed from (editable install), or None."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "diffusion2d").is_dir():
            return parent
    return None


def _verified(raw: bytes, origin: str) -> bytes:
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise DataError(f"checksum mismatch: {origin} fails the sha256 check ({digest}, expected "
                        f"{SHA256}). The file is corrupted or not the Datasaurus Dozen; delete it"
                        " and load again.")
    return raw


def read_datasaurus_bytes(path: str | os.PathLike | None = None) -> bytes:
    """The verified bytes of the TSV file, from the first source that exists (see module doc)."""
    local = (project_root() or Path.cwd()) / "data" / FILENAME
    for source, origin in ((path, "path argument"), (os.environ.get(ENV_VAR), f"${ENV_VAR}"),
                           (local if local.is_file() else None, "local copy")):
        if source:
            if not Path(source).is_file():
                raise DataError(f"Datasaurus file not found at {source} (from {origin})")
            return _verified(Path(source).read_bytes(), f"{source} (from {origin})")
    try:
        with urllib.request.urlopen(URL, timeout=30) as response:  # noqa: S310 (fixed https URL)
            raw = _verified(response.read(), f"the downloaded file from {URL}")
    except OSError as err:
        raise DataError(f"Datasaurus file not found locally and the download from {URL} failed "
                        f"({err}). Pass path=..., set ${ENV_VAR}, or copy the file to {local}."
                        ) from err
    atomic_write(local, raw)
    return raw


def parse_datasaurus(raw: bytes) -> dict[str, torch.Tensor]:
    """Parse the TSV into ``{shape name: (142, 2) float32 tensor}`` in file order."""
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8")), delimiter="\t")
    missing = {"dataset", "x", "y"} - set(reader.fieldnames or [])
    if missing:
        raise DataError(f"Datasaurus file lacks column(s) {sorted(missing)}; "
                        f"has {reader.fieldnames}")
    points: dict[str, list[tuple[float, float]]] = {}
    for row in reader:
        points.setdefault(row["dataset"], []).append((float(row["x"]), float(row["y"])))
    return {name: torch.tensor(xy, dtype=torch.float32) for name, xy in points.items()}


def load_datasaurus(name: str = "dino", path: str | os.PathLike | None = None,
                    normalize: bool = True) -> torch.Tensor:
    """One Datasaurus shape as a (142, 2) float32 tensor, z-normalised per coordinate (a
    ``ValueError`` for an unknown name, a :class:`DataError` for a missing or corrupted file).
    ``name="all"`` (:data:`ALL`): the 13 shapes one after another, each normalised on its own,
    (13 * 142, 2); :func:`class_labels` gives each point its shape's index in :data:`SHAPES`."""
    if name not in (*SHAPES, ALL):
        raise ValueError(f"unknown Datasaurus shape {name!r} (argument name); choose one of "
                         f"{', '.join(SHAPES)}, or {ALL!r} for all of them")
    shapes = parse_datasaurus(read_datasaurus_bytes(path))
    for shape in SHAPES if name == ALL else (name,):
        if shape not in shapes:
            raise DataError(f"shape {shape!r} not found in the Datasaurus file")
    xs = [shapes[s] for s in (SHAPES if name == ALL else (name,))]  # each (142, 2)
    return torch.cat([z_normalize(x) if normalize else x for x in xs])


def class_labels(x: torch.Tensor, num_classes: int = len(SHAPES)) -> torch.Tensor:
    """The class label (N,) of each point of ``x`` (N, 2) made of ``num_classes`` equal blocks,
    one per class in order (as ``load_datasaurus("all")`` and its split): 0 .. num_classes-1."""
    if len(x) % num_classes:
        raise ValueError(f"x must hold {num_classes} equal blocks of points (one per class), "
                         f"got {len(x)} points")
    return torch.arange(num_classes).repeat_interleave(len(x) // num_classes)  # (N,)


def z_normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)


def train_test_split(x: torch.Tensor, holdout_fraction: float = 0.15, seed: int = 0,
                     num_classes: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Split *distinct points* into train and held-out sets: no point is in both (the workshop
    repeated the points before splitting, so each "test" point had a copy in training). With
    ``num_classes`` > 1, ``x`` is made of that many equal blocks (:func:`class_labels`), each
    split alike; each set holds its part of every block, in order."""
    if not 0.0 <= holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in [0, 1), got {holdout_fraction}")
    if num_classes > 1:
        class_labels(x, num_classes)  # checks the blocks
        parts = [train_test_split(b, holdout_fraction, seed) for b in x.chunk(num_classes)]
        return torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    n_test = round(len(x) * holdout_fraction)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return x[perm[n_test:]], x[perm[:n_test]]
