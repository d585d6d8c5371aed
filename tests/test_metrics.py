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
