"""The noise-prediction network eps_theta(x_t, t) of DDPM (Ho et al. 2020, Sec. 3.2, eq. 11/14).

``DenoisingMLP`` is the workshop's model with its knobs: the position embedding ``identity`` or
``fourier`` (sin/cos features at geometric frequencies, Tancik et al. 2020: sharp shapes); the
time embedding ``zero`` (blind to t), ``linear`` (t/T) or ``fourier`` (the sinusoids of Vaswani
et al. 2017, as in DDPM Sec. 4 / App. B); residual blocks ``h + W2 GELU(W1 LayerNorm(h))``, then
a linear read-out to R^2. Steps ``t`` are 0-based long tensors (0 .. T-1).

The read-out predicts eps, x_0 or v (``prediction``, Salimans & Ho 2022); ``model(xt, t)`` is always
the predicted eps, so every sampler works unchanged, and ``model.predict(xt, t)`` is ``(eps, x_0)``
from the identities of ``parameterisation`` (for v and x_0 also at alpha_bar = 0, where an
eps-model cannot give x_0). The schedule is one of ``schedules.SCHEDULES``.

Class-conditional (``num_classes``, for classifier-free guidance, Ho & Salimans 2022): a learned
embedding of the class label y is added to the first hidden layer, ``model(xt, t, y)`` is
eps_theta(x_t, t, y); label ``num_classes`` is the null label (y = None: unconditional), which
training feeds in place of a dropped label (``guidance`` combines the two predictions).
"""

import math

import torch
from torch import nn

from .parameterisation import PREDICTIONS, eps_and_x0
from .schedules import register_schedule
from .utils import check_labels, check_points, check_positive_int, check_steps


class FourierFeatures(nn.Module):
    """``[x, sin(2 pi f x), cos(2 pi f x)]`` for F fixed frequencies f, log-spaced from 0.5 to
    max_frequency / 2 cycles per unit of x: (N, d) -> (N, d (1 + 2F))."""

    def __init__(self, in_dim: int = 2, num_frequencies: int = 16, max_frequency: float = 8.0):
        super().__init__()
        freqs = torch.logspace(0.0, math.log10(max_frequency), num_frequencies) / 2.0  # (F,)
        self.register_buffer("freqs", 2.0 * math.pi * freqs)
        self.out_dim = in_dim * (1 + 2 * num_frequencies)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = (x[:, :, None] * self.freqs).flatten(1)  # (N, d*F)
        return torch.cat([x, angles.sin(), angles.cos()], dim=1)  # (N, d*(1+2F))


class TimeEmbedding(nn.Module):
    """Embed 0-based integer steps t: ``zero``, ``linear`` (t/T) or ``fourier`` (sinusoidal)."""

    def __init__(self, kind: str, T: int, dim: int = 32):
        super().__init__()
        if kind not in ("zero", "linear", "fourier"):
            raise ValueError(f"time_embedding must be one of zero, linear, fourier, got {kind!r}")
        self.kind, self.T = kind, T
        self.out_dim = dim if kind == "fourier" else 1
        half = dim // 2
        self.register_buffer("freqs", torch.exp(-math.log(1000.0) * torch.arange(half) / half))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        tf = t.float()[:, None]  # (N, 1)
        if self.kind == "zero":
            return torch.zeros_like(tf)  # (N, 1): carries no information about t
        if self.kind == "linear":
            return tf / self.T  # (N, 1)
        angles = tf * self.freqs  # (N, dim/2)
        return torch.cat([angles.sin(), angles.cos()], dim=1)  # (N, dim)


class ResidualBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)
        self.act = nn.GELU()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(self.act(self.fc1(self.norm(h))))  # (N, width)


def build_trunk(module: nn.Module, input_embedding: str, time_embedding: str, hidden: int,
                num_blocks: int, T: int) -> None:
    """Give ``module`` what DenoisingMLP and flow.VelocityMLP share: the position and time
    embeddings, the input layer, ``num_blocks`` residual blocks and the read-out to R^2."""
    if input_embedding not in ("identity", "fourier"):
        raise ValueError(f"input_embedding must be one of identity, fourier, got "
                         f"{input_embedding!r}")
    module.input_embedding, module.time_embedding = input_embedding, time_embedding
    module.pos = FourierFeatures() if input_embedding == "fourier" else nn.Identity()
    pos_dim = module.pos.out_dim if input_embedding == "fourier" else 2
    module.time = TimeEmbedding(time_embedding, T)
    module.inp = nn.Linear(pos_dim + module.time.out_dim, hidden)
    module.blocks = nn.Sequential(*(ResidualBlock(hidden) for _ in range(num_blocks)))
    module.out = nn.Sequential(nn.LayerNorm(hidden), nn.GELU(), nn.Linear(hidden, 2))


class DenoisingMLP(nn.Module):
    """eps_theta(x_t, t): predicts the noise that was added to reach x_t (DDPM eq. 11), natively or
    from an x_0 or v read-out. Holds its own schedule (``betas, alphas, alpha_bars, T``) so that
    samplers need nothing else. With ``num_classes``, eps_theta(x_t, t, y) of a class label y."""

    def __init__(self, beta_min: float, beta_max: float, T: int, input_embedding: str = "fourier",
                 time_embedding: str = "fourier", hidden: int = 64, num_blocks: int = 3,
                 prediction: str = "eps", schedule: str = "linear",
                 num_classes: int | None = None):
        super().__init__()
        if prediction not in PREDICTIONS:
            raise ValueError(f"prediction must be one of {PREDICTIONS}, got {prediction!r}")
        register_schedule(self, beta_min, beta_max, T, schedule)
        self.prediction = prediction
        build_trunk(self, input_embedding, time_embedding, hidden, num_blocks, T)
        self.num_classes = num_classes
        if num_classes is not None:
            check_positive_int("num_classes", num_classes)
            # a vector per class and one for the null label; zero: at first, y changes nothing
            self.label = nn.Embedding(num_classes + 1, hidden)
            nn.init.zeros_(self.label.weight)

    def native(self, xt: torch.Tensor, t: torch.Tensor, y=None) -> torch.Tensor:
        """The read-out (N, 2) in the model's own parameterisation: eps, x_0 or v."""
        t = check_steps("t", t, self.T, n=check_points("xt", xt).shape[0])
        return self.out(self.blocks(self.embed(xt, t, y)))  # (N, 2)

    def embed(self, xt: torch.Tensor, t: torch.Tensor, y=None) -> torch.Tensor:
        """The first hidden layer (N, hidden), before the residual blocks (checked steps t), with
        the embedding of the class labels y (N,) added (None: the null label)."""
        h = self.inp(torch.cat([self.pos(xt), self.time(t)], dim=1))
        if self.num_classes is None:
            if y is not None:
                raise ValueError("y (a class label) given to an unconditional model "
                                 "(num_classes=None)")
            return h
        y = self.num_classes if y is None else y  # the null label
        return h + self.label(check_labels("y", y, self.num_classes, len(xt), null=True))

    def predict(self, xt: torch.Tensor, t: torch.Tensor,
                y=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(eps, x_0)``, each (N, 2), converted from the native read-out."""
        out = self.native(xt, t, y)  # (N, 2), checks xt, t and y
        t = check_steps("t", t, self.T, n=xt.shape[0])
        return eps_and_x0(self.prediction, out, xt, self.alpha_bars[t])

    def forward(self, xt: torch.Tensor, t: torch.Tensor, y=None) -> torch.Tensor:
        """The predicted eps (N, 2), whatever the model predicts natively; ``y`` (N,): class
        labels of a class-conditional model (None: the null label, unconditional)."""
        if self.prediction == "eps":
            return self.native(xt, t, y)
        return self.predict(xt, t, y)[0]
