"""What the network predicts: eps, x_0 or v, and the identities between them (Salimans & Ho 2022).

With ``x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps`` (DDPM eq. 4) any one of eps, x_0 and
``v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x_0`` (Salimans & Ho Sec. 4, App. D) gives the
other two; ``(x_t, v)`` is ``(x_0, eps)`` rotated by the angle phi with cos phi = sqrt(alpha_bar),
so ``eps = sqrt(1 - alpha_bar) x_t + sqrt(alpha_bar) v`` and ``x_0 = sqrt(alpha_bar) x_t -
sqrt(1 - alpha_bar) v`` hold at every alpha_bar, 0 included (zero terminal SNR, Lin et al. 2024),
where ``x_0`` from eps divides 0 by 0. The score of q(x_t) is ``-E[eps | x_t] / sqrt(1 -
alpha_bar)`` (Song et al. 2021, Tweedie's formula). ``alpha_bar`` is a float, a 0-d tensor or one
value per point, (N,) or (N, 1); every function broadcasts it over the coordinates.
"""

import torch

PREDICTIONS = ("eps", "x0", "v")


def _scales(alpha_bar, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sqrt(alpha_bar), sqrt(1 - alpha_bar))`` shaped to broadcast against ``like`` (N, 2)."""
    ab = torch.as_tensor(alpha_bar, dtype=like.dtype, device=like.device)
    if ab.ndim == 1:
        ab = ab.reshape(-1, 1)  # (N, 1)
    elif ab.ndim > 2:
        raise ValueError(f"alpha_bar must be a float, a 0-d, (N,) or (N, 1) tensor, got "
                         f"{tuple(ab.shape)}")
    return ab.sqrt(), (1.0 - ab).sqrt()


def x0_from_eps(xt: torch.Tensor, eps: torch.Tensor, alpha_bar) -> torch.Tensor:
    """DDPM eq. 4 solved for x_0 (DDIM eq. 12's "predicted x_0"); 0/0 where alpha_bar = 0."""
    a, s = _scales(alpha_bar, xt)
    return (xt - s * eps) / a


def eps_from_x0(xt: torch.Tensor, x0: torch.Tensor, alpha_bar) -> torch.Tensor:
    """DDPM eq. 4 solved for eps; 0/0 where alpha_bar = 1."""
    a, s = _scales(alpha_bar, xt)
    return (xt - a * x0) / s


def v_from(x0: torch.Tensor, eps: torch.Tensor, alpha_bar) -> torch.Tensor:
    """The v-prediction target ``v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x_0``."""
    a, s = _scales(alpha_bar, x0)
    return a * eps - s * x0


def eps_from_v(xt: torch.Tensor, v: torch.Tensor, alpha_bar) -> torch.Tensor:
    """``eps = sqrt(1 - alpha_bar) x_t + sqrt(alpha_bar) v``: finite for every alpha_bar."""
    a, s = _scales(alpha_bar, xt)
    return s * xt + a * v


def x0_from_v(xt: torch.Tensor, v: torch.Tensor, alpha_bar) -> torch.Tensor:
    """``x_0 = sqrt(alpha_bar) x_t - sqrt(1 - alpha_bar) v``: finite for every alpha_bar."""
    a, s = _scales(alpha_bar, xt)
    return a * xt - s * v


def score_from_eps(eps: torch.Tensor, alpha_bar) -> torch.Tensor:
    """``grad log q(x_t) = -eps / sqrt(1 - alpha_bar)`` for eps = E[eps | x_t]."""
    _, s = _scales(alpha_bar, eps)
    return -eps / s


def eps_and_x0(prediction: str, output: torch.Tensor, xt: torch.Tensor,
               alpha_bar) -> tuple[torch.Tensor, torch.Tensor]:
    """``(eps, x_0)`` from a network's ``output`` in its parameterisation ``prediction`` (one of
    :data:`PREDICTIONS`), by the identities above."""
    if prediction == "eps":
        return output, x0_from_eps(xt, output, alpha_bar)
    if prediction == "x0":
        return eps_from_x0(xt, output, alpha_bar), output
    if prediction == "v":
        return eps_from_v(xt, output, alpha_bar), x0_from_v(xt, output, alpha_bar)
    raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")


def target(prediction: str, x0: torch.Tensor, eps: torch.Tensor, alpha_bar) -> torch.Tensor:
    """The regression target of a network that predicts ``prediction``: eps, x_0 or v."""
    if prediction not in PREDICTIONS:
        raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
    if prediction == "v":
        return v_from(x0, eps, alpha_bar)
    return eps if prediction == "eps" else x0
