"""One quantity, one value: a number glued on two pages is the same number on both.

myst-nb writes each executed page's glued values to ``_build/jupyter_execute/<page>.glue.json``
beside the HTML. A glue key names a quantity; the protocol's numbers use one canonical key per
quantity on every page (``diffusion2d.protocol.glue_result``), so two pages that state the same
quantity use the same key, and this test fails if they state it with two values.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from sitetools import SITE, toc_docnames

EXECUTED = SITE.parent / "jupyter_execute"


def _glued() -> dict[str, dict[str, str]]:
    """``{key: {page: text/plain value}}`` over every executed page of the build."""
    values: dict[str, dict[str, str]] = defaultdict(dict)
    for path in sorted(EXECUTED.rglob("*.glue.json")):
        page = path.relative_to(EXECUTED).as_posix().removesuffix(".glue.json")
        for key, output in json.loads(path.read_text()).items():
            values[key][page] = output.get("data", {}).get("text/plain")
    return values


@pytest.fixture(scope="module")
def glued(site: Path) -> dict[str, dict[str, str]]:
    if not EXECUTED.is_dir():
        pytest.skip(f"{EXECUTED} not found: build the book first")
    return _glued()


def test_every_executed_page_has_its_glue_file(glued):
    pages = {page for by_page in glued.values() for page in by_page}
    executed = {p.relative_to(EXECUTED).with_suffix("").as_posix()
                for p in EXECUTED.rglob("*.ipynb")}  # fmt: skip
    toc = set(toc_docnames())
    assert pages, "no glued value found in the build"
    assert pages <= executed and pages <= toc


def test_a_key_glued_on_two_pages_has_one_value(glued):
    clashes = {key: by_page for key, by_page in glued.items() if len(set(by_page.values())) > 1}
    assert not clashes, "the same quantity glued with different values:\n" + "\n".join(
        f"  {key}: {by_page}" for key, by_page in sorted(clashes.items())
    )


def test_protocol_numbers_are_shared_between_pages(glued):
    """The headline comparison (experiment 3, DDPM against DDIM, full steps) is stated on more
    than one page, each time from the protocol under its canonical key."""
    for key in ("q-v3-ddpm-chamfer", "q-v3-ddim-chamfer"):
        assert len(glued.get(key, {})) >= 2, f"{key} glued on {sorted(glued.get(key, {}))}"
