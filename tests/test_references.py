"""The package docstring's table of papers: every arXiv id is in the book's bibliography, and every
paper a module cites ("Ho et al. 2020", "DDPM eq. 4") is in the table."""

import re
from pathlib import Path

import diffusion2d

SRC = Path(diffusion2d.__file__).parent
BIB = Path(__file__).parents[1] / "book" / "references.bib"


def _table_rows() -> list[str]:
    doc = diffusion2d.__doc__
    return doc[doc.index("short name") :].splitlines()


def test_every_arxiv_id_in_the_table_is_in_the_bibliography():
    ids = re.findall(r"\b(\d{4}\.\d{5})\b", "\n".join(_table_rows()))
    eprints = set(re.findall(r"eprint\s*=\s*\{(\d{4}\.\d{5})\}", BIB.read_text()))
    assert len(ids) >= 6
    assert set(ids) <= eprints, f"not in references.bib: {sorted(set(ids) - eprints)}"


def test_every_cited_paper_is_in_the_table():
    table = "\n".join(_table_rows())
    cited = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        cited |= {m.group(1) + " et al. " + m.group(2)
                  for m in re.finditer(r"([A-Z][a-z]+) et al\.,? \(?(\d{4})", text)}
        for short in re.findall(r"\b([A-Z]{3,5}) eqs?\. \d", text):
            assert f"{short}, " in table, f"{path.name} cites {short} equations; not in the table"
    assert cited, "no citations found: the pattern is broken"
    missing = sorted(c for c in cited if c not in table)
    assert not missing, f"cited in src/ but not in the package docstring's table: {missing}"
