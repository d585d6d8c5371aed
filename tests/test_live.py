"""Checks of the live explorer's model export (diffusion2d.plotting.live): the data written into
the page rebuilds the same network (same outputs, schedule and steps), it is plain JSON, and bad
input fails with an error naming the argument. The page's JavaScript is checked against PyTorch
in the browser: tests/site/test_site_live.py.
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import torch
from livemodel import random_conditional_model

from diffusion2d.model import DenoisingMLP
from diffusion2d.plotting import live
from diffusion2d.samplers import timesteps

T, C = 12, 3
CLASSES = ["a", "b", "c"]


def _model(**kwargs) -> DenoisingMLP:
    return random_conditional_model(0.05, T, **{"num_classes": C, **kwargs})


@pytest.fixture(scope="module")
def model() -> DenoisingMLP:
    return _model()


@pytest.fixture(scope="module")
def points() -> torch.Tensor:
    return torch.randn(C * 5, 2, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def data(model, points) -> dict:
    return live.export_model(model, CLASSES, points)


def test_rebuilt_model_gives_the_same_outputs(model, data):
    rebuilt = live.model_from_export(data)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(50, 2, generator=g) * 2  # (50, 2)
    t = torch.randint(0, T, (50,), generator=g)
    y = torch.randint(0, C + 1, (50,), generator=g)  # C: the null label
    with torch.no_grad():
        assert torch.equal(rebuilt(x, t, y), model(x, t, y))
        assert torch.equal(rebuilt(x, t), model(x, t))  # unconditional
    for name in ("betas", "alphas", "alpha_bars"):
        assert torch.equal(getattr(rebuilt, name), getattr(model, name)), name
    assert (rebuilt.T, rebuilt.num_classes, rebuilt.schedule) == (T, C, model.schedule)


def test_layout_is_the_state_dict_in_float32(model, data):
    state = model.state_dict()
    assert [name for name, _ in data["tensors"]] == list(state)
    shapes = zip(data["tensors"], state.values(), strict=True)
    assert all(list(v.shape) == shape for (_, shape), v in shapes)
    flat = np.frombuffer(base64.b64decode(data["float32"]), dtype="<f4")
    assert len(flat) == sum(v.numel() for v in state.values())
    np.testing.assert_array_equal(flat[: state["betas"].numel()], state["betas"].numpy())
    assert (data["T"], data["hidden"], data["num_blocks"], data["num_classes"]) == (T, 16, 2, C)
    assert data["classes"] == CLASSES and data["format"] == live.FORMAT


def test_steps_are_those_samplers_visit(data):
    assert len(data["timesteps"]) == T
    for n in range(1, T + 1):
        assert data["timesteps"][n - 1] == timesteps(T, n), n


def test_points_and_size(data, points):
    np.testing.assert_array_equal(live.export_points(data), points.numpy())
    weights = sum(v.numel() for v in live.model_from_export(data).state_dict().values())
    assert live.export_nbytes(data) == 4 * (weights + points.numel())
    assert live.export_points(live.export_model(_model(), CLASSES)).shape == (0, 2)


def test_data_is_plain_json(data):
    assert json.loads(json.dumps(data)) == data


def test_tolerances_of_the_browser_tests():
    assert 0 < live.FORWARD_TOL <= 1e-4 and 0 < live.DDIM_TOL <= 1e-3 and 0 < live.DINO_TOL <= 0.1


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"num_classes": None}, "num_classes"),
    ({"prediction": "x0"}, "prediction"),
    ({"time_embedding": "linear"}, "time_embedding"),
    ({"input_embedding": "identity"}, "input_embedding"),
    ({"schedule": "linear_zero_snr"}, "alpha_bar"),
])  # fmt: skip
def test_models_live_js_cannot_run_are_refused(kwargs, name):
    with pytest.raises(ValueError, match=name):
        live.export_model(_model(**kwargs), CLASSES)


def test_bad_arguments_are_named(model, data):
    with pytest.raises(TypeError, match="^model must"):
        live.export_model(torch.nn.Linear(2, 2), CLASSES)
    for bad in (["a", "b"], ["a", "b", ""], ["a", "a", "b"]):
        with pytest.raises(ValueError, match="^classes must"):
            live.export_model(model, bad)
    with pytest.raises(ValueError, match="^points must"):
        live.export_model(model, CLASSES, torch.zeros(7, 2))
    with pytest.raises(TypeError, match="^points must"):
        live.export_model(model, CLASSES, np.zeros((6, 2)))
    with pytest.raises(ValueError, match="^data must"):
        live.model_from_export({"format": "other"})
    with pytest.raises(ValueError, match=r"^data\['float32'\]"):
        live.model_from_export({**data, "float32": data["float32"][:-8]})
    with pytest.raises(ValueError, match=r"^data\['float32'\]"):
        live.model_from_export({**data, "float32": "not base64!"})
