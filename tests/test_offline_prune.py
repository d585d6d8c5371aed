"""book/_ext/offline.py ships only what pages load: MathJax's one bundle and its on-demand parts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("offline", ROOT / "book" / "_ext" / "offline.py")
offline = importlib.util.module_from_spec(spec)
spec.loader.exec_module(offline)

KEPT = [
    "mathjax/tex-chtml.js",
    "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
    "mathjax/input/tex/extensions/cancel.js",
    "mathjax/a11y/explorer.js",
    "mathjax/sre/mathmaps/en.json",
    "mathjax/ui/menu.js",
    "scripts/fontawesome.js",
]
DROPPED = [
    "mathjax/tex-svg.js",
    "mathjax/tex-mml-chtml.js",
    "mathjax/output/svg/fonts/tex.js",
    "mathjax/output/chtml.js",
    "mathjax/adaptors/liteDOM.js",
    "mathjax/input/tex.js",
    "scripts/fontawesome.js.map",
    "styles/theme.css.map",
]


def test_prune_keeps_what_pages_load_and_drops_the_rest(tmp_path):
    for name in KEPT + DROPPED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x" * 10)
    freed = offline.prune_static(tmp_path, "tex-chtml.js")
    assert freed == 10 * len(DROPPED)
    assert all((tmp_path / name).is_file() for name in KEPT)
    assert not any((tmp_path / name).exists() for name in DROPPED)
    assert not (tmp_path / "mathjax" / "adaptors").exists()  # emptied folders go too
    assert offline.prune_static(tmp_path, "tex-chtml.js") == 0  # idempotent


def test_prune_refuses_a_missing_entry_bundle(tmp_path):
    (tmp_path / "mathjax").mkdir()
    (tmp_path / "mathjax" / "tex-svg.js").write_text("x")
    with pytest.raises(FileNotFoundError, match="mathjax_path"):
        offline.prune_static(tmp_path, "tex-chtml.js")
