"""diffusion2d: DDPM (Ho et al. 2020) and DDIM (Song et al. 2020) from scratch on 2-D point clouds.

The library behind the tutorial site, one concept per module, in the order of the story:
``data`` (the Datasaurus dino, checksummed; the held-out split), ``schedules`` (DDPM Sec. 2, 4),
``forward`` (q, eqs. 2 and 4), ``exact`` (the exact denoiser of a finite data set, eq. 7),
``model`` (eps_theta), ``parameterisation`` (eps, x_0, v and the score), ``loss`` (L_simple,
eq. 14), ``training`` (Algorithm 1, ``TrainConfig``), ``samplers`` (DDPM eq. 11 / Algorithm 2,
DDIM eq. 12, the probability-flow ODE), ``guidance`` (classifier-free guidance), ``flow`` (flow
matching), ``flowcompare`` (flow matching beside DDPM at equal noise levels),
``likelihood`` (NLL through the probability-flow ODE), ``trajectories`` (sampling recorded step
by step), ``metrics``, ``protocol`` (the one evaluation protocol), ``density`` (held-out NLL of
models and baselines), ``conditional`` (the protocol per Datasaurus shape, under guidance),
``experiments`` (the workshop's four), ``cache`` (trained models shared
between chapters), ``evaluation`` and ``plotting`` (figures and videos), ``exercises`` (the
workshop's checks) and ``utils``.

Papers cited in the module docstrings, by the short name used there ("DDPM eq. 14" etc.); the
book's bibliography (``book/references.bib``) has the full entries:

==========================  =========================================================  ==========
short name                  paper                                                      arXiv
==========================  =========================================================  ==========
DDPM, Ho et al. 2020        Denoising Diffusion Probabilistic Models                   2006.11239
DDIM, Song et al. 2020      Denoising Diffusion Implicit Models                        2010.02502
Kingma et al. 2021          Variational Diffusion Models                               2107.00630
Fan et al. 2017             A Point Set Generation Network for 3D Object
                            Reconstruction from a Single Image (Chamfer distance)      1612.00603
Gretton et al. 2012         A Kernel Two-Sample Test (MMD), JMLR 13                    (none)
Tancik et al. 2020          Fourier Features Let Networks Learn High Frequency
                            Functions in Low Dimensional Domains                       2006.10739
Vaswani et al. 2017         Attention Is All You Need (sinusoidal embedding)           1706.03762
Nichol & Dhariwal 2021      Improved Denoising Diffusion Probabilistic Models          2102.09672
Lin et al. 2024             Common Diffusion Noise Schedules and Sample Steps Are
                            Flawed (zero terminal SNR)                                 2305.08891
Salimans & Ho 2022          Progressive Distillation for Fast Sampling of Diffusion
                            Models (v-prediction)                                      2202.00512
EDM, Karras et al. 2022     Elucidating the Design Space of Diffusion-Based
                            Generative Models                                          2206.00364
Song et al. 2021            Score-Based Generative Modeling through Stochastic
                            Differential Equations                                     2011.13456
Lipman et al. 2023          Flow Matching for Generative Modeling                      2210.02747
Liu et al. 2023             Flow Straight and Fast: Learning to Generate and Transfer
                            Data with Rectified Flow                                   2209.03003
Chen et al. 2018            Neural Ordinary Differential Equations                     1806.07366
Ho & Salimans 2022          Classifier-Free Diffusion Guidance                         2207.12598
==========================  =========================================================  ==========

Modules cite an equation as "DDPM eq. 4"; its arXiv id is the one above.
"""

from .cache import load_or_train
from .data import SHAPES as DATASAURUS_SHAPES
from .data import load_datasaurus
from .exact import ExactConditional, ExactDenoiser, drift_grids
from .flow import VelocityMLP, exact_velocity, flow_loss, flow_sample, path_length_ratio
from .forward import forward_noise_dataset, q_sample
from .guidance import guided_eps
from .likelihood import flow_nll, nll
from .loss import get_loss
from .model import DenoisingMLP
from .parameterisation import (
    eps_from_v,
    eps_from_x0,
    score_from_eps,
    v_from,
    x0_from_eps,
    x0_from_v,
)
from .samplers import ddim_step, ddpm_step, evaluations, sample
from .schedules import (
    cosine_schedule,
    get_diffusion_parameters,
    log_snr,
    make_schedule,
    posterior_variance,
    rescale_zero_terminal_snr,
)
from .training import TrainConfig, train
from .trajectories import record_trajectories, trajectory_step

__all__ = [
    "DenoisingMLP", "ExactDenoiser", "TrainConfig", "ddim_step", "ddpm_step", "drift_grids",
    "forward_noise_dataset", "get_diffusion_parameters", "get_loss", "load_datasaurus",
    "load_or_train", "q_sample", "record_trajectories", "sample", "train", "trajectory_step",
    "cosine_schedule", "eps_from_v", "eps_from_x0", "evaluations", "log_snr", "make_schedule",
    "posterior_variance", "rescale_zero_terminal_snr", "score_from_eps", "v_from", "x0_from_eps",
    "x0_from_v",
    "VelocityMLP", "exact_velocity", "flow_loss", "flow_nll", "flow_sample", "nll",
    "path_length_ratio",
    "DATASAURUS_SHAPES",
    "ExactConditional", "guided_eps",
]
