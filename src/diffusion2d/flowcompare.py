"""Flow matching beside DDPM on equal terms (the flow-matching chapter): the same noisy point in
both time conventions, and how well each model estimates the data point behind it.

1. ``flow_time``: the flow time t whose point x_t = (1 - t) z + t x_1 carries the same
   signal-to-noise ratio as DDPM's x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps (DDPM eq.
   4): t / (1 - t) = sqrt(alpha_bar / (1 - alpha_bar)). With the same x_0 = x_1 and eps = z
   the flow's point is DDPM's times c = sqrt(t^2 + (1 - t)^2) = 1 / (sqrt(alpha_bar) +
   sqrt(1 - alpha_bar)), the scale of ``flow.exact_velocity``.
2. ``data_estimates``: each model's estimate of the data point at such a pair of points; DDIM
   eq. 12's predicted x_0 for an eps-model, ``x_t + (1 - t) v`` for a velocity model (the Euler
   step to t = 1), and the exact ``E[x_0 | x_t]`` of the data set (``exact.posterior_mean_x0``).
3. ``matched_errors``: the mean distance of each model's estimate to the exact one, at DDPM's
   steps and the flow times with their SNR, on the same draws: a table.
"""

import pandas as pd
import torch

from .exact import posterior_mean_x0
from .parameterisation import x0_from_eps
from .utils import check_points, evaluating


def flow_time(alpha_bar) -> torch.Tensor:
    """Step 1: the flow time with the SNR of ``alpha_bar`` (float or tensor, in (0, 1])."""
    ab = torch.as_tensor(alpha_bar, dtype=torch.float64)
    if ab.numel() and not (float(ab.min()) > 0.0 and float(ab.max()) <= 1.0):
        raise ValueError(f"alpha_bar must lie in (0, 1], got values in [{float(ab.min())}, "
                         f"{float(ab.max())}]")
    return ab.sqrt() / (ab.sqrt() + (1.0 - ab).sqrt())


@torch.no_grad()
def data_estimates(eps_model, velocity, data: torch.Tensor, step: int, x0: torch.Tensor,
                   eps: torch.Tensor) -> dict[str, torch.Tensor]:
    """Step 2 at DDPM's 0-based ``step`` of ``eps_model`` (its schedule) and the flow time with
    its SNR, from the clean points ``x0`` and noise ``eps`` (N, 2): ``{"exact", "DDPM", "flow"}``,
    each (N, 2)."""
    check_points("x0", x0)
    check_points("eps", eps, ("x0", x0))
    ab = eps_model.alpha_bars[step].double()
    t = float(flow_time(ab))
    x_ddpm = ab.sqrt() * x0.double() + (1.0 - ab).sqrt() * eps.double()  # (N, 2), DDPM eq. 4
    x_flow = (1.0 - t) * eps.double() + t * x0.double()  # (N, 2): = c x_ddpm
    n = len(x0)
    with evaluating(eps_model), evaluating(velocity):
        eps_pred = eps_model(x_ddpm.float(), torch.full((n,), step)).double()
        v = velocity(x_flow.float(), torch.full((n,), t)).double()
    return {"exact": posterior_mean_x0(x_ddpm, data.double(), ab),
            "DDPM": x0_from_eps(x_ddpm, eps_pred, ab), "flow": x_flow + (1.0 - t) * v}


def matched_errors(eps_model, velocity, data: torch.Tensor, steps, num: int = 4000,
                   seed: int = 0) -> pd.DataFrame:
    """Step 3: a row per 0-based DDPM step of ``steps`` (index ``"step"``): ``alpha_bar``, the
    matched ``flow t``, and in columns ``"DDPM"`` and ``"flow"`` the mean distance of each model's
    estimate (:func:`data_estimates`) to the exact ``E[x_0 | x_t]``, at x_0 drawn from ``data``
    (M, 2) and eps ~ N(0, I) (``num`` of each, seeded; the same draws for both)."""
    check_points("data", data)
    g = torch.Generator().manual_seed(seed)
    rows = {}
    for step in steps:
        x0 = data[torch.randint(0, len(data), (num,), generator=g)]  # (num, 2)
        est = data_estimates(eps_model, velocity, data, step, x0, torch.randn(num, 2, generator=g))
        err = {k: float((est[k] - est["exact"]).norm(dim=1).mean()) for k in ("DDPM", "flow")}
        ab = float(eps_model.alpha_bars[step])
        rows[step] = {"alpha_bar": ab, "flow t": float(flow_time(ab)), **err}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("step")
