"""Noise schedules: DDPM's linear one (Ho et al. 2020, Sec. 2 and 4), the cosine schedule (Nichol &
Dhariwal 2021) and the linear one rescaled to zero terminal SNR (Lin et al. 2024).

Linear betas ``beta_1 .. beta_T`` from ``beta_min`` to ``beta_max`` (Sec. 4: 1e-4 to 0.02 for
T = 1000), ``alpha_t = 1 - beta_t`` and ``alpha_bar_t = prod_{s<=t} alpha_s`` (the notation above
eq. 4). Arrays are 0-based: ``betas[t]`` is the paper's ``beta_{t+1}``. Every schedule is computed
in float64 and rounded once to float32; :func:`make_schedule` names one by its ``kind``.
"""

import math

import torch

from .utils import check_positive_int, check_schedule

SCHEDULES = ("linear", "cosine", "linear_zero_snr")


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
    return _from_betas(torch.linspace(beta_min, beta_max, T, dtype=torch.float64))  # (T,)


def _from_betas(betas: torch.Tensor):
    """``(betas, alphas, alpha_bars)`` in float32 from float64 betas (T,)."""
    alphas = 1.0 - betas  # (T,)
    return betas.float(), alphas.float(), torch.cumprod(alphas, dim=0).float()


def cosine_schedule(T: int, s: float = 0.008, max_beta: float = 0.999):
    """Nichol & Dhariwal eq. 17: ``alpha_bar(t) = f(t) / f(0)``, ``f(t) = cos^2((t/T + s) / (1 + s)
    pi/2)``, and ``beta_t = min(1 - alpha_bar(t) / alpha_bar(t-1), max_beta)`` (their clipping,
    which keeps beta below 1 at the end, where f reaches 0). Returns float32 (T,) tensors like
    :func:`get_diffusion_parameters`; alpha_bars is the product of the clipped alphas."""
    check_positive_int("T", T)
    if not 0.0 <= s:
        raise ValueError(f"s must be non-negative, got {s}")
    if not 0.0 < max_beta <= 1.0:
        raise ValueError(f"max_beta must lie in (0, 1], got {max_beta}")
    f = torch.cos((torch.arange(T + 1, dtype=torch.float64) / T + s) / (1 + s) * math.pi / 2) ** 2
    return _from_betas((1.0 - f[1:] / f[:-1]).clamp(max=max_beta))  # (T,)


def rescale_zero_terminal_snr(betas: torch.Tensor) -> torch.Tensor:
    """Lin et al. 2024, Algorithm 1: shift and scale sqrt(alpha_bar_t) so that the last step has
    alpha_bar = 0 (SNR 0: x_T is pure noise, no signal left) and the first keeps its value; the
    betas follow from the ratios of consecutive alpha_bars, so the last beta is exactly 1. Returns
    betas of the input's dtype, computed in float64."""
    check_schedule(betas=betas)
    if len(betas) < 2:
        raise ValueError(f"betas must have at least 2 steps to rescale, got {len(betas)}")
    # Step 1: sqrt(alpha_bar) of the schedule.
    sqrt_ab = torch.cumprod(1.0 - betas.double(), dim=0).sqrt()  # (T,)
    first, last = sqrt_ab[0].clone(), sqrt_ab[-1].clone()
    # Step 2: shift so that the last is 0, scale so that the first is unchanged.
    sqrt_ab = (sqrt_ab - last) * first / (first - last)
    # Step 3: back to alphas (ratios of consecutive alpha_bars) and betas.
    ab = sqrt_ab**2
    alphas = torch.cat([ab[:1], ab[1:] / ab[:-1]])
    return (1.0 - alphas).to(betas.dtype)


def make_schedule(kind: str, beta_min: float, beta_max: float, T: int):
    """The schedule a model or a config names: ``(betas, alphas, alpha_bars)``, float32 (T,).
    ``"linear"`` is :func:`get_diffusion_parameters`; ``"cosine"`` is :func:`cosine_schedule`
    (beta_min and beta_max are only checked, the cosine has no such knobs); ``"linear_zero_snr"``
    is the linear one through :func:`rescale_zero_terminal_snr` (alpha_bars[-1] = 0 exactly)."""
    if kind not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {kind!r}")
    linear = get_diffusion_parameters(beta_min, beta_max, T)  # also checks the arguments
    if kind == "linear":
        return linear
    if kind == "cosine":
        return cosine_schedule(T)
    betas = torch.linspace(beta_min, beta_max, T, dtype=torch.float64)  # (T,)
    return _from_betas(rescale_zero_terminal_snr(betas))


def register_schedule(module: torch.nn.Module, beta_min: float, beta_max: float, T: int,
                      schedule: str = "linear") -> None:
    """Give ``module`` the schedule samplers read: ``T``, its ``schedule`` kind and the buffers
    ``betas, alphas, alpha_bars`` (saved in its ``state_dict``)."""
    values = make_schedule(schedule, beta_min, beta_max, T)
    module.T, module.schedule = T, schedule
    for name, value in zip(("betas", "alphas", "alpha_bars"), values, strict=True):
        module.register_buffer(name, value)


def alpha_bars_prev(alpha_bars: torch.Tensor) -> torch.Tensor:
    """``alpha_bar_{t-1}`` for each 0-based step t, with alpha_bar_0 = 1 (empty product)."""
    return torch.cat([alpha_bars.new_ones(1), alpha_bars[:-1]])


def posterior_variance(betas: torch.Tensor, alpha_bars: torch.Tensor) -> torch.Tensor:
    """DDPM eq. 7: ``beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t`` (T,), the
    variance of q(x_{t-1} | x_t, x_0); 0 at step 0, where alpha_bar_prev = 1."""
    check_schedule(betas=betas, alpha_bars=alpha_bars)
    return (1.0 - alpha_bars_prev(alpha_bars)) / (1.0 - alpha_bars) * betas


def signal_to_noise(alpha_bars: torch.Tensor) -> torch.Tensor:
    """SNR(t) = alpha_bar_t / (1 - alpha_bar_t) (Kingma et al. 2021, eq. 3 in DDPM notation)."""
    return alpha_bars / (1.0 - alpha_bars)


def log_snr(alpha_bars: torch.Tensor) -> torch.Tensor:
    """``log SNR(t) = log alpha_bar_t - log(1 - alpha_bar_t)``, -inf where alpha_bar = 0."""
    return alpha_bars.log() - (-alpha_bars).log1p()
