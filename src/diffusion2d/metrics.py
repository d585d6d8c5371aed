"""Sample-quality and memorisation metrics for 2-D point clouds.

- Chamfer distance: mean nearest-neighbour Euclidean distance from samples to data plus the same
  from data to samples (Fan et al. 2017). Low only when samples are on the shape *and* cover it.
- MMD^2 with a sum of Gaussian kernels, unbiased estimator (Gretton et al. 2012, eq. 3).
- Nearest-neighbour distances, for memorisation: how close each sample lies to its nearest
  training point, against the data's own spacing (each point's distance to its nearest other point).
- KL divergence of q(x_T) (DDPM eq. 4 at t = T, a mixture over the data) to N(0, I), the prior
  the sampler starts from; and, for any point cloud, the KL of its Gaussian fit to N(0, I).
"""

from __future__ import annotations

import math

import torch

from .utils import check_points


def nearest_neighbour_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """For each row of ``a`` (N, 2), the Euclidean distance to the closest row of ``b`` (M, 2)."""
    check_points("a", a)
    check_points("b", b)
    return torch.cdist(a.double(), b.double()).min(dim=1).values  # (N,)


def data_spacing(x: torch.Tensor) -> torch.Tensor:
    """Each point's distance to its nearest *other* point of the same set, shape (N,)."""
    check_points("x", x)
    d = torch.cdist(x.double(), x.double())
    d.fill_diagonal_(float("inf"))
    return d.min(dim=1).values


def chamfer_distance(samples: torch.Tensor, data: torch.Tensor) -> float:
    """Symmetric Chamfer distance (mean of Euclidean nearest-neighbour distances both ways)."""
    return float(
        nearest_neighbour_distances(samples, data).mean()
        + nearest_neighbour_distances(data, samples).mean()
    )


def mmd_rbf(
    a: torch.Tensor, b: torch.Tensor, bandwidths: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 1.0)
) -> float:
    """Unbiased MMD^2 between samples ``a`` and ``b`` with k = sum_s exp(-|x-y|^2 / (2 s^2))."""
    check_points("a", a)
    check_points("b", b)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("mmd_rbf needs at least two points in each set")
    a, b = a.double(), b.double()

    def kernel(x, y):
        d2 = torch.cdist(x, y) ** 2
        return sum(torch.exp(-d2 / (2.0 * s * s)) for s in bandwidths)

    kaa, kbb, kab = kernel(a, a), kernel(b, b), kernel(a, b)
    n, m = len(a), len(b)
    term_a = (kaa.sum() - kaa.diagonal().sum()) / (n * (n - 1))
    term_b = (kbb.sum() - kbb.diagonal().sum()) / (m * (m - 1))
    return float(term_a + term_b - 2.0 * kab.mean())


def gaussian_kl_to_standard(x: torch.Tensor) -> float:
    """KL( N(mean(x), Cov(x)) || N(0, I) ) for a point cloud x (N, d): 0 means matched moments."""
    check_points("x", x, dim=x.shape[1] if x.ndim == 2 else 2)
    x = x.double()
    mu = x.mean(0)
    cov = torch.cov(x.T)
    d = x.shape[1]
    return float(0.5 * (torch.trace(cov) + mu @ mu - d - torch.logdet(cov)))


def prior_mismatch_kl(
    data: torch.Tensor, alpha_bar_T: float, num_samples: int = 20000, seed: int = 0
) -> float:
    """KL( q(x_T) || N(0, I) ) in nats, for the exact noised data distribution q(x_T).

    q(x_T) is the mixture of eq. 4 at t = T: 1/M sum_i N(sqrt(ab) x0_i, (1 - ab) I). Its KL to the
    sampler's start N(0, I) has no closed form; this is a seeded Monte Carlo estimate
    E_q[log q(x) - log N(x; 0, I)] with exact log-densities, so it sees the shape of the data left
    in x_T, not just its mean and covariance.
    """
    check_points("data", data)
    x0 = data.double()
    ab = float(alpha_bar_T)
    if not 0.0 < ab < 1.0:
        raise ValueError(f"alpha_bar_T must lie in (0, 1), got {alpha_bar_T}")
    g = torch.Generator().manual_seed(seed)
    centres = ab**0.5 * x0  # (M, d)
    var = 1.0 - ab
    pick = torch.randint(0, len(x0), (num_samples,), generator=g)
    x = centres[pick] + var**0.5 * torch.randn(
        num_samples, x0.shape[1], generator=g, dtype=x0.dtype
    )
    d = x0.shape[1]
    log_q = torch.logsumexp(-(torch.cdist(x, centres) ** 2) / (2 * var), dim=1)
    log_q = log_q - math.log(len(x0)) - 0.5 * d * math.log(2 * math.pi * var)  # (S,)
    log_p = -0.5 * (x**2).sum(1) - 0.5 * d * math.log(2 * math.pi)  # (S,)
    return float((log_q - log_p).mean())
