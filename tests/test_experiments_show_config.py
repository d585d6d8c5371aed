"""experiments.show_config: a config one field per line, the fields that differ marked."""

from __future__ import annotations

import dataclasses

import pytest

from diffusion2d import experiments as E
from diffusion2d.training import TrainConfig


def field_lines(view) -> dict[str, str]:
    """{field name: its line} of the plain-text display."""
    lines = repr(view).splitlines()
    assert lines[1] == "TrainConfig(" and lines[-1] == ")"
    return {line.strip(" *").split("=")[0]: line for line in lines[2:-1]}


def test_one_field_per_line_in_field_order_with_the_values():
    view = E.show_config("v3", baseline=None)
    fields = field_lines(view)
    assert list(fields) == [f.name for f in dataclasses.fields(TrainConfig)]
    cfg = E.EXPERIMENTS["v3"]
    for name, line in fields.items():
        assert line == f"    {name}={getattr(cfg, name)!r},"
    assert repr(view).splitlines()[0] == "# experiment 3"


def test_marks_exactly_the_fields_that_differ_with_the_old_value():
    view = E.show_config("v2", baseline="v1")
    assert view.changed == ("time_embedding",)
    fields = field_lines(view)
    assert fields["time_embedding"] == "  * time_embedding='linear',  # was 'zero'"
    assert [n for n, line in fields.items() if line.startswith("  *")] == ["time_embedding"]
    assert repr(view).splitlines()[0] == "# experiment 2; * = changed from experiment 1"
    assert E.show_config("v4", "v3").changed == ("beta_max",)
    assert E.show_config("v1").changed == ("input_embedding", "time_embedding")
    assert E.show_config("v4long", "v4").changed == ("epochs",)


def test_same_config_says_so_and_marks_nothing():
    view = E.show_config("v3", "BASE")
    assert view.changed == ()
    assert repr(view).splitlines()[0] == "# experiment 3, the same as BASE (the defaults)"
    assert "*" not in repr(view)


def test_accepts_configs_and_names_and_html_bolds_the_changed_lines():
    custom = E.BASE.replace(hidden=96, lr=1e-3)
    view = E.show_config(custom, E.BASE)
    assert view.changed == ("hidden", "lr")
    html = view._repr_html_()
    assert html.startswith('<pre class="config-view">') and html.endswith("</pre>")
    assert html.count("<strong>") == 2
    assert "<strong>  * hidden=96,  # was 64</strong>" in html
    assert "dataset=&#x27;dino&#x27;" in html  # values are escaped


def test_display_fits_the_book_code_width():
    for name in E.POOL:
        for line in repr(E.show_config(name, "BASE")).splitlines():
            assert len(line) <= 79, line


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"config": "v9"}, "config"), ({"config": 3}, "config"),
     ({"config": "v1", "baseline": "nope"}, "baseline")],
)  # fmt: skip
def test_bad_names_raise_naming_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=f"^{argument} must be"):
        E.show_config(**kwargs)


def test_titles_follow_the_prose():
    def title(name):
        return repr(E.show_config(name, None)).splitlines()[0]

    assert [title(n) for n in E.EXPERIMENTS] == [f"# experiment {k}" for k in range(1, 5)]
    assert title("BASE") == "# BASE (the defaults)"
    assert title("v4long") == f"# {E.TITLES['v4long']}"
    with pytest.raises(ValueError, match="^config must be"):
        E.show_config("v0")
