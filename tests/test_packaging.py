"""The installed package declares what it imports: every third-party module that a module of
``src/diffusion2d`` imports at its top level (so ``import diffusion2d...`` needs it) comes from a
distribution listed in ``pyproject.toml``'s dependencies. Imports inside functions are optional
(Bokeh for the explorer, IPython and myst-nb in a notebook or the book's build)."""

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import diffusion2d

ROOT = Path(__file__).parents[1]
SRC = Path(diffusion2d.__file__).parent


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0] for d in project["dependencies"]}
    return {n.lower().replace("_", "-") for n in names}


def _top_level_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text()).body:  # module level only
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_every_top_level_import_is_a_declared_dependency():
    dists = packages_distributions()
    missing = {}
    for path in SRC.rglob("*.py"):
        for module in _top_level_imports(path) - set(sys.stdlib_module_names) - {"diffusion2d"}:
            names = {d.lower().replace("_", "-") for d in dists.get(module, [module])}
            if not names & _declared():
                missing.setdefault(module, []).append(path.relative_to(SRC).as_posix())
    assert not missing, f"imported at module level but not in pyproject's dependencies: {missing}"


def test_the_check_sees_a_module_level_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import pandas as pd\nfrom numpy import linalg\n\n"
                      "def f():\n    import bokeh\n")
    assert _top_level_imports(module) == {"pandas", "numpy"}
