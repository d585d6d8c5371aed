"""Sample-quality and memorisation metrics for 2-D point clouds.

Chamfer distance (Fan et al. 2017: low only when samples are on the shape *and* cover it);
unbiased MMD^2 with a sum of Gaussian kernels (Gretton et al. 2012, eq. 3); nearest-neighbour
distances and the data's own spacing, for memorisation; the KL divergence of q(x_T) (DDPM eq. 4
at t = T) and of a Gaussian to N(0, I), the prior the sampler starts from; the summary
statistics that cannot tell the Datasaurus shapes apart, beside a distance that can.
"""

import math

import pandas as pd
import torch

from .data import z_normalize
from .utils import check_points


def nearest_neighbour_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """For each row of ``a`` (N, 2), the Euclidean distance to the closest row of ``b`` (M, 2)."""
    check_points("a", a)
    check_points("b", b)
    return torch.cdist(a.double(), b.double()).min(dim=1).values  # (N,)


def rms_length(v: torch.Tensor) -> float:
    """Root-mean-square length of the vectors v (N, 2): an error's or a field's size."""
    return float(v.pow(2).sum(1).mean().sqrt())


def data_spacing(x: torch.Tensor) -> torch.Tensor:
    """Each point's distance to its nearest *other* point of the same set, shape (N,)."""
    check_points("x", x)
    d = torch.cdist(x.double(), x.double())
    d.fill_diagonal_(float("inf"))
    return d.min(dim=1).values


def chamfer_distance(samples: torch.Tensor, data: torch.Tensor) -> float:
    """Symmetric Chamfer distance (mean of Euclidean nearest-neighbour distances both ways)."""
    d = torch.cdist(check_points("samples", samples).double(), check_points("data", data).double())
    return float(d.min(dim=1).values.mean() + d.min(dim=0).values.mean())  # one (N, M) matrix


def mmd_rbf(a: torch.Tensor, b: torch.Tensor,
            bandwidths: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5, 1.0)) -> float:
    """Unbiased MMD^2 between samples ``a`` and ``b`` with k = sum_s exp(-|x-y|^2 / (2 s^2)).
    Within a set, k is symmetric with k(x, x) = len(bandwidths): the mean over pairs i != j is
    the mean over the pairs i < j (``torch.pdist``, half the kernel evaluations)."""
    check_points("a", a)
    check_points("b", b)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("mmd_rbf needs at least two points in each set")

    def mean_kernel(d: torch.Tensor) -> torch.Tensor:  # d: distances, any shape
        d2 = d.double() ** 2
        return sum(torch.exp(d2 / (-2.0 * s * s)).mean() for s in bandwidths)

    a, b = a.double(), b.double()
    within = mean_kernel(torch.pdist(a)) + mean_kernel(torch.pdist(b))  # pairs i < j
    return float(within - 2.0 * mean_kernel(torch.cdist(a, b)))


def gaussian_kl(mean: torch.Tensor, cov: torch.Tensor) -> float:
    """KL( N(mean, cov) || N(0, I) ) in nats, closed form; 0 for matched moments."""
    return 0.5 * float(torch.trace(cov) + mean @ mean - len(mean) - torch.logdet(cov))


def prior_mismatch_kl(data: torch.Tensor, alpha_bar_T: float, num_samples: int = 20000) -> float:
    """KL( q(x_T) || N(0, I) ) in nats for the mixture q(x_T) = 1/M sum_i N(sqrt(ab) x0_i,
    (1 - ab) I) of eq. 4 at t = T: no closed form, so a seeded Monte Carlo estimate of
    E_q[log q(x) - log N(x; 0, I)] with exact log-densities (it sees the shape of the data left
    in x_T, not just its mean and covariance)."""
    x0 = check_points("data", data).double()
    ab = float(alpha_bar_T)
    if not 0.0 < ab < 1.0:
        raise ValueError(f"alpha_bar_T must lie in (0, 1), got {alpha_bar_T}")
    g = torch.Generator().manual_seed(0)
    centres, var, d = ab**0.5 * x0, 1.0 - ab, x0.shape[1]  # (M, d), scalar, d = 2
    pick = torch.randint(0, len(x0), (num_samples,), generator=g)
    x = centres[pick] + var**0.5 * torch.randn(num_samples, d, generator=g, dtype=x0.dtype)
    log_q = torch.logsumexp(-(torch.cdist(x, centres) ** 2) / (2 * var), dim=1)
    log_q = log_q - math.log(len(x0)) - 0.5 * d * math.log(2 * math.pi * var)  # (S,)
    log_p = -0.5 * (x**2).sum(1) - 0.5 * d * math.log(2 * math.pi)  # (S,)
    return float((log_q - log_p).mean())


def shape_statistics(clouds: dict[str, torch.Tensor], reference: str) -> pd.DataFrame:
    """A row per point cloud of ``clouds`` ({name: (N, 2) raw coordinates}): the means and
    standard deviations (divisor N - 1) of x and y and their correlation, all in raw units, and
    the Chamfer distance to ``clouds[reference]`` with both z-normalised per coordinate."""
    if reference not in clouds:
        raise ValueError(f"reference must be one of {', '.join(clouds)}, got {reference!r}")
    ref = z_normalize(check_points(reference, clouds[reference]).double())  # (M, 2)
    rows = {}
    for name, x in clouds.items():
        x = check_points(name, x).double()  # (N, 2)
        mean, std = x.mean(0), x.std(0)
        rows[name] = {"mean x": float(mean[0]), "mean y": float(mean[1]), "sd x": float(std[0]),
                      "sd y": float(std[1]), "corr": float(torch.corrcoef(x.T)[0, 1]),
                      "chamfer": chamfer_distance(z_normalize(x), ref)}
    return pd.DataFrame.from_dict(rows, orient="index")
