"""stack.train_many: models trained together end exactly as each trains alone."""


import pytest
import torch

from diffusion2d.stack import signature, train_many
from diffusion2d.training import (
    TrainConfig,
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


def same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                  b.state_dict().values(), strict=True))


def test_a_stack_trains_each_model_bit_for_bit_as_alone(dino):
    """training.train (the loop chapter 4 shows) is the reference: every member of a mixed stack
    ends with its weights and its loss history, exactly."""
    together = train_many(list(MIXED.values()), [dino] * len(MIXED), progress=False)
    for (name, config), (model, history) in zip(MIXED.items(), together, strict=True):
        alone, alone_history = train(config, data=dino, progress=False)
        assert same_weights(model, alone), name
        assert history.epochs == alone_history.epochs, name
        assert history.train_loss == alone_history.train_loss, name
        assert history.test_loss == alone_history.test_loss, name
        assert not model.training and history.seconds > 0 and history.cpu_seconds > 0


def test_a_stack_of_one(dino):
    config = MIXED["x0, cosine, seed 1"]
    (model, history), = train_many([config], [dino], progress=False)
    alone, alone_history = train(config, data=dino, progress=False)
    for h in (history, alone_history):  # one thread: no more CPU time than wall time
        assert 0 < h.cpu_seconds <= h.seconds + 0.05
    assert same_weights(model, alone) and history.train_loss == alone_history.train_loss


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


@pytest.mark.parametrize("change", [{"dataset": "all", "label_dropout": 0.1}, {"steps": 3}])
def test_conditional_and_step_budget_configs_are_refused(dino, change):
    with pytest.raises(ValueError, match="train_many takes unconditional models trained for "
                                         "epochs.*training.train"):
        train_many([TINY, TINY.replace(**change)], progress=False)
