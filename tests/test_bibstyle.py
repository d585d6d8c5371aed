"""The book extension for author-year labels (book/_ext/bibstyle.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pybtex.plugin
from pybtex.database import parse_string

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bibstyle", ROOT / "book" / "_ext" / "bibstyle.py")
bibstyle = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bibstyle)

BIB = r"""
@misc{b, author = {Song, Yang and Ermon, Stefano and Poole, Ben}, title = {SDE}, year = {2021}}
@misc{a, author = {Song, Jiaming and Meng, Chenlin and Ermon, Stefano}, title = {DDIM},
       year = {2021}}
@misc{c, author = {P{\"a}rnamaa, Tanel}, title = {tiny}, year = {2023}}
@misc{d, author = {Nichol, Alex and Dhariwal, Prafulla}, title = {Improved}, year = {2021}}
"""


def labels(bib: str) -> dict[str, str]:
    style = pybtex.plugin.find_plugin("pybtex.style.formatting", "author_year")()
    return {e.key: e.label for e in style.format_bibliography(parse_string(bib, "bibtex"))}


def test_author_year_labels_with_a_b_for_the_same_names_and_year():
    got = labels(BIB)
    assert got == {
        "a": "Song et al., 2021a",  # sorted by author: Song, Jiaming before Song, Yang
        "b": "Song et al., 2021b",
        "c": "Pärnamaa, 2023",
        "d": "Nichol and Dhariwal, 2021",
    }


def test_the_book_bibliography_has_unique_readable_labels():
    got = labels((ROOT / "book" / "references.bib").read_text())
    assert len(set(got.values())) == len(got)
    assert got["song2021ddim"] == "Song et al., 2021a"
    assert got["song2021sde"] == "Song et al., 2021b"
    assert got["ho2020ddpm"] == "Ho et al., 2020"


def test_citations_take_the_year_from_the_label():
    style = bibstyle.AuthorYearLabelReferenceStyle()
    assert type(style.role_style["p"]).__name__ == "_Parenthetical"
    assert type(style.role_style["t"]).__name__ == "_Textual"
