"""What a network's output implies, whatever it predicts (eps, x_0 or v; Salimans & Ho 2022,
Sec. 4): the implied ``(eps, x_0)`` of any denoiser (:func:`eps_and_x0_of`) and their errors,
step by step, against the exact denoiser of the training set (:func:`implied_errors`), the
minimiser of every one of the three losses.

The identities of :mod:`parameterisation` carry one prediction's error into the other's with a
factor set by the schedule alone: an error d in eps is an error ``sqrt((1 - alpha_bar) /
alpha_bar) d`` in x_0 (DDPM eq. 4 solved for x_0), so an eps-model's x_0 is poor where alpha_bar
is small (large t), and an x_0-model's eps is poor where alpha_bar is near 1 (small t);
:func:`amplification` is that factor. Everything uses explicit seeds and one torch thread.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from .cache import cached, digest, model_digest, result_key
from .forward import q_sample
from .metrics import rms_length as _rms
from .parameterisation import eps_and_x0

# sqrt((1 - alpha_bar) / alpha_bar) per step: an error in eps becomes one in x_0 (1 / it back)
from .schedule_errors import x0_gain as amplification
from .utils import check_points, check_positive_int, torch_threads

# the modules whose code determines an implied_errors result (besides the models' weights)
MODULES = ("exact.py", "forward.py", "metrics.py", "model.py", "parameterisation.py",
           "predictions.py", "schedules.py", "utils.py")  # fmt: skip


@torch.no_grad()
def eps_and_x0_of(model, xt: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(eps, x_0)`` (N, 2) each that ``model`` implies at ``xt`` (N, 2) and 0-based step ``t``:
    its native read-out (``model.native``) turned into both by the identities, or for a model
    without one (an eps-model such as :class:`exact.ExactDenoiser`) ``model(xt, t)`` as eps."""
    check_points("xt", xt)
    steps = torch.full((len(xt),), int(t), dtype=torch.long)  # (N,)
    prediction = getattr(model, "prediction", "eps")
    out = model.native(xt, steps) if hasattr(model, "native") else model(xt, steps)  # (N, 2)
    return eps_and_x0(prediction, out, xt, model.alpha_bars.to(xt.dtype)[int(t)])



def implied_errors(models: Mapping[str, object], exact, points: torch.Tensor, repeats: int = 8,
                   seed: int = 0) -> pd.DataFrame:
    """RMS error of each model's implied eps and x_0 against the exact ``E[eps | x_t]`` and
    ``E[x_0 | x_t]`` of ``exact`` (an :class:`exact.ExactDenoiser`, the models' schedule), over
    x_t ~ q(x_t): every one of ``points`` (M, 2) noised ``repeats`` times at every step (eq. 4,
    one shared set of eps drawn from ``seed``). One row per 0-based step t = 0..T-1 (index
    ``t``); columns ``"eps:<name>"`` and ``"x0:<name>"`` per model, and ``amplification``.
    Cached."""
    check_positive_int("repeats", repeats)
    data = check_points("points", torch.as_tensor(points)).double()  # (M, 2)
    for name, m in models.items():
        if m.T != exact.T or not torch.allclose(m.alpha_bars.double(), exact.alpha_bars.double()):
            raise ValueError(f"model {name!r} does not share the schedule of exact")
        if hasattr(m, "eval"):
            m.eval()

    def run() -> dict:
        g = torch.Generator().manual_seed(seed)
        x0 = data.repeat(repeats, 1)  # (R*M, 2)
        abars = exact.alpha_bars.double()  # (T,)
        out = {f"{kind}:{name}": [] for kind in ("eps", "x0") for name in models}
        with torch_threads(1):
            for s in range(exact.T):
                xt = q_sample(x0, s, torch.randn(x0.shape, generator=g, dtype=x0.dtype), abars)
                best = eps_and_x0_of(exact, xt, s)  # (R*M, 2) each, float64
                for name, m in models.items():
                    got = eps_and_x0_of(m, xt.float(), s)
                    for kind, a, b in zip(("eps", "x0"), got, best, strict=True):
                        out[f"{kind}:{name}"].append(_rms(a.double() - b))
        return out

    key = result_key(MODULES, models={n: model_digest(m) for n, m in models.items()},
                     exact=model_digest(exact), points=digest(data), repeats=repeats, seed=seed)
    result = cached(key, run)
    table = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in result.items()},
                         index=pd.Index(np.arange(exact.T), name="t"))
    table["amplification"] = amplification(exact.alpha_bars)
    return table
