"""The files a wheel of the project ships (a non-editable install): built once per test process
from a copy of the tree (src/, pyproject.toml, README.md), offline, with the installed setuptools.
Used by the tests that check package data (tests/test_explorer.py, tests/test_exercises.py)."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def wheel_files() -> frozenset[str]:
    """The paths inside a wheel built from a copy of the tree (e.g. "diffusion2d/data.py")."""
    with tempfile.TemporaryDirectory() as tmp:
        project, dist = Path(tmp) / "project", Path(tmp) / "dist"
        shutil.copytree(ROOT / "src", project / "src",
                        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))  # fmt: skip
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, project)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index",
                        "--no-build-isolation", "-w", str(dist), str(project)],
                       check=True)  # fmt: skip
        (wheel,) = dist.glob("*.whl")
        with zipfile.ZipFile(wheel) as archive:
            return frozenset(archive.namelist())
