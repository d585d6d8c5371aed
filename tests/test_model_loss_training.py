import pytest
import torch

from diffusion2d import DenoisingMLP, TrainConfig, get_diffusion_parameters, get_loss, train
from diffusion2d.training import build_model


class ConstEps(torch.nn.Module):
    def __init__(self, value):
        super().__init__()
        self.value = torch.tensor(value)

    def forward(self, xt, t):
        return self.value.expand_as(xt)


def test_loss_on_fixed_batch_by_hand():
    _, _, ab = get_diffusion_parameters(0.1, 0.3, 3)  # alpha_bars .9 .72 .504
    x0 = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    eps = torch.tensor([[0.5, -0.5], [1.0, 0.0]])
    ts = torch.tensor([0, 2])
    # A model that returns x_t itself: the loss is mean((eps - x_t)^2) with x_t from eq. 4.
    xt = torch.stack(
        [0.9**0.5 * x0[0] + 0.1**0.5 * eps[0], 0.504**0.5 * x0[1] + 0.496**0.5 * eps[1]]
    )
    want = ((eps - xt) ** 2).mean()
    assert get_loss(lambda x, t: x, x0, eps, ab, ts).item() == pytest.approx(want.item(), rel=1e-6)
    # A model that predicts eps exactly has zero loss; a constant model has mean((eps - c)^2).
    assert get_loss(ConstEps([0.0, 0.0]), x0, eps, ab, ts).item() == pytest.approx(0.375)


def test_model_shapes_and_embeddings():
    torch.manual_seed(0)
    x, t = torch.randn(5, 2), torch.tensor([0, 1, 2, 3, 49])
    for pos in ("identity", "fourier"):
        for time in ("zero", "linear", "fourier"):
            model = DenoisingMLP(1e-4, 0.05, 50, pos, time, hidden=16, num_blocks=1)
            out = model(x, t)
            assert out.shape == (5, 2) and torch.isfinite(out).all()
            assert model.T == 50 and model.betas.shape == model.alpha_bars.shape == (50,)
    # with no time embedding the output cannot depend on t
    blind = DenoisingMLP(1e-4, 0.05, 50, "fourier", "zero", hidden=16, num_blocks=1)
    assert torch.equal(blind(x, torch.zeros(5, dtype=torch.long)), blind(x, t))
    aware = DenoisingMLP(1e-4, 0.05, 50, "fourier", "fourier", hidden=16, num_blocks=1)
    assert not torch.allclose(aware(x, torch.zeros(5, dtype=torch.long)), aware(x, t))


def test_model_bad_input():
    with pytest.raises(ValueError, match="input_embedding must be one of"):
        DenoisingMLP(1e-4, 0.05, 50, input_embedding="sinus")
    with pytest.raises(ValueError, match="time_embedding must be one of"):
        DenoisingMLP(1e-4, 0.05, 50, time_embedding="none")
    with pytest.raises(ValueError, match="beta_max"):
        DenoisingMLP(1e-4, 1.5, 50)
    model = DenoisingMLP(1e-4, 0.05, 50, hidden=8, num_blocks=1)
    with pytest.raises(ValueError, match=r"xt must have shape \(N, 2\)"):
        model(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="t has 3 steps but the batch has 4"):
        model(torch.zeros(4, 2), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[0, 49\]"):
        model(torch.zeros(4, 2), torch.full((4,), 50))
    with pytest.raises(TypeError, match="integer steps"):
        model(torch.zeros(4, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="TrainConfig.epochs must be a positive int"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="beta_min"):
        TrainConfig(beta_min=0.0)


def test_short_training_lowers_the_loss(dino):
    cfg = TrainConfig(hidden=32, num_blocks=2, epochs=60, eval_every=20, eval_repeats=8)
    model, history = train(cfg, data=dino, progress=False)
    assert history.epochs == [1, 20, 40, 60]
    assert history.train_loss[-1] < 0.85 * history.train_loss[0]
    assert history.test_loss[-1] < history.test_loss[0]
    assert not model.training
    # deterministic: the same config trains the same weights
    again, _ = train(cfg, data=dino, progress=False)
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_held_out_points_are_distinct(dino):
    from diffusion2d.data import train_test_split

    tr, te = train_test_split(dino, 0.15, seed=0)
    assert len(tr) + len(te) == 142 and len(te) == 21
    assert torch.cdist(te, tr).min() > 0  # no held-out point is a copy of a training point


def test_build_model_follows_config():
    model = build_model(TrainConfig(input_embedding="identity", time_embedding="linear", T=10))
    assert model.input_embedding == "identity" and model.time_embedding == "linear"
    assert model.T == 10
