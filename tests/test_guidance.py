"""Classifier-free guidance: the class-conditional model, its training, guided_eps and sampling."""

import pytest
import torch

from diffusion2d import (
    DATASAURUS_SHAPES,
    DenoisingMLP,
    ExactConditional,
    ExactDenoiser,
    guided_eps,
    load_datasaurus,
    sample,
)
from diffusion2d.data import class_labels, train_test_split
from diffusion2d.metrics import chamfer_distance, nearest_neighbour_distances
from diffusion2d.training import (
    TrainConfig,
    batch_starts,
    draw_labels,
    split_for,
    train,
    with_budget,
)

K = len(DATASAURUS_SHAPES)  # 13
SAMPLERS = [("ddpm", {}), ("ddpm", {"num_steps": 7}), ("ddpm", {"variance": "beta_tilde"}),
            ("ddim", {}), ("ddim", {"eta": 0.5}), ("ddim", {"eta": 1.0, "num_steps": 6}),
            ("euler", {}), ("heun", {}), ("heun", {"num_steps": 5})]


def conditional(prediction="eps", schedule="linear", seed=0, T=12):
    """A small class-conditional model with a trained-looking (non-zero) label embedding."""
    torch.manual_seed(seed)
    model = DenoisingMLP(1e-4, 0.2, T, hidden=16, num_blocks=1, prediction=prediction,
                         schedule=schedule, num_classes=K)
    with torch.no_grad():
        model.label.weight.normal_()
    return model.eval()


class Fixed(torch.nn.Module):
    """The conditional model with its labels fixed: what sampling the conditional model means."""

    def __init__(self, model, y):
        super().__init__()
        self.model, self.y = model, y
        self.T, self.prediction = model.T, model.prediction
        self.betas, self.alphas, self.alpha_bars = model.betas, model.alphas, model.alpha_bars

    def forward(self, xt, t):
        return self.model(xt, t, self.y)

    def predict(self, xt, t):
        return self.model.predict(xt, t, self.y)


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(1)
    xt = torch.randn(20, 2, generator=g)
    return xt, torch.randint(0, 12, (20,), generator=g), torch.randint(0, K, (20,), generator=g)


# --- the model: labels and the null label --------------------------------------------------------

def test_null_label_is_none_and_index_num_classes(batch):
    xt, t, y = batch
    model = conditional()
    null = model(xt, t)
    assert torch.equal(null, model(xt, t, None))
    assert torch.equal(null, model(xt, t, torch.full((20,), K)))  # the null label's index
    assert not torch.allclose(null, model(xt, t, y))
    # a label per row: row i sees only its own label
    assert torch.allclose(model(xt, t, y)[3], model(xt[3:4], t[3:4], y[3:4])[0], atol=1e-6)
    assert torch.equal(model(xt, t, 5), model(xt, t, torch.full((20,), 5)))  # an int broadcasts


def test_a_fresh_conditional_model_ignores_its_labels_and_the_trunk_is_unchanged(batch):
    xt, t, y = batch
    torch.manual_seed(0)
    fresh = DenoisingMLP(1e-4, 0.2, 12, hidden=16, num_blocks=1, num_classes=K)
    torch.manual_seed(0)
    plain = DenoisingMLP(1e-4, 0.2, 12, hidden=16, num_blocks=1)
    assert torch.equal(fresh(xt, t, y), fresh(xt, t))  # zero label embedding at first
    assert torch.equal(fresh(xt, t), plain(xt, t))  # the same trunk, same init
    assert set(fresh.state_dict()) - set(plain.state_dict()) == {"label.weight"}
    assert fresh.label.weight.shape == (K + 1, 16)


def test_bad_labels_are_named(batch):
    xt, t, y = batch
    model, plain = conditional(), DenoisingMLP(1e-4, 0.2, 12, hidden=8, num_blocks=1)
    with pytest.raises(ValueError, match=r"y must be class indices in \[0, 13\]"):
        model(xt, t, torch.full((20,), K + 1))
    with pytest.raises(ValueError, match=r"y must be class indices in \[0, 13\]"):
        model(xt, t, -1)
    with pytest.raises(ValueError, match=r"y must be a scalar or of shape \(20,\)"):
        model(xt, t, y[:5])
    with pytest.raises(TypeError, match="y must hold class indices"):
        model(xt, t, y.float())
    with pytest.raises(ValueError, match="y .* given to an unconditional model"):
        plain(xt, t, y)
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        DenoisingMLP(1e-4, 0.2, 12, num_classes=0)


# --- guided_eps: Ho & Salimans eq. 6 -----------------------------------------------------------

def test_guided_eps_at_0_and_1_is_the_unconditional_and_conditional_model(batch):
    xt, t, y = batch
    model = conditional()
    assert torch.equal(guided_eps(model, xt, t, y, 0.0), model(xt, t))
    assert torch.equal(guided_eps(model, xt, t, y, 1.0), model(xt, t, y))
    assert torch.equal(guided_eps(model, xt, t, y, 1), model(xt, t, y))


@pytest.mark.parametrize("w", [0.25, 2.0, 4.0, 7.5])
def test_guided_eps_is_linear_in_the_guidance_scale(batch, w):
    xt, t, y = batch
    model = conditional()
    uncond, cond = model(xt, t), model(xt, t, y)
    got = guided_eps(model, xt, t, y, w)
    assert torch.allclose(got, uncond + w * (cond - uncond), atol=1e-6)
    assert torch.allclose(got, (1 - w) * uncond + w * cond, atol=1e-5)  # (1 + w') c - w' u
    # linear: the midpoint of two scales is the scale of their mean
    mid = 0.5 * (guided_eps(model, xt, t, y, w - 0.2) + guided_eps(model, xt, t, y, w + 0.2))
    assert torch.allclose(mid, got, atol=1e-5)


def test_guided_eps_takes_shape_names(batch):
    xt, t, _ = batch
    model = conditional()
    star = DATASAURUS_SHAPES.index("star")
    assert torch.equal(guided_eps(model, xt, t, "star", 3.0), guided_eps(model, xt, t, star, 3.0))


def test_guidance_errors_name_the_argument(batch):
    xt, t, y = batch
    model, plain = conditional(), DenoisingMLP(1e-4, 0.2, 12, hidden=8, num_blocks=1)
    with pytest.raises(ValueError, match="y must be a class index or a shape name.*'dinosaur'"):
        guided_eps(model, xt, t, "dinosaur", 2.0)
    with pytest.raises(ValueError, match=r"y must be class indices in \[0, 12\]"):
        guided_eps(model, xt, t, K, 2.0)  # the null label is no class to guide toward
    with pytest.raises(ValueError, match="y .* given to an unconditional model"):
        guided_eps(plain, xt, t, 0, 2.0)
    with pytest.raises(ValueError, match="guidance_scale must be a finite number >= 0"):
        guided_eps(model, xt, t, y, -1.0)
    with pytest.raises(ValueError, match="guidance_scale must be a finite number >= 0"):
        guided_eps(model, xt, t, y, float("nan"))
    small = DenoisingMLP(1e-4, 0.2, 12, hidden=8, num_blocks=1, num_classes=3)
    with pytest.raises(ValueError, match="shape names are the classes of a model of all 13"):
        guided_eps(small, xt, t, "dino", 2.0)


# --- sampling with guidance ---------------------------------------------------------------------

@pytest.mark.parametrize("prediction, schedule", [("eps", "linear"), ("v", "cosine"),
                                                  ("x0", "linear")])
@pytest.mark.parametrize("sampler, options", SAMPLERS)
def test_every_sampler_at_scale_1_samples_the_conditional_model(sampler, options, prediction,
                                                                 schedule):
    model = conditional(prediction, schedule)
    y = torch.arange(30) % K
    runs = {}
    for name, m, kwargs in (("guided", model, {"y": y, "guidance_scale": 1.0}),
                            ("conditional", Fixed(model, y), {}),
                            ("w=0", model, {"y": y, "guidance_scale": 0.0}),
                            ("unconditional", model, {}),
                            ("w=3", model, {"y": "star", "guidance_scale": 3.0})):
        runs[name] = sample(30, m, sampler, torch.Generator().manual_seed(4), **options, **kwargs)
    for a, b in (("guided", "conditional"), ("w=0", "unconditional")):
        assert all(torch.equal(u, v) for u, v in zip(runs[a], runs[b], strict=True)), (a, b)
    x_T = torch.randn(30, 2, generator=torch.Generator().manual_seed(4))
    for name, xs in runs.items():  # x_T stays the first draw of the generator
        assert torch.equal(xs[0], x_T), name
        assert torch.isfinite(xs[-1]).all(), name
    assert not torch.allclose(runs["w=3"][-1], runs["guided"][-1])


def test_sample_checks_y_and_guidance_scale():
    model, plain = conditional(), DenoisingMLP(1e-4, 0.2, 12, hidden=8, num_blocks=1)
    with pytest.raises(ValueError, match="y must be a class index or a shape name"):
        sample(5, model, y="dinosaur")
    with pytest.raises(ValueError, match=r"y must be class indices in \[0, 12\]"):
        sample(5, model, y=13)
    with pytest.raises(ValueError, match=r"y must be a scalar or of shape \(5,\)"):
        sample(5, model, y=torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="y .* given to an unconditional model"):
        sample(5, plain, y=0)
    with pytest.raises(ValueError, match="guidance_scale=2.0 needs a class y"):
        sample(5, model, guidance_scale=2.0)
    with pytest.raises(ValueError, match="guidance_scale=2.0 needs a class y"):
        sample(5, plain, guidance_scale=2.0)


# --- the exact class-conditional denoiser -------------------------------------------------------

@pytest.fixture(scope="module")
def dozen():
    points = load_datasaurus("all")  # (13 * 142, 2)
    return points, class_labels(points)


def test_exact_conditional_is_the_exact_denoiser_of_each_shape_and_of_all(dozen):
    points, labels = dozen
    exact = ExactConditional(points, labels, 1e-4, 0.05, 20)
    assert exact.num_classes == K
    g = torch.Generator().manual_seed(0)
    xt, t = torch.randn(40, 2, generator=g), torch.randint(0, 20, (40,), generator=g)
    assert torch.equal(exact(xt, t), ExactDenoiser(points, 1e-4, 0.05, 20)(xt, t))
    for k in (0, 5, 12):
        alone = ExactDenoiser(load_datasaurus(DATASAURUS_SHAPES[k]), 1e-4, 0.05, 20)
        assert torch.allclose(exact(xt, t, k), alone(xt, t), atol=1e-6)
    y = torch.arange(40) % K  # a class per row
    assert torch.allclose(exact(xt, t, y)[7], exact(xt[7:8], t[7:8], int(y[7]))[0], atol=1e-6)


@pytest.mark.parametrize("sampler, options", [("ddpm", {}), ("ddim", {}), ("ddim", {"eta": 1.0}),
                                              ("euler", {}), ("heun", {"num_steps": 25}),
                                              ("ddpm", {"num_steps": 25})])
def test_exact_guided_sampling_lands_on_the_chosen_shape(dozen, sampler, options):
    points, labels = dozen
    exact = ExactConditional(points, labels, 1e-4, 0.05, 50)
    star = load_datasaurus("star")
    xs = sample(150, exact, sampler, torch.Generator().manual_seed(0), y="star",
                guidance_scale=1.0, **options)
    assert float(nearest_neighbour_distances(xs[-1], star).median()) < 0.02
    others = [chamfer_distance(xs[-1], load_datasaurus(s)) for s in DATASAURUS_SHAPES]
    assert min(range(K), key=others.__getitem__) == DATASAURUS_SHAPES.index("star")


def test_exact_guided_sampling_at_w_0_is_unconditional(dozen):
    points, labels = dozen
    exact = ExactConditional(points, labels, 1e-4, 0.05, 30)
    a = sample(40, exact, "ddim", torch.Generator().manual_seed(2), y="star", guidance_scale=0.0)
    b = sample(40, ExactDenoiser(points, 1e-4, 0.05, 30), "ddim",
               torch.Generator().manual_seed(2))
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


# --- training: all 13 shapes, label dropout, a budget of steps ----------------------------------

def test_all_shapes_are_labelled_and_split_shape_by_shape(dozen):
    points, labels = dozen
    assert points.shape == (K * 142, 2) and labels.tolist() == sorted(labels.tolist())
    assert torch.equal(points[142 * 5 : 142 * 6], load_datasaurus("star"))
    cfg = TrainConfig(dataset="all")
    train_x, heldout = split_for(cfg)
    assert train_x.shape == (K * 121, 2) and heldout.shape == (K * 21, 2)
    for k, name in enumerate(DATASAURUS_SHAPES):  # each shape split as alone
        tr, te = train_test_split(load_datasaurus(name), cfg.holdout_fraction, seed=cfg.seed)
        assert torch.equal(train_x[121 * k : 121 * (k + 1)], tr)
        assert torch.equal(heldout[21 * k : 21 * (k + 1)], te)
    assert (class_labels(train_x) == torch.arange(K).repeat_interleave(121)).all()
    with pytest.raises(ValueError, match="x must hold 13 equal blocks"):
        split_for(cfg, points[:-1])


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_label_dropout_rate(p):
    cfg = TrainConfig(dataset="all", label_dropout=p, repeats=10)
    train_x, _ = split_for(cfg)
    y = draw_labels(cfg, train_x, torch.Generator().manual_seed(0))  # (10 * 1573,)
    true = class_labels(train_x).repeat(10)
    assert y.shape == true.shape
    dropped = y == K
    assert torch.equal(y[~dropped], true[~dropped])  # kept labels are the true ones
    n = len(y)
    sd = (p * (1 - p) / n) ** 0.5
    assert abs(float(dropped.double().mean()) - p) <= 5 * sd + 1e-12  # binomial, 5 sigma
    assert draw_labels(TrainConfig(), train_x, torch.Generator()) is None  # unconditional


def test_unconditional_configs_draw_no_labels():
    g = torch.Generator().manual_seed(0)
    assert draw_labels(TrainConfig(), torch.zeros(121, 2), g) is None
    assert torch.equal(torch.rand(3, generator=g), torch.rand(3, generator=torch.Generator()
                                                               .manual_seed(0)))


def test_a_step_budget_runs_exactly_that_many_steps():
    cfg = TrainConfig(dataset="all", steps=100)
    n = 1573 * cfg.repeats  # 37 batches an epoch
    budget = with_budget(cfg, 1573)
    assert budget.epochs == 3 and budget.steps == 100
    assert sum(len(batch_starts(budget, n, e)) for e in range(1, budget.epochs + 1)) == 100
    assert len(batch_starts(budget, n, 3)) == 100 - 2 * 37
    plain = TrainConfig()
    assert with_budget(plain, 121) is plain
    assert batch_starts(plain, 726, 5) == range(0, 726, 256)


def test_train_a_conditional_model_by_steps():
    cfg = TrainConfig(dataset="all", label_dropout=0.1, steps=40, hidden=16, num_blocks=1,
                      eval_every=1, eval_repeats=1, T=10)
    model, history = train(cfg, progress=False)
    assert model.num_classes == K and not model.training
    assert history.epochs == [1, 2]  # 40 steps: an epoch of 37 batches and 3 of the next
    assert all(torch.isfinite(torch.tensor(history.train_loss)))
    again, _ = train(cfg, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 again.state_dict().values(), strict=True))
    assert model.label.weight.abs().sum() > 0  # the labels were trained


def test_config_fields_are_checked_by_name():
    with pytest.raises(ValueError, match="TrainConfig.dataset must be one of dino, .* or 'all'"):
        TrainConfig(dataset="dinosaur")
    with pytest.raises(ValueError, match="TrainConfig.label_dropout needs dataset='all'"):
        TrainConfig(label_dropout=0.1)
    with pytest.raises(ValueError, match=r"TrainConfig.label_dropout must be in \[0, 1\]"):
        TrainConfig(dataset="all", label_dropout=1.5)
    with pytest.raises(ValueError, match="TrainConfig.steps must be a positive int"):
        TrainConfig(steps=0)
    with pytest.raises(ValueError, match="TrainConfig.objective must be 'ddpm' for dataset='all'"):
        TrainConfig(dataset="all", objective="flow_matching")
    with pytest.raises(ValueError, match=r"unknown Datasaurus shape 'dinosaur' \(argument name\)"):
        load_datasaurus("dinosaur")
    assert TrainConfig(dataset="all").num_classes == K and TrainConfig().num_classes is None


def test_train_takes_exactly_its_steps(monkeypatch):
    from diffusion2d import training

    steps, real = [], training._make_optimizer

    def counting(model, config):
        opt = real(model, config)
        step = opt.step

        def counted(*args, **kwargs):
            steps.append(1)
            return step(*args, **kwargs)

        opt.step = counted
        return opt

    monkeypatch.setattr(training, "_make_optimizer", counting)
    cfg = TrainConfig(steps=7, hidden=8, num_blocks=1, eval_every=1, eval_repeats=1, T=10)
    _, history = train(cfg, progress=False)  # the dino: 3 batches an epoch
    assert len(steps) == 7 and history.epochs == [1, 2, 3]


def test_the_loss_of_a_conditional_model_sees_the_labels(batch):
    from diffusion2d import get_diffusion_parameters, get_loss, q_sample
    from diffusion2d.training import batch_losses, loss_batches

    xt, t, y = batch
    model = conditional()
    _, _, ab = get_diffusion_parameters(1e-4, 0.2, 12)
    eps = torch.ones_like(xt)
    want = ((eps - model(q_sample(xt, t, eps, ab), t, y)) ** 2).mean()
    assert torch.equal(get_loss(model, xt, eps, ab, t, y), want)
    assert not torch.equal(get_loss(model, xt, eps, ab, t), want)  # the null label
    cfg = TrainConfig(dataset="all", T=12, beta_max=0.2, eval_repeats=2)
    batches = loss_batches(cfg)
    x0, eps, ts, labels = batches["held-out"]  # the true labels, none dropped
    assert torch.equal(labels, class_labels(split_for(cfg)[1]).repeat(2))
    with torch.no_grad():
        want = float(get_loss(model, x0, eps, ab, ts, labels))
    assert batch_losses(model, batches)["held-out"] == want
