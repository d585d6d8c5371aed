"""Flow matching (Lipman et al. 2023) on the straight path of rectified flow (Liu et al. 2023).

Time runs the other way from DDPM: ``t`` is a float in [0, 1], t = 0 the noise z ~ N(0, I) and
t = 1 the data x_1 (as in both papers, the MIT notes and Diffusion Explorer; DDPM's step t = 0 is
the data). Times are float tensors of shape (N,) (or one float for the batch).

1. The path and its velocity (Lipman et al. eq. 22 with sigma_min = 0; Liu et al. eq. 1):
   ``x_t = (1 - t) z + t x_1`` and ``dx_t/dt = x_1 - z``.
2. ``flow_loss``: conditional flow matching, ``|| (x_1 - z) - v_theta(x_t, t) ||^2`` (Lipman et
   al. eq. 23, Liu et al. eq. 1), averaged over batch and coordinates like L_simple.
3. ``VelocityMLP``: v_theta(x, t), the trunk of ``DenoisingMLP`` with ``t * T`` in its time
   embedding (the fourier embedding sees the same angles as a DDPM model on T steps).
4. ``exact_velocity``: the minimiser of (2) for a finite data set, the marginal field E[x_1 - z |
   x_t] (Lipman et al. eq. 8) = (E[x_1 | x_t] - x_t) / (1 - t). The path is DDPM's eq. 4 in
   another scale: x_t / c_t with c_t = sqrt(t^2 + (1 - t)^2) is x at alpha_bar = t^2 / c_t^2, so
   E[x_1 | x_t] is ``exact.posterior_mean_x0`` (the same softmax over the data points).
5. ``flow_sample``: Euler or Heun steps on the grid t_k = k / num_steps; Heun makes no correction
   on the final step, where the exact field of a finite data set is singular (as EDM Algorithm 1
   at sigma = 0).
6. ``path_length_ratio``: how far a particle travels against how far it gets (1: straight).
"""

import torch
from torch import nn

from .model import build_trunk
from .utils import check_points, check_positive_int, evaluating

METHODS = ("euler", "heun")


def check_times(name: str, t: object, n: int) -> torch.Tensor:
    """Require flow times in [0, 1]: a float, or a floating tensor () or (n,); returns (n,)."""
    if isinstance(t, float):
        t = torch.tensor(t)
    if not isinstance(t, torch.Tensor) or not t.is_floating_point():
        got = t.dtype if isinstance(t, torch.Tensor) else type(t).__name__
        raise TypeError(f"{name} must hold float times in [0, 1] (float tensor), got {got}")
    if t.ndim > 1 or (t.ndim == 1 and len(t) != n):
        raise ValueError(f"{name} must be a scalar or of shape ({n},), got {tuple(t.shape)}")
    if t.numel() and not (0.0 <= float(t.min()) and float(t.max()) <= 1.0):  # also NaN
        raise ValueError(f"{name} must lie in [0, 1] (t = 0 noise, t = 1 data), got values in "
                         f"[{float(t.min())}, {float(t.max())}]")
    return t.expand(n)


def flow_path(x1: torch.Tensor, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Step 1: ``x_t = (1 - t) z + t x_1``, shape (N, 2)."""
    check_points("x1", x1)
    check_points("z", z, ("x1", x1))
    t = check_times("t", t, len(x1)).to(x1.dtype)[:, None]  # (N, 1)
    return (1.0 - t) * z + t * x1


def flow_loss(model, x1: torch.Tensor, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Step 2, on one batch: x1 (data) and z (noise) (B, 2), t (B,) in [0, 1]; a scalar."""
    t = check_times("t", t, len(x1))  # (B,)
    xt = flow_path(x1, z, t)  # (B, 2)
    return (((x1 - z) - model(xt, t)) ** 2).mean()


class VelocityMLP(nn.Module):
    """Step 3: v_theta(x_t, t), the velocity field of flow matching. Built like DenoisingMLP:
    position embedding, time embedding (of ``t * T``), residual blocks, read-out to R^2."""

    def __init__(self, input_embedding: str = "fourier", time_embedding: str = "fourier",
                 hidden: int = 64, num_blocks: int = 3, T: int = 50):
        super().__init__()
        self.T = T
        build_trunk(self, input_embedding, time_embedding, hidden, num_blocks, T)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        check_points("x", x)
        t = check_times("t", t, len(x))
        return self.out(self.blocks(self.embed(x, t)))  # (N, 2)

    def embed(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The first hidden layer (N, hidden), before the residual blocks (checked times t)."""
        return self.inp(torch.cat([self.pos(x), self.time(t * self.T)], dim=1))


def exact_velocity(x: torch.Tensor, data: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Step 4: E[x_1 - z | x_t = x] for the data points ``data`` (M, 2), t < 1; shape (N, 2)."""
    check_points("x", x)
    check_points("data", data)
    t = check_times("t", t, len(x)).to(x.dtype)
    if t.numel() and float(t.max()) >= 1.0:
        raise ValueError("t must be below 1: the exact field of a finite data set is singular "
                         "at the data (t = 1)")
    from .exact import posterior_mean_x0  # here: exact.py is no training module (cache.py)

    c2 = t**2 + (1.0 - t) ** 2  # (N,): x_t / c_t is x at alpha_bar = t^2 / c_t^2
    x1_hat = posterior_mean_x0(x / c2.sqrt()[:, None], data.to(x.dtype), t**2 / c2)  # (N, 2)
    return (x1_hat - x) / (1.0 - t)[:, None]


@torch.no_grad()
def flow_sample(num_samples: int, model, num_steps: int = 50, method: str = "euler",
                generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Step 5: integrate dx/dt = model(x, t) from noise (the first draw from ``generator``) at
    t = 0 to t = 1; a list of num_steps + 1 tensors (num_samples, 2), the noise first. Network
    evaluations: num_steps (Euler) or 2 num_steps - 1 (Heun)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    check_positive_int("num_samples", num_samples)
    check_positive_int("num_steps", num_steps)
    with evaluating(model):
        x = torch.randn(num_samples, 2, generator=generator)  # (N, 2): z ~ N(0, I)
        ts = torch.linspace(0.0, 1.0, num_steps + 1)  # t_k = k / num_steps
        xs = [x]
        for k in range(num_steps):
            h = ts[k + 1] - ts[k]
            v = model(x, ts[k].expand(num_samples))  # (N, 2)
            x_next = x + h * v  # Euler
            if method == "heun" and k < num_steps - 1:  # trapezoid with the slope at t_{k+1}
                x_next = x + 0.5 * h * (v + model(x_next, ts[k + 1].expand(num_samples)))
            x = x_next
            xs.append(x)
        return xs


def path_length_ratio(xs: list[torch.Tensor]) -> torch.Tensor:
    """Step 6: the length of each particle's polyline ``xs`` (a list of (N, 2), as sampled) over
    the distance between its ends, shape (N,): 1 for a straight path, more the more it bends."""
    if len(xs) < 2:
        raise ValueError(f"xs must hold at least 2 positions, got {len(xs)}")
    path = torch.stack([check_points(f"xs[{k}]", x, ("xs[0]", xs[0])) for k, x in enumerate(xs)])
    length = (path[1:] - path[:-1]).norm(dim=-1).sum(0)  # (N,)
    return length / (path[-1] - path[0]).norm(dim=-1)
