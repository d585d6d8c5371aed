"""The order in which book/_ext/prerun.py executes the outdated chapters."""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
from prerun import rank  # noqa: E402


def test_slowest_first_and_the_named_ones_first_when_no_time_is_known():
    chapters = {"a": 9, "guidance": 3, "b": 2, "c": 30, "d": 1}  # name: cells
    seconds = {"a": 5.0, "b": 80.0}  # the last build's times (a fresh clone has none)
    order = sorted(chapters, key=lambda n: rank(n, chapters[n], seconds, {"guidance"}))
    assert order == ["guidance", "c", "d", "b", "a"]
    fresh = sorted(chapters, key=lambda n: rank(n, chapters[n], {}, {"guidance"}))
    assert fresh == ["guidance", "c", "a", "b", "d"]
    assert sorted(chapters, key=lambda n: rank(n, chapters[n], {}, set()))[0] == "c"


def test_the_configured_first_chapters_exist():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    first = config["sphinx"]["config"]["prerun_first"]
    assert first, "prerun_first names the slowest chapters"
    for docname in first:
        assert (ROOT / "book" / f"{docname}.md").is_file(), docname
