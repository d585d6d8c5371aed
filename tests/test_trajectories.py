import numpy as np
import torch

from diffusion2d import DenoisingMLP, ExactDenoiser, record_trajectories, sample, trajectory_step


def tiny_model(T=12):
    torch.manual_seed(0)
    return DenoisingMLP(1e-4, 0.05, T, hidden=16, num_blocks=1)


def test_recording_replays_the_sampler():
    model = tiny_model()
    for deterministic, sampler in ((False, "ddpm"), (True, "ddim")):
        rec = record_trajectories(
            model, 20, deterministic, torch.Generator().manual_seed(4), grid=((-1, 1, 0.5),) * 2
        )
        xs = sample(20, model, sampler, generator=torch.Generator().manual_seed(4))
        assert rec.positions.shape == (13, 20, 2) and rec.field.shape == (12, 4, 4, 2)
        np.testing.assert_allclose(rec.positions, torch.stack(xs).numpy(), atol=1e-5)
        # frame k+1 = frame k + drift + added noise, and frame k is x_{T-k}
        np.testing.assert_allclose(
            rec.positions[1:], rec.positions[:-1] + rec.drift + rec.added_noise, atol=1e-5
        )
        assert rec.paper_t[0] == 12 and rec.paper_t[-1] == 0
        assert not rec.added_noise[-1].any()  # never noise at the last step
        if deterministic:
            assert not rec.added_noise.any()
        else:
            assert (np.abs(rec.added_noise[:-1]).sum(axis=(1, 2)) > 0).all()


def test_step_parts_are_consistent():
    model = tiny_model()
    x = torch.randn(30, 2, generator=torch.Generator().manual_seed(0))
    step = trajectory_step(model, x, 5, generator=torch.Generator().manual_seed(1))
    z = torch.randn(30, 2, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(step.added_noise, model.betas[5].sqrt() * z)
    assert torch.allclose(step.x_prev, x + step.drift + step.added_noise)
    assert torch.allclose(step.eps_pred, model(x, torch.full((30,), 5)))
    last = trajectory_step(model, x, 0, generator=torch.Generator().manual_seed(1))
    assert not last.added_noise.any()


def test_field_at_each_step_matches_the_particles_drift(dino):
    model = ExactDenoiser(dino, 1e-4, 0.05, 8)
    grid = ((-1.0, 1.01, 1.0), (-1.0, 1.01, 1.0))
    rec = record_trajectories(model, 5, True, torch.Generator().manual_seed(0), grid=grid)
    k = 3  # step k uses the 0-based step T-1-k
    pts = torch.from_numpy(np.stack([rec.grid_x.ravel(), rec.grid_y.ravel()], 1))
    step = trajectory_step(model, pts, 8 - 1 - k, deterministic=True)
    np.testing.assert_allclose(rec.field[k].reshape(-1, 2), step.drift.numpy(), atol=1e-5)
