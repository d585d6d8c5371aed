"""diffusion2d: DDPM (Ho et al. 2020) and DDIM (Song et al. 2020) from scratch on 2-D point clouds.

The library behind the tutorial site. One concept per module:

========================  ================================================================
``data``                  Datasaurus Dozen loading (checksummed), z-normalisation, split
``schedules``             linear betas, alphas, alpha_bars (DDPM Sec. 2, 4)
``forward``               q(x_t | x_{t-1}) (eq. 2) and q(x_t | x_0) (eq. 4)
``exact``                 the exact posterior-mean denoiser and drift fields (eq. 7)
``model``                 ``DenoisingMLP``, eps_theta(x_t, t)
``loss``                  L_simple (eq. 14)
``training``              Algorithm 1, fast on a CPU; ``TrainConfig``
``experiments``           the workshop's four experiments
``samplers``              DDPM (eq. 11, Algorithm 2) and DDIM (eq. 12) steps and loops
``trajectories``          sampling recorded step by step, for plots and the explorer
``metrics``               Chamfer distance, MMD, nearest-neighbour distances, prior mismatch
``cache``                 trained models shared between chapters, keyed by full config
``plotting``/``animation``  the book's figures and animations
========================  ================================================================

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
==========================  =========================================================  ==========

Modules cite an equation as "DDPM eq. 4"; its arXiv id is the one above.
"""

from .cache import load_or_train
from .data import load_datasaurus
from .exact import ExactDenoiser, drift_grids
from .forward import forward_noise_dataset, q_sample
from .loss import get_loss
from .model import DenoisingMLP
from .samplers import ddim_step, ddpm_step, sample
from .schedules import get_diffusion_parameters
from .training import TrainConfig, train
from .trajectories import record_trajectories, trajectory_step
from .utils import set_seed

__all__ = [
    "DenoisingMLP",
    "ExactDenoiser",
    "TrainConfig",
    "ddim_step",
    "ddpm_step",
    "drift_grids",
    "forward_noise_dataset",
    "get_diffusion_parameters",
    "get_loss",
    "load_datasaurus",
    "load_or_train",
    "q_sample",
    "record_trajectories",
    "sample",
    "set_seed",
    "train",
    "trajectory_step",
]
