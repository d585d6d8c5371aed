"""A small class-conditional DenoisingMLP with every weight random, for the tests of the live
explorer's export (test_live.py) and of its page code (test_explorer.py): the label embedding,
which starts at zero, is random too, so a wrong label changes the output."""

from __future__ import annotations

import torch

from diffusion2d.model import DenoisingMLP


def random_conditional_model(beta_max: float, T: int, beta_min: float = 1e-4,
                             **kwargs) -> DenoisingMLP:
    """Width 16, two blocks, weights N(0, 0.3^2) from seed 0; ``kwargs`` (``num_classes``
    among them) go to DenoisingMLP and may override the width and depth."""
    torch.manual_seed(0)
    kw = {"hidden": 16, "num_blocks": 2, **kwargs}
    model = DenoisingMLP(beta_min, beta_max, T, **kw)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model.eval()
