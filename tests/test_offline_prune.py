"""book/_ext/offline.py ships only what pages load: MathJax's one bundle and its on-demand parts,
the icon fonts the theme's stylesheet uses, no icon script, no build-time catalogues."""

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
    "mathjax/sre/mathmaps/base.json",
    "mathjax/sre/mathmaps/nemeth.json",
    "mathjax/ui/menu.js",
    "mathjax/input/mml.js",  # Accessibility > Activate
    "mathjax/output/svg.js",  # Math Renderer > SVG, and its font
    "mathjax/output/svg/fonts/tex.js",
    "scripts/bootstrap.js",
    "vendor/fontawesome/webfonts/fa-solid-900.woff2",
    "vendor/fontawesome/webfonts/fa-brands-400.ttf",  # a stylesheet's only source of that font
]
DROPPED = [
    "mathjax/tex-svg.js",
    "mathjax/tex-mml-chtml.js",
    "mathjax/output/chtml.js",
    "mathjax/adaptors/liteDOM.js",
    "mathjax/input/tex.js",
    "mathjax/input/asciimath.js",
    "mathjax/sre/mathmaps/de.json",
    "mathjax/sre/mathmaps/hi.json",
    "scripts/fontawesome.js",
    "scripts/fontawesome.js.map",
    "styles/theme.css.map",
    "locales/de/LC_MESSAGES/booktheme.mo",
    "mathjax/input/tex/extensions/all-packages.js",
    "mathjax/input/mml/extensions/mml3.js",
    "vendor/fontawesome/webfonts/fa-solid-900.ttf",  # a fallback after the woff2
]
THEME_CSS = (  # as pydata-sphinx-theme writes it (minified), plus a font with no woff2
    '@font-face{font-display:block;font-family:Font Awesome\\ 6 Free;font-weight:900;src:url('
    '../vendor/fontawesome/webfonts/fa-solid-900.woff2) format("woff2"),url(../vendor/fontawes'
    'ome/webfonts/fa-solid-900.ttf) format("truetype")}\n'
    '@font-face{font-family:Brands;src:url(../vendor/fontawesome/webfonts/fa-brands-400.ttf) '
    'format("truetype")}'
)


def test_prune_keeps_what_pages_load_and_drops_the_rest(tmp_path):
    for name in KEPT + DROPPED:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x" * 10)
    (tmp_path / "styles" / "theme.css").write_text(THEME_CSS)
    freed = offline.prune_static(tmp_path, "tex-chtml.js")
    assert freed == 10 * len(DROPPED)
    css = (tmp_path / "styles" / "theme.css").read_text()
    assert css == THEME_CSS.replace(',url(../vendor/fontawesome/webfonts/fa-solid-900.ttf) '
                                    'format("truetype")', "")
    assert "fa-solid-900.woff2" in css and "fa-brands-400.ttf" in css
    assert all((tmp_path / name).is_file() for name in KEPT)
    assert not any((tmp_path / name).exists() for name in DROPPED)
    assert not (tmp_path / "mathjax" / "adaptors").exists()  # emptied folders go too
    assert not (tmp_path / "locales").exists()
    assert offline.prune_static(tmp_path, "tex-chtml.js") == 0  # idempotent


def test_prune_refuses_a_missing_entry_bundle(tmp_path):
    (tmp_path / "mathjax").mkdir()
    (tmp_path / "mathjax" / "tex-svg.js").write_text("x")
    with pytest.raises(FileNotFoundError, match="mathjax_path"):
        offline.prune_static(tmp_path, "tex-chtml.js")


def test_pages_lose_the_icon_script_and_nothing_else(tmp_path):
    head = (
        '<head>\n  <link href="../_static/styles/pydata-sphinx-theme.css" rel="stylesheet" />\n'
        '  <script defer src="../_static/scripts/fontawesome.js?digest=55c26ed414f5f8a31ebb">'
        '</script>\n  <script defer src="../_static/scripts/bootstrap.js?digest=55c2"></script>\n'
    )
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "01.html").write_text(head)
    (tmp_path / "index.html").write_text(head.replace("../_static", "_static"))
    (tmp_path / "plain.html").write_text("<p>fontawesome.js is named in prose</p>")
    assert offline.drop_fontawesome_script(tmp_path) == 2
    for page in ("chapters/01.html", "index.html"):
        text = (tmp_path / page).read_text()
        assert "fontawesome.js" not in text
        assert "pydata-sphinx-theme.css" in text and "bootstrap.js" in text
    assert (tmp_path / "plain.html").read_text() == "<p>fontawesome.js is named in prose</p>"
    assert offline.drop_fontawesome_script(tmp_path) == 0  # idempotent
