"""The live explorer's model as page data: a trained class-conditional eps_theta, exported at build
time for the reader's browser.

Scope: :func:`export_model` turns a class-conditional ``DenoisingMLP`` (Fourier position and time
embeddings, eps-prediction; the book's ``experiments.CONDITIONAL["cfg"]``) into plain JSON data
for the page's script (``explorer.LIVE_JS``: ``explorer_assets/live_net.js`` and
``live_sample.js``), which runs its forward pass, classifier-free guidance (Ho & Salimans 2022,
arXiv:2207.12598) and the samplers DDPM, DDIM and Heun in JavaScript: every weight
and buffer (the schedule ``betas, alphas, alpha_bars`` included) as little-endian float32 in one
base64 string, the steps :func:`samplers.timesteps` visits for each number of steps (so that the
page takes exactly the Python sampler's steps), the class names and, to draw behind the particles,
each class's points. :func:`model_from_export` rebuilds the ``DenoisingMLP`` from that data (the
tests' proof that nothing is lost); :func:`export_nbytes` is the size of the float32 payload.
"""

import base64
from collections.abc import Sequence

import numpy as np
import torch

from ..model import DenoisingMLP
from ..samplers import timesteps
from ..utils import check_points

FORMAT = "diffusion2d-live/1"
# What the browser tests (tests/site/test_site_live.py) hold the page to, glued into the chapter:
# the page's eps_theta (explorer.LIVE_JS) against PyTorch's (max abs difference), a deterministic
# DDIM run from the same x_T against samplers.sample (max abs difference at x_0), and the mean
# distance from the page's dino samples at guidance scale 1 to the nearest dino point (z-normalised
# units).
FORWARD_TOL, DDIM_TOL, DINO_TOL = 1e-4, 1e-3, 0.1


def _check_model(model: object) -> DenoisingMLP:
    if not isinstance(model, DenoisingMLP):
        raise TypeError(f"model must be a class-conditional DenoisingMLP, got "
                        f"{type(model).__name__}")
    wanted = {"num_classes": model.num_classes is not None, "prediction": model.prediction == "eps",
              "input_embedding": model.input_embedding == "fourier",
              "time_embedding": model.time_embedding == "fourier"}  # fmt: skip
    for name, ok in wanted.items():
        if not ok:
            raise ValueError(f"model must be class-conditional with eps-prediction and Fourier "
                             f"embeddings (what the page's script computes); its {name} is "
                             f"{getattr(model, name)!r}")
    if not float(model.alpha_bars[-1]) > 0:
        raise ValueError("model must have alpha_bar_{T-1} > 0: an eps-model cannot give x_0 at "
                         "zero terminal SNR (samplers.sample refuses it too)")
    return model


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode("ascii")


def export_model(model: DenoisingMLP, classes: Sequence[str],
                 points: torch.Tensor | None = None) -> dict:  # fmt: skip
    """The page data of ``model``: ``{"format", "T", "hidden", "num_blocks", "num_classes",
    "classes", "timesteps", "tensors": [[name, shape], ...], "float32": base64}`` (the tensors of
    ``model.state_dict()`` in order, float32, concatenated), plus ``"points"`` (base64 float32
    (M, 2)) if ``points`` holds the classes' points as equal blocks in class order (e.g.
    ``load_datasaurus("all")``). ``classes`` names the classes: class index = position."""
    _check_model(model)
    classes = list(classes)
    if len(classes) != model.num_classes or not all(isinstance(c, str) and c for c in classes):
        raise ValueError(f"classes must name the model's {model.num_classes} classes, got "
                         f"{classes!r}")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes must be distinct names, got {classes!r}")
    tensors = [(k, v.detach().cpu().float()) for k, v in model.state_dict().items()]
    out = {
        "format": FORMAT, "T": model.T, "hidden": model.inp.out_features,
        "num_blocks": len(model.blocks), "num_classes": model.num_classes, "classes": classes,
        "schedule": model.schedule,
        "timesteps": [timesteps(model.T, n) for n in range(1, model.T + 1)],  # [n - 1]: n steps
        "tensors": [[k, list(v.shape)] for k, v in tensors],
        "float32": _b64(np.concatenate([v.numpy().ravel() for _, v in tensors])),
    }  # fmt: skip
    if points is not None:
        check_points("points", points)
        if len(points) % len(classes):
            raise ValueError(f"points must hold {len(classes)} equal blocks of points, one per "
                             f"class, got {len(points)} points")
        out["points"] = _b64(points.detach().cpu().numpy())
    return out


def _floats(data: dict, key: str) -> np.ndarray:
    try:
        return np.frombuffer(base64.b64decode(data[key], validate=True), dtype="<f4")
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"data[{key!r}] must be base64 float32 of export_model ({err})") from err


def model_from_export(data: dict) -> DenoisingMLP:
    """The ``DenoisingMLP`` that :func:`export_model` wrote ``data`` from (eval mode, float32)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        got = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"data must be the output of export_model (format {FORMAT!r}), got "
                         f"{got!r}")
    model = DenoisingMLP(1e-4, 0.02, data["T"], hidden=data["hidden"],
                         num_blocks=data["num_blocks"], num_classes=data["num_classes"],
                         schedule=data.get("schedule", "linear"))
    flat, state, at = _floats(data, "float32"), {}, 0
    for name, shape in data["tensors"]:
        size = int(np.prod(shape))
        if at + size > len(flat):
            raise ValueError(f"data['float32'] holds {len(flat)} values, too few for the "
                             f"tensors listed in data['tensors']")
        state[name] = torch.from_numpy(flat[at : at + size].copy()).reshape(shape)
        at += size
    if at != len(flat):
        raise ValueError(f"data['float32'] holds {len(flat)} values, data['tensors'] lists {at}")
    model.load_state_dict(state)  # the schedule buffers too
    return model.eval()


def export_points(data: dict) -> np.ndarray:
    """The points of ``data["points"]`` as a float32 array (M, 2) (empty if none were exported)."""
    return _floats(data, "points").reshape(-1, 2) if "points" in data else np.zeros((0, 2), "f4")


def export_nbytes(data: dict) -> int:
    """Bytes of the float32 payload (weights, buffers, points) before base64."""
    return sum(len(base64.b64decode(data[k])) for k in ("float32", "points") if k in data)
