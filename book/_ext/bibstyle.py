"""Sphinx extension: author-year labels everywhere, with 2021a/2021b for same author and year.

sphinxcontrib-bibtex's ``author_year`` referencing style prints "Ho et al. [2020]" in the text,
but the bibliography keeps pybtex's ``alpha`` labels ("[HJA20]"), and two papers by authors with
the same surname in the same year both read "Song et al., 2021". This extension registers:

- the pybtex label style ``author_year``: "Ho et al., 2020" (one author: "Chan, 2024"; two:
  "Nichol and Dhariwal, 2021"), with a letter after the year where two entries would otherwise
  share a label, in the order of the sorted bibliography ("Song et al., 2021a", "... 2021b");
- the pybtex formatting style ``author_year``: pybtex's ``plain`` (sorted by author, year,
  title) with those labels, for the bibliography page (``bibtex_default_style``);
- the referencing style ``author_year_label``: sphinxcontrib-bibtex's ``author_year`` whose year
  is read from the label, so a citation prints the same "2021a" as the bibliography
  (``bibtex_reference_style``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pybtex.plugin
from pybtex.richtext import Text
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.plugin import register_plugin
from sphinxcontrib.bibtex.style.referencing.author_year import AuthorYearReferenceStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
    BasicAuthorYearTextualReferenceStyle,
)
from sphinxcontrib.bibtex.style.template import join, join2, node, post_text, pre_text, reference

SEP = ", "  # between the names and the year in a label


def _plain(latex: str) -> str:
    """A name or year of a .bib field as plain text ("P{\\"a}rnamaa" -> "Pärnamaa")."""
    return str(Text.from_latex(latex))


def _names(entry) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [_plain(" ".join(p.prelast_names + p.last_names)) for p in people]
    if not last:
        return _plain(entry.fields.get("title", entry.key))
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Names, year", with a, b, ... after the year where two labels would coincide."""

    def format_labels(self, sorted_entries):
        base = [(_names(e), _plain(e.fields.get("year", "n.d."))) for e in sorted_entries]
        count, seen = Counter(base), Counter()
        for names, year in base:
            suffix = ""
            if count[(names, year)] > 1:
                suffix = chr(ord("a") + seen[(names, year)])
                seen[(names, year)] += 1
            yield f"{names}{SEP}{year}{suffix}"


class AuthorYearStyle(PlainStyle):
    """pybtex's plain style (sorted by author, year, title) with author-year labels."""

    default_label_style = "author_year"


@node
def label_year(children, data):
    """The year of a citation as its bibliography label prints it (with a/b where needed)."""
    assert not children
    return Text(data["formatted_entry"].label.rsplit(SEP, 1)[-1])


@dataclass
class _Parenthetical(BasicAuthorYearParentheticalReferenceStyle):
    def inner(self, role_name: str):
        return join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
            pre_text,
            reference[
                join(sep=self.author_year_sep)[
                    self.person.author_or_editor_or_title(full="s" in role_name),
                    label_year,
                ]
            ],
            post_text,
        ]


@dataclass
class _Textual(BasicAuthorYearTextualReferenceStyle):
    def inner(self, role_name: str):
        return join(sep=self.text_reference_sep)[
            self.person.author_or_editor_or_title(full="s" in role_name),
            join[
                self.bracket.left,
                join2(sep1=self.pre_text_sep, sep2=self.post_text_sep)[
                    pre_text,
                    reference[label_year],
                    post_text,
                ],
                self.bracket.right,
            ],
        ]


@dataclass
class AuthorYearLabelReferenceStyle(AuthorYearReferenceStyle):
    """sphinxcontrib-bibtex's author_year, with the year (and its a/b) taken from the label."""

    def __post_init__(self):
        super().__post_init__()
        swap = {
            BasicAuthorYearParentheticalReferenceStyle: _Parenthetical,
            BasicAuthorYearTextualReferenceStyle: _Textual,
        }
        for style in self.styles:
            new = swap.get(type(style))
            if new is not None:
                replacement = new(**{f: getattr(style, f) for f in style.__dataclass_fields__})
                for role in style.role_names():
                    self.role_style[role] = replacement


pybtex.plugin.register_plugin("pybtex.style.labels", "author_year", AuthorYearLabelStyle)
pybtex.plugin.register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
register_plugin(
    "sphinxcontrib.bibtex.style.referencing", "author_year_label", AuthorYearLabelReferenceStyle
)


def setup(app):
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
