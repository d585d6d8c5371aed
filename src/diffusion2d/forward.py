"""The forward (noising) process q of DDPM (Ho et al. 2020).

- one step, eq. 2:  q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t I)
- closed form, eq. 4:  q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)

The workshop notebook iterated with sqrt(alpha_bar_t) in place of sqrt(alpha_t), which shrinks the
data far faster than the closed form says; here both forms agree (tested).
"""

import torch

from .schedules import get_diffusion_parameters
from .utils import check_points, check_schedule, check_steps


def q_sample(x0: torch.Tensor, t: torch.Tensor | int, eps: torch.Tensor,
             alpha_bars: torch.Tensor) -> torch.Tensor:
    """Eq. 4 reparametrised: ``x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps``, for
    0-based steps ``t`` (an int or a long tensor (N,)): the input the model sees at step t."""
    check_points("x0", x0)
    check_points("eps", eps, ("x0", x0))
    check_schedule(alpha_bars=alpha_bars)
    t = check_steps("t", t, len(alpha_bars), n=x0.shape[0])
    ab = alpha_bars.to(x0.dtype)[t].unsqueeze(1)  # (N, 1)
    return ab.sqrt() * x0 + (1.0 - ab).sqrt() * eps  # (N, 2)


def forward_step(x_prev: torch.Tensor, t: int, betas: torch.Tensor, alphas: torch.Tensor,
                 eps: torch.Tensor) -> torch.Tensor:
    """Eq. 2 reparametrised: one noising step from 0-based step ``t``'s input to its output."""
    return alphas[t].sqrt() * x_prev + betas[t].sqrt() * eps


def forward_noise_dataset(dataset: torch.Tensor, beta_min: float, beta_max: float, T: int,
                          generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Noise ``dataset`` step by step (eq. 2): T+1 tensors (N, 2), the data first."""
    xs = [check_points("dataset", dataset)]
    betas, alphas, _ = get_diffusion_parameters(beta_min, beta_max, T)
    for t in range(T):
        eps = torch.randn(dataset.shape, generator=generator, dtype=dataset.dtype)  # (N, 2)
        xs.append(forward_step(xs[-1], t, betas, alphas, eps))
    return xs


def marginal_moments(x0_mean: torch.Tensor, x0_var: torch.Tensor,
                     alpha_bar: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of x_t under eq. 4 when x_0 has the given per-coordinate moments."""
    return alpha_bar**0.5 * x0_mean, alpha_bar * x0_var + (1.0 - alpha_bar)
