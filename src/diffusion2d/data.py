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
    ``ValueError`` for an unknown name, a :class:`DataError` for a missing or corrupted file)."""
    if name not in SHAPES:
        raise ValueError(f"unknown Datasaurus shape {name!r}; choose one of {', '.join(SHAPES)}")
    shapes = parse_datasaurus(read_datasaurus_bytes(path))
    if name not in shapes:
        raise DataError(f"shape {name!r} not found in the Datasaurus file")
    x = shapes[name]  # (142, 2)
    return z_normalize(x) if normalize else x


def z_normalize(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)


def train_test_split(x: torch.Tensor, holdout_fraction: float = 0.15,
                     seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Split *distinct points* into train and held-out sets: no point is in both (the workshop
    repeated the points before splitting, so each "test" point had a copy in training)."""
    if not 0.0 <= holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in [0, 1), got {holdout_fraction}")
    n_test = round(len(x) * holdout_fraction)
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    return x[perm[n_test:]], x[perm[:n_test]]
