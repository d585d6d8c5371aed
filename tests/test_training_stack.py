"""stack.train_many: models trained together end exactly as each trains alone."""

import math

import pytest
import torch

from diffusion2d.flow import flow_loss
from diffusion2d.loss import get_loss
from diffusion2d.stack import signature, train_many
from diffusion2d.training import (
    TrainConfig,
    _make_optimizer,
    batch_losses,
    build_model,
    draw_times,
    loss_batches,
    split_for,
    train,
)

TINY = TrainConfig(epochs=4, eval_every=2, hidden=16, num_blocks=2)
MIXED = {  # every kind of model the book trains, differing in all the free fields
    "eps": TINY,
    "identity, no t": TINY.replace(input_embedding="identity", time_embedding="zero"),
    "x0, cosine, seed 1": TINY.replace(prediction="x0", schedule="cosine", seed=1),
    "v, zero SNR": TINY.replace(prediction="v", schedule="linear_zero_snr", eval_every=3),
    "gentler beta": TINY.replace(beta_max=0.02),
    "flow matching": TINY.replace(objective="flow_matching"),
}


def plain_algorithm_1(config: TrainConfig, data: torch.Tensor):
    """The reference: DDPM Algorithm 1 (or flow matching) written out for one model, with
    torch's own fused AdamW and the model's own forward; what train() did before stacking."""
    torch.manual_seed(config.seed)
    model = build_model(config)
    g = torch.Generator().manual_seed(config.seed + 1)
    opt = _make_optimizer(model, config)
    x = split_for(config, data)[0].repeat(config.repeats, 1)
    floor, losses = config.lr * config.lr_final_fraction, []
    for epoch in range(1, config.epochs + 1):
        cos = 1.0 + math.cos(math.pi * ((epoch - 1) / max(config.epochs - 1, 1)))
        opt.param_groups[0]["lr"] = floor + 0.5 * (config.lr - floor) * cos
        perm = torch.randperm(len(x), generator=g)
        eps, t = torch.randn(len(x), 2, generator=g), draw_times(config, len(x), g)
        for i in range(0, len(x), config.batch_size):
            idx = perm[i : i + config.batch_size]
            loss = (flow_loss(model, x[idx], eps[idx], t[idx]) if t.is_floating_point()
                    else get_loss(model, x[idx], eps[idx], model.alpha_bars, t[idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if epoch % config.eval_every == 0 or epoch in (1, config.epochs):
            losses.append(batch_losses(model, loss_batches(config, data))["train"])
    return model, losses


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values(), strict=True))


def test_a_stack_trains_each_model_bit_for_bit_as_alone(dino):
    together = train_many(list(MIXED.values()), [dino] * len(MIXED), progress=False)
    for (name, config), (model, history) in zip(MIXED.items(), together, strict=True):
        alone, losses = plain_algorithm_1(config, dino)
        assert same_weights(model, alone), name
        assert history.train_loss == losses, name
        assert history.epochs[0] == 1 and history.epochs[-1] == config.epochs
        assert not model.training


def test_train_is_a_stack_of_one(dino):
    model, history = train(MIXED["x0, cosine, seed 1"], data=dino, progress=False)
    alone, losses = plain_algorithm_1(MIXED["x0, cosine, seed 1"], dino)
    assert same_weights(model, alone) and history.train_loss == losses
    assert history.seconds > 0


@pytest.mark.parametrize("change", [{"hidden": 8}, {"num_blocks": 3}, {"epochs": 5},
                                    {"batch_size": 128}, {"lr": 1e-3}, {"repeats": 2}])
def test_models_that_cannot_share_a_stack_are_refused(dino, change):
    other = TINY.replace(**change)
    assert signature(other, dino) != signature(TINY, dino)
    with pytest.raises(ValueError, match="must share hidden, num_blocks, epochs"):
        train_many([TINY, other], [dino, dino], progress=False)


def test_bad_arguments_are_named(dino):
    with pytest.raises(ValueError, match="configs must be a non-empty list"):
        train_many([], progress=False)
    with pytest.raises(ValueError, match="one data tensor each"):
        train_many([TINY, TINY], [dino], progress=False)
