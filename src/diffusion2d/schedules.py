"""The noise schedule of DDPM (Ho et al. 2020, Sec. 2 and Sec. 4).

Linear betas ``beta_1 .. beta_T`` from ``beta_min`` to ``beta_max`` (Sec. 4: 1e-4 to 0.02 for
T = 1000), ``alpha_t = 1 - beta_t`` and ``alpha_bar_t = prod_{s<=t} alpha_s`` (the notation above
eq. 4). Arrays are 0-based: ``betas[t]`` is the paper's ``beta_{t+1}``.
"""

import torch


def get_diffusion_parameters(beta_min: float, beta_max: float, T: int):
    """``(betas, alphas, alpha_bars)``, float32 tensors of shape (T,); betas linear from beta_min
    to beta_max inclusive, alpha_bars computed in float64 and rounded once."""
    if isinstance(T, bool) or not isinstance(T, int):
        raise TypeError(f"T must be an int, got {type(T).__name__}")
    if T < 1:
        raise ValueError(f"T must be at least 1, got {T}")
    for name, value in (("beta_min", beta_min), ("beta_max", beta_max)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not 0.0 < value < 1.0:  # also rejects NaN
            raise ValueError(f"{name} must lie in the open interval (0, 1), got {value}")
    if beta_min > beta_max:
        raise ValueError(f"beta_min ({beta_min}) must not exceed beta_max ({beta_max})")
    betas = torch.linspace(beta_min, beta_max, T, dtype=torch.float64)  # (T,)
    alphas = 1.0 - betas  # (T,)
    return betas.float(), alphas.float(), torch.cumprod(alphas, dim=0).float()


def register_schedule(module: torch.nn.Module, beta_min: float, beta_max: float, T: int) -> None:
    """Give ``module`` the schedule samplers read: ``T`` and the buffers ``betas, alphas,
    alpha_bars`` (saved in its ``state_dict``)."""
    module.T = T
    for name, value in zip(("betas", "alphas", "alpha_bars"),
                           get_diffusion_parameters(beta_min, beta_max, T), strict=True):
        module.register_buffer(name, value)


def alpha_bars_prev(alpha_bars: torch.Tensor) -> torch.Tensor:
    """``alpha_bar_{t-1}`` for each 0-based step t, with alpha_bar_0 = 1 (empty product)."""
    return torch.cat([alpha_bars.new_ones(1), alpha_bars[:-1]])


def signal_to_noise(alpha_bars: torch.Tensor) -> torch.Tensor:
    """SNR(t) = alpha_bar_t / (1 - alpha_bar_t) (Kingma et al. 2021, eq. 3 in DDPM notation)."""
    return alpha_bars / (1.0 - alpha_bars)
