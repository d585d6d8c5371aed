"""diffusion2d: DDPM (Ho et al. 2020) and DDIM (Song et al. 2020) from scratch on 2-D point clouds.

The library behind the tutorial site, one concept per module, in the order of the story:
``data`` (the Datasaurus dino, checksummed; the held-out split), ``schedules`` (DDPM Sec. 2, 4),
``forward`` (q, eqs. 2 and 4), ``exact`` (the exact denoiser of a finite data set, eq. 7),
``model`` (eps_theta), ``loss`` (L_simple, eq. 14), ``training`` (Algorithm 1, ``TrainConfig``),
``samplers`` (DDPM eq. 11 / Algorithm 2, DDIM eq. 12), ``trajectories`` (sampling recorded step
by step), ``metrics``, ``protocol`` (the one evaluation protocol), ``experiments`` (the workshop's
four), ``cache`` (trained models shared between chapters), ``evaluation`` and ``plotting``
(figures and videos), ``exercises`` (the workshop's checks) and ``utils``.

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

__all__ = [
    "DenoisingMLP", "ExactDenoiser", "TrainConfig", "ddim_step", "ddpm_step", "drift_grids",
    "forward_noise_dataset", "get_diffusion_parameters", "get_loss", "load_datasaurus",
    "load_or_train", "q_sample", "record_trajectories", "sample", "train", "trajectory_step",
]
