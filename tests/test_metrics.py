import math

import pytest
import torch

from diffusion2d.metrics import (
    chamfer_distance,
    data_spacing,
    gaussian_kl,
    mmd_rbf,
    nearest_neighbour_distances,
    prior_mismatch_kl,
)


def test_chamfer_by_hand():
    a = torch.tensor([[0.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[0.0, 1.0]])
    # a -> b: 1 and sqrt(2); b -> a: 1
    assert chamfer_distance(a, b) == pytest.approx((1 + 2**0.5) / 2 + 1)
    assert chamfer_distance(a, a) == 0.0
    assert nearest_neighbour_distances(a, b).tolist() == pytest.approx([1.0, 2**0.5])
    assert data_spacing(a).tolist() == pytest.approx([1.0, 1.0])


def test_mmd_and_kl():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(500, 2, generator=g), torch.randn(500, 2, generator=g)
    assert abs(mmd_rbf(x, y)) < 0.01
    assert mmd_rbf(x, y + 2.0) > 0.5
    assert gaussian_kl(x.double().mean(0), torch.cov(x.double().T)) < 0.02
    y2 = (2 * x + 1).double()
    assert gaussian_kl(y2.mean(0), torch.cov(y2.T)) > 1.0
    assert gaussian_kl(torch.ones(2), 4 * torch.eye(2)) == pytest.approx(4 - math.log(4))
    # q(x_T) of data that is itself N(0, I) is N(0, I): KL 0 whatever alpha_bar_T
    assert abs(prior_mismatch_kl(torch.randn(4000, 2, generator=g), 0.5)) < 0.02
    # one data point at the origin: q(x_T) = N(0, (1 - ab) I), KL = (d/2)(s2 - 1 - log s2)
    s2 = 1 - 0.6
    want = s2 - 1 - math.log(s2)
    assert prior_mismatch_kl(torch.zeros(1, 2), 0.6) == pytest.approx(want, rel=0.03)
    dino_like = torch.randn(142, 2, generator=g)
    assert prior_mismatch_kl(dino_like, 0.28) < prior_mismatch_kl(dino_like, 0.6)
    with pytest.raises(ValueError, match="at least two points"):
        mmd_rbf(x[:1], y)


def test_mmd_by_hand():
    """Gretton et al. 2012, eq. 3, written out pair by pair: the mean of k over pairs i != j
    within each set, minus twice the mean over all pairs across them."""
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(7, 2, generator=g), torch.randn(5, 2, generator=g) + 0.3
    bandwidths = (0.05, 0.1, 0.2, 0.5, 1.0)

    def k(x, y):
        d2 = float(((x.double() - y.double()) ** 2).sum())
        return sum(math.exp(-d2 / (2 * s * s)) for s in bandwidths)

    def within(x):
        n = len(x)
        return sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))

    across = sum(k(p, q) for p in a for q in b) / (len(a) * len(b))
    assert mmd_rbf(a, b) == pytest.approx(within(a) + within(b) - 2 * across, rel=1e-12)
    assert mmd_rbf(a, a) == pytest.approx(2 * within(a) - 2 * sum(
        k(p, q) for p in a for q in a) / len(a) ** 2, rel=1e-12)


def test_shape_statistics_by_hand():
    import diffusion2d
    from diffusion2d.data import z_normalize
    from diffusion2d.metrics import shape_statistics

    square = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    line = torch.tensor([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    df = shape_statistics({"square": square, "line": line}, reference="square")
    assert list(df.columns) == ["mean x", "mean y", "sd x", "sd y", "corr", "chamfer"]
    sd = (4 / 3) ** 0.5  # divisor N - 1
    assert df.loc["square"].tolist()[:5] == pytest.approx([1.0, 1.0, sd, sd, 0.0])
    assert df.loc["line", "corr"] == pytest.approx(1.0)
    assert df.loc["square", "chamfer"] == 0.0  # the reference against itself
    # the distance is taken between the z-normalised clouds, so it ignores scale and shift
    moved = {"a": square, "b": 10 * square + 5}
    assert shape_statistics(moved, "a").loc["b", "chamfer"] == pytest.approx(0.0, abs=1e-12)
    want = chamfer_distance(z_normalize(line.double()), z_normalize(square.double()))
    assert df.loc["line", "chamfer"] == pytest.approx(want)
    with pytest.raises(ValueError, match="reference must be one of square, line"):
        shape_statistics({"square": square, "line": line}, reference="dino")
    assert diffusion2d.DATASAURUS_SHAPES[0] == "dino" and len(diffusion2d.DATASAURUS_SHAPES) == 13
