"""Sample-quality and memorisation metrics for 2-D point clouds.

- Chamfer distance: mean nearest-neighbour Euclidean distance from samples to data plus the same
  from data to samples (Fan et al. 2017). Low only when samples are on the shape *and* cover it.
- MMD^2 with a sum of Gaussian kernels, unbiased estimator (Gretton et al. 2012, eq. 3).
- Nearest-neighbour distances, for memorisation: how close each sample lies to its nearest
  training point, against the data's own spacing (each point's distance to its nearest other point).
- KL divergence of a Gaussian fit to N(0, I): how far q(x_T) (DDPM eq. 4 at t = T) is from the
  prior the sampler starts from.
"""

from __future__ import annotations

import torch

from ._checks import check_points


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


def prior_mismatch_kl(data: torch.Tensor, alpha_bar_T: float) -> float:
    """KL to N(0, I) of the Gaussian fit of q(x_T) (eq. 4 at t = T) for data x_0.

    Uses the closed-form moments of eq. 4: mean sqrt(ab) mu_0, covariance ab Cov(x_0) + (1 - ab) I.
    """
    check_points("data", data)
    x = data.double()
    ab = float(alpha_bar_T)
    mu = ab**0.5 * x.mean(0)
    cov = ab * torch.cov(x.T) + (1.0 - ab) * torch.eye(x.shape[1], dtype=x.dtype)
    return float(0.5 * (torch.trace(cov) + mu @ mu - x.shape[1] - torch.logdet(cov)))
