"""Reverse-process samplers: DDPM (Ho et al. 2020), DDIM (Song et al. 2020) and the probability-flow
ODE solved with Euler or Heun steps (Karras et al. 2022, Sec. 3 and Algorithm 1).

- DDPM, eq. 11 / Algorithm 2:
  ``x_{t-1} = 1/sqrt(alpha_t) (x_t - beta_t / sqrt(1 - alpha_bar_t) eps_theta) + sigma_t z``,
  with z = 0 at the last step (Algorithm 2: "z = 0 if t = 1") and sigma_t^2 = beta_t or
  beta_tilde_t (Sec. 3.2: both give similar results; eq. 7). A model that predicts x_0 itself
  (x_0- or v-prediction) takes the mean of eq. 7, mu_tilde(x_t, x0_pred), instead of eq. 11.
- DDIM, eq. 12 with sigma_t(eta) of eq. 16 (eta = 0 deterministic, eta = 1 DDPM's beta_tilde):
  ``x0_pred = (x_t - sqrt(1 - alpha_bar_t) eps_theta) / sqrt(alpha_bar_t)``,
  ``x_{t-1} = sqrt(alpha_bar_{t-1}) x0_pred + sqrt(1 - alpha_bar_{t-1} - sigma_t^2) eps_theta
  + sigma_t z``, with alpha_bar_{t-1} = 1 at the last step (not ``alpha_bar[-1]``, the workshop's
  wrap-around).
- Euler and Heun (EDM Algorithm 1) on the probability-flow ODE of DDIM (Sec. 4.3):
  ``dy/dsigma = eps_theta`` in ``sigma = sqrt((1 - alpha_bar) / alpha_bar)`` and
  ``y = x / sqrt(alpha_bar)``, on the visited steps' sigmas and then sigma = 0; Heun corrects
  every step but the last (to sigma = 0). One Euler step is one deterministic DDIM step.

Steps are 0-based (t = T-1 .. 0). ``sample`` can also take fewer steps (a sub-sequence tau of the
steps, DDIM Sec. 4.2): DDIM then jumps directly with eq. 12, DDPM takes eq. 11 with the respaced
schedule of :func:`respace`. Zero terminal SNR (alpha_bar_{T-1} = 0, Lin et al. 2024): eq. 11 and
the x_0 of eq. 12 divide 0 by 0 at the first step, so an eps-model gives non-finite values there;
:func:`sample` refuses it (ValueError) and samples x_0- and v-models, which offer
``model.predict(xt, t) -> (eps, x0)`` (see ``model.py``); sigma is infinite there, so Euler and
Heun refuse every model on such a schedule.

A class-conditional model samples class ``y`` with classifier-free guidance (``guidance``, Ho &
Salimans 2022): :func:`sample` hands the loop the guided model, so every sampler takes it.
"""

import torch

from .guidance import guide
from .parameterisation import x0_from_eps
from .schedules import alpha_bars_prev, posterior_variance, signal_to_noise
from .utils import check_points, check_positive_int, check_schedule, check_steps, evaluating

SAMPLERS = ("ddpm", "ddim", "euler", "heun")
VARIANCES = ("beta", "beta_tilde")


def _coef(values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.to(like.dtype)[t].reshape(-1, 1)  # values[t] as (N or 1, 1)


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _check_eta(eta: object) -> None:
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not eta >= 0:
        raise ValueError(f"eta must be a non-negative number, got {eta!r}")


def ddpm_step(xt: torch.Tensor, t: int | torch.Tensor,
              eps_pred: torch.Tensor, betas: torch.Tensor,
              alphas: torch.Tensor, alpha_bars: torch.Tensor,
              noise: torch.Tensor | None, variance: str = "beta",
              x0_pred: torch.Tensor | None = None) -> torch.Tensor:
    """One DDPM reverse step from 0-based step ``t`` (eq. 11, Algorithm 2);
    ``noise`` is the standard normal z (shape of xt; None: z = 0), ignored
    where t == 0; sigma_t^2 = ``variance``, beta_t or beta_tilde_t (eq. 7).
    ``x0_pred``: a model's own x_0 (then the mean of eq. 7)."""
    check_points("xt", xt)
    check_points("eps_pred", eps_pred, ("xt", xt))
    check_schedule(betas=betas, alphas=alphas, alpha_bars=alpha_bars)
    _check_choice("variance", variance, VARIANCES)
    t = check_steps("t", t, len(alpha_bars), n=xt.shape[0])
    beta, alpha, ab = (_coef(v, t, xt) for v in (betas, alphas, alpha_bars))
    # Step 1 (eq. 11): the mean mu_theta(x_t, t); eq. 7's from a model's x_0
    if x0_pred is None:
        mean = (xt - beta / (1.0 - ab).sqrt() * eps_pred) / alpha.sqrt()
    else:
        mean = _posterior_mean(xt, t, x0_pred, alpha_bars)
    if noise is None:
        return mean
    check_points("noise", noise, ("xt", xt))
    if variance == "beta_tilde":
        beta = _coef(posterior_variance(betas, alpha_bars), t, xt)
    # Step 2 (Algorithm 2, lines 3-4): add sigma_t z, z = 0 at t == 0
    sigma = beta.sqrt() * (t > 0).reshape(-1, 1).to(xt.dtype)
    return mean + sigma * noise


def _posterior_mean(xt: torch.Tensor, t: torch.Tensor, x0_pred: torch.Tensor,
                    alpha_bars: torch.Tensor) -> torch.Tensor:
    """DDPM eq. 7: mu_tilde(x_t, x0_pred), with alpha_t = alpha_bar_t / alpha_bar_{t-1} taken from
    the alpha_bars: finite also where alpha_t = 0; at t = 0 it is x0_pred, to rounding."""
    check_points("x0_pred", x0_pred, ("xt", xt))
    ab, ab_prev = (_coef(v, t, xt) for v in (alpha_bars, alpha_bars_prev(alpha_bars)))
    alpha = ab / ab_prev
    return ((1.0 - alpha) * ab_prev.sqrt() * x0_pred
            + alpha.sqrt() * (1.0 - ab_prev) * xt) / (1.0 - ab)


def ddim_step(xt: torch.Tensor, t: int | torch.Tensor, eps_pred: torch.Tensor,
              alpha_bars: torch.Tensor, eta: float = 0.0, noise: torch.Tensor | None = None, *,
              t_prev: int | None = None, x0_pred: torch.Tensor | None = None) -> torch.Tensor:
    """One DDIM step (eq. 12, sigma_t(eta) of eq. 16) from 0-based step ``t`` to ``t_prev``
    (None: t - 1; -1, also reached from t = 0: the clean end, alpha_bar = 1, sigma = 0).
    ``eta > 0`` needs ``noise`` (z, shape of xt), except on a step to the clean end;
    ``x0_pred``: a model's own x_0."""
    check_points("xt", xt)
    check_points("eps_pred", eps_pred, ("xt", xt))
    check_schedule(alpha_bars=alpha_bars)
    _check_eta(eta)
    t = check_steps("t", t, len(alpha_bars), n=xt.shape[0])
    if t_prev is not None and not -1 <= t_prev < len(alpha_bars):
        raise ValueError(f"t_prev must be a step in [0, {len(alpha_bars) - 1}] or -1 (the clean "
                         f"end), got {t_prev}")
    ab = _coef(alpha_bars, t, xt)
    prev = t - 1 if t_prev is None else torch.full_like(t, t_prev)
    ab_all = torch.cat([alpha_bars.new_ones(1), alpha_bars])  # index s+1 holds alpha_bar_s
    ab_prev = _coef(ab_all, prev + 1, xt)  # alpha_bar_{-1} := 1
    if x0_pred is None:
        x0_pred = x0_from_eps(xt, eps_pred, ab)  # eq. 12, "predicted x_0"
    else:
        check_points("x0_pred", x0_pred, ("xt", xt))
    if eta == 0 or (noise is None and bool((prev < 0).all())):  # sigma_t = 0
        # eq. 12, "direction pointing to x_t"; no random noise
        return ab_prev.sqrt() * x0_pred + (1.0 - ab_prev).sqrt() * eps_pred
    if noise is None:
        raise ValueError(f"noise is needed for eta > 0 (got eta={eta})")
    check_points("noise", noise, ("xt", xt))
    # eq. 16: sigma_t(eta) = eta sqrt((1 - alpha_bar_{t-1}) / (1 - alpha_bar_t)) sqrt(1 - alpha_t)
    sigma = eta * ((1.0 - ab_prev) / (1.0 - ab) * (1.0 - ab / ab_prev)).sqrt()
    direction = (1.0 - ab_prev - sigma**2).clamp(min=0.0).sqrt() * eps_pred
    return ab_prev.sqrt() * x0_pred + direction + sigma * noise


def ddim_jump(xt: torch.Tensor, t: int | torch.Tensor, eps_pred: torch.Tensor,
              alpha_bars: torch.Tensor, t_prev: int | None = None, eta: float = 0.0,
              noise: torch.Tensor | None = None) -> torch.Tensor:
    """:func:`ddim_step` over skipped steps (DDIM Sec. 4.2), with ``t_prev`` fifth, as before."""
    return ddim_step(xt, t, eps_pred, alpha_bars, eta, noise, t_prev=t_prev)


def respace(alpha_bars: torch.Tensor, steps: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(betas, alphas)`` of DDPM on the sub-sequence ``steps``: at each visited step t, alpha_eff
    = alpha_bar_t / alpha_bar of the next visited step (1 after the last), beta_eff = 1 - alpha_eff
    (the sigma-hat process of DDIM Sec. 5 / Table 1; with every step visited, eq. 11 itself)."""
    alphas = torch.ones_like(alpha_bars)
    alphas[steps] = alpha_bars[steps] / torch.cat([alpha_bars[steps[1:]], alpha_bars.new_ones(1)])
    return 1.0 - alphas, alphas


def _respaced(model, steps: list[int]):
    """The schedule ``(betas, alphas, alpha_bars)`` DDPM steps on: the model's own, or on a
    sub-sequence ``steps`` that of :func:`respace` with the respaced chain's alpha_bars (the
    product of its alphas, read off exactly: at each step that of the last visited step at or
    below it), so that alpha_bar_{t-1} (beta_tilde, eq. 7) is the next visited step's."""
    if len(steps) == model.T:
        return model.betas, model.alphas, model.alpha_bars
    visited = torch.tensor(steps[::-1])  # ascending, starts at 0
    below = torch.searchsorted(visited, torch.arange(model.T), right=True) - 1
    return *respace(model.alpha_bars, steps), model.alpha_bars[visited[below]]


def timesteps(T: int, num_steps: int | None = None) -> list[int]:
    """The 0-based steps, descending: all T, or ``num_steps`` evenly spaced."""
    if num_steps is None or num_steps == T:
        return list(range(T - 1, -1, -1))
    if not 1 <= num_steps <= T:
        raise ValueError(f"num_steps must be in [1, T={T}], got {num_steps}")
    steps = torch.linspace(T - 1, 0, num_steps).round().long().tolist()
    return sorted(set(steps), reverse=True)


def evaluations(sampler: str, num_steps: int | None, T: int) -> int:
    """Network evaluations :func:`sample` makes: one per visited step, and for Heun one more per
    step but the last (EDM Algorithm 1: 2N - 1)."""
    _check_choice("sampler", sampler, SAMPLERS)
    n = len(timesteps(T, num_steps))
    return 2 * n - 1 if sampler == "heun" else n


def _predict(model, xt: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``(eps, x0)`` of ``model`` at (xt, t): ``model.predict(xt, t)`` for a model whose
    ``prediction`` is ``"x0"`` or ``"v"``, else ``(model(xt, t), None)`` (x0 from eps later)."""
    if getattr(model, "prediction", "eps") == "eps":
        return model(xt, t), None
    return model.predict(xt, t)


@torch.no_grad()
def sample(num_samples: int, model, sampler: str = "ddpm", generator: torch.Generator | None = None,
           num_steps: int | None = None, eta: float = 0.0, variance: str = "beta",
           y=None, guidance_scale: float = 1.0) -> list[torch.Tensor]:
    """Draw ``num_samples`` points: a list of (num_samples, 2) tensors, x_T first and x_0 last
    (num_steps + 1 of them for ``num_steps`` < T). Uses only ``model(xt, t)`` (or its
    ``model.predict``) and the schedule ``model.betas, model.alphas, model.alpha_bars, model.T``.
    ``eta`` is DDIM's, ``variance`` DDPM's; random draws: x_T, then one z per step but the last
    (DDPM, and DDIM with eta > 0). A class-conditional model: ``y`` the class (an index, a shape
    name or labels (num_samples,); None: unconditional), ``guidance_scale`` that of
    ``guidance.guided_eps`` (1: the conditional model, 0: the unconditional one)."""
    _check_choice("sampler", sampler, SAMPLERS)
    check_positive_int("num_samples", num_samples)
    _check_choice("variance", variance, VARIANCES)
    _check_eta(eta)
    if float(model.alpha_bars[-1]) == 0.0:
        if sampler in ("euler", "heun"):
            raise ValueError(f"sampler {sampler!r} needs a finite sigma; alpha_bar_{{T-1}} = 0 "
                             f"(zero terminal SNR) makes it infinite: use 'ddpm' or 'ddim'")
        if getattr(model, "prediction", "eps") == "eps":
            raise ValueError("an eps-prediction model cannot give x_0 where alpha_bar = 0 (zero "
                             "terminal SNR: 0/0); sample a model with prediction 'v' or 'x0'")
    guided = guide(model, y, guidance_scale, num_samples)  # y None: the model
    with evaluating(model):
        return _sample_loop(num_samples, guided, sampler, generator, num_steps,
                            eta, variance)


def _sample_loop(num_samples, model, sampler, generator, num_steps,
                 eta=0.0, variance="beta") -> list[torch.Tensor]:
    steps = timesteps(model.T, num_steps)
    betas, alphas, alpha_bars = _respaced(model, steps)  # DDPM's schedule
    # (N, 2): x_T ~ N(0, I)
    x = torch.randn(num_samples, 2, generator=generator)
    if sampler in ("euler", "heun"):  # the probability-flow ODE
        return _ode_loop(x, model, steps, heun=sampler == "heun")
    xs = [x]
    for i, t in enumerate(steps):
        t_prev = steps[i + 1] if i + 1 < len(steps) else -1  # -1: clean end
        t_batch = torch.full((num_samples,), t, dtype=torch.long)
        eps, x0 = _predict(model, x, t_batch)  # (N, 2); x0 None for eps-models
        z = (torch.randn(num_samples, 2, generator=generator)
             if t_prev >= 0 and (sampler == "ddpm" or eta > 0) else None)
        if sampler == "ddim":
            x = ddim_step(x, t, eps, model.alpha_bars, eta, z,
                          t_prev=t_prev, x0_pred=x0)
        else:
            x = ddpm_step(x, t, eps, betas, alphas, alpha_bars, z,
                          variance, x0)
        xs.append(x)
    return xs


def _ode_loop(x, model, steps, heun: bool) -> list[torch.Tensor]:
    alpha_bars = torch.cat([model.alpha_bars[steps], model.alpha_bars.new_ones(1)])  # then 1
    sigmas = signal_to_noise(alpha_bars).rsqrt()  # sqrt((1 - ab) / ab), 0 at the end
    y = x / alpha_bars[0].sqrt()  # (N, 2)
    xs = [x]
    for i, t in enumerate(steps):
        t_batch = torch.full((len(x),), t, dtype=torch.long)
        d = _predict(model, x, t_batch)[0]  # dy/dsigma = eps_theta (EDM Alg. 1, line 4)
        y_next = y + (sigmas[i + 1] - sigmas[i]) * d  # Euler step (line 5)
        if heun and i + 1 < len(steps):  # second-order correction (lines 7-8), not to sigma = 0
            t_next = torch.full((len(x),), steps[i + 1], dtype=torch.long)
            d_next = _predict(model, y_next * alpha_bars[i + 1].sqrt(), t_next)[0]
            y_next = y + (sigmas[i + 1] - sigmas[i]) * 0.5 * (d + d_next)
        y = y_next
        x = y * alpha_bars[i + 1].sqrt()  # back to the scale of x
        xs.append(x)
    return xs
