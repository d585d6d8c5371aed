"""Reverse-process samplers: DDPM (Ho et al. 2020) and deterministic DDIM (Song et al. 2020).

- DDPM, eq. 11 / Algorithm 2, with sigma_t^2 = beta_t (Sec. 3.2):
  ``x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta) + sigma_t z``,
  with z = 0 at the last step (Algorithm 2: "z = 0 if t = 1").
- DDIM, eq. 12 with sigma_t = 0 (eta = 0):
  ``x0_pred = (x_t - sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_bar_t)``,
  ``x_{t-1} = sqrt(alpha_bar_{t-1}) x0_pred + sqrt(1 - alpha_bar_{t-1}) eps_theta``,
  with alpha_bar_{t-1} = 1 at the last step (not ``alpha_bar[-1]``, the workshop's wrap-around).

Steps are 0-based (t = T-1 .. 0). ``sample`` can also take fewer steps (a sub-sequence tau of the
steps, DDIM Sec. 4.2): DDIM then jumps directly with eq. 12, DDPM takes eq. 11 with the respaced
schedule of :func:`respace`.
"""

import torch

from .utils import check_points, check_positive_int, check_schedule, check_steps, torch_threads

SAMPLERS = ("ddpm", "ddim")


def _coef(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(like.dtype)[t].reshape(-1, 1)  # values[t] as (N or 1, 1)


def ddpm_step(xt: torch.Tensor, t: int | torch.Tensor,
              eps_pred: torch.Tensor, betas: torch.Tensor,
              alphas: torch.Tensor, alpha_bars: torch.Tensor,
              noise: torch.Tensor | None) -> torch.Tensor:
    """One DDPM reverse step from 0-based step ``t`` (eq. 11, Algorithm 2,
    sigma_t^2 = beta_t); ``noise`` is the standard normal z (shape of xt;
    None: z = 0), ignored where t == 0."""
    check_points("xt", xt)
    check_points("eps_pred", eps_pred, ("xt", xt))
    check_schedule(betas=betas, alphas=alphas, alpha_bars=alpha_bars)
    t = check_steps("t", t, len(alpha_bars), n=xt.shape[0])
    beta, alpha, ab = (_coef(v, t, xt) for v in (betas, alphas, alpha_bars))
    # Step 1 (eq. 11): the mean mu_theta(x_t, t).
    mean = (xt - beta / (1.0 - ab).sqrt() * eps_pred) / alpha.sqrt()
    if noise is None:
        return mean
    check_points("noise", noise, ("xt", xt))
    # Step 2 (Algorithm 2, lines 3-4): add sigma_t z, z = 0 at t == 0
    sigma = beta.sqrt() * (t > 0).reshape(-1, 1).to(xt.dtype)
    return mean + sigma * noise


def ddim_step(xt: torch.Tensor, t: int | torch.Tensor, eps_pred: torch.Tensor,
              alpha_bars: torch.Tensor, t_prev: int | None = None) -> torch.Tensor:
    """One deterministic DDIM step (eq. 12, eta = 0) from 0-based step ``t`` to ``t_prev``
    (None: t - 1; -1, also reached from t = 0: the clean end, alpha_bar = 1)."""
    check_points("xt", xt)
    check_points("eps_pred", eps_pred, ("xt", xt))
    check_schedule(alpha_bars=alpha_bars)
    t = check_steps("t", t, len(alpha_bars), n=xt.shape[0])
    ab = _coef(alpha_bars, t, xt)
    prev = t - 1 if t_prev is None else torch.full_like(t, t_prev)
    ab_all = torch.cat([alpha_bars.new_ones(1), alpha_bars])  # index s+1 holds alpha_bar_s
    ab_prev = _coef(ab_all, prev + 1, xt)  # alpha_bar_{-1} := 1
    x0_pred = (xt - (1.0 - ab).sqrt() * eps_pred) / ab.sqrt()  # eq. 12, "predicted x_0"
    # eq. 12, "direction pointing to x_t"; no random noise since sigma_t = 0
    return ab_prev.sqrt() * x0_pred + (1.0 - ab_prev).sqrt() * eps_pred


ddim_jump = ddim_step  # the name for a jump over skipped steps (DDIM Sec. 4.2)


def respace(alpha_bars: torch.Tensor, steps: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(betas, alphas)`` of DDPM on the sub-sequence ``steps``: at each visited step t, alpha_eff
    = alpha_bar_t / alpha_bar of the next visited step (1 after the last), beta_eff = 1 - alpha_eff
    (the sigma-hat process of DDIM Sec. 5 / Table 1; with every step visited, eq. 11 itself)."""
    alphas = torch.ones_like(alpha_bars)
    alphas[steps] = alpha_bars[steps] / torch.cat([alpha_bars[steps[1:]], alpha_bars.new_ones(1)])
    return 1.0 - alphas, alphas


def timesteps(T: int, num_steps: int | None = None) -> list[int]:
    """The 0-based steps, descending: all T, or ``num_steps`` evenly spaced."""
    if num_steps is None or num_steps == T:
        return list(range(T - 1, -1, -1))
    if not 1 <= num_steps <= T:
        raise ValueError(f"num_steps must be in [1, T={T}], got {num_steps}")
    steps = torch.linspace(T - 1, 0, num_steps).round().long().tolist()
    return sorted(set(steps), reverse=True)


@torch.no_grad()
def sample(num_samples: int, model, sampler: str = "ddpm", generator: torch.Generator | None = None,
           num_steps: int | None = None) -> list[torch.Tensor]:
    """Draw ``num_samples`` points: a list of (num_samples, 2) tensors, x_T first and x_0 last
    (num_steps + 1 of them for ``num_steps`` < T). Uses only ``model(xt, t)`` and the
    schedule ``model.betas, model.alphas, model.alpha_bars, model.T``."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    check_positive_int("num_samples", num_samples)
    was_training = getattr(model, "training", False)
    if was_training:
        model.eval()
    try:
        with torch_threads():
            return _sample_loop(num_samples, model, sampler, generator, num_steps)
    finally:
        if was_training:
            model.train()


def _sample_loop(num_samples, model, sampler, generator,
                 num_steps) -> list[torch.Tensor]:
    steps = timesteps(model.T, num_steps)
    betas, alphas = model.betas, model.alphas
    if len(steps) < model.T:  # a sub-sequence of the steps
        betas, alphas = respace(model.alpha_bars, steps)
    # (N, 2): x_T ~ N(0, I)
    x = torch.randn(num_samples, 2, generator=generator)
    xs = [x]
    for i, t in enumerate(steps):
        t_prev = steps[i + 1] if i + 1 < len(steps) else -1  # -1: clean end
        t_batch = torch.full((num_samples,), t, dtype=torch.long)
        eps = model(x, t_batch)  # (N, 2)
        if sampler == "ddim":
            x = ddim_step(x, t, eps, model.alpha_bars, t_prev)
        else:
            z = (torch.randn(num_samples, 2, generator=generator)
                 if t_prev >= 0 else None)
            x = ddpm_step(x, t, eps, betas, alphas, model.alpha_bars, z)
        xs.append(x)
    return xs
