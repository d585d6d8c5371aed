import dataclasses
import warnings

import pytest
import torch

from diffusion2d import cache as cache_mod
from diffusion2d.training import TrainConfig

TINY = TrainConfig(hidden=8, num_blocks=1, epochs=3, eval_every=1, eval_repeats=2, T=10)
# a different valid value for every config field
CHANGES = {
    "dataset": "star", "beta_min": 2e-4, "beta_max": 0.04, "T": 11,
    "input_embedding": "identity", "time_embedding": "linear", "hidden": 9, "num_blocks": 2,
    "epochs": 4, "batch_size": 128, "lr": 1e-3, "lr_schedule": "constant",
    "lr_final_fraction": 0.1, "weight_decay": 0.01, "repeats": 2, "holdout_fraction": 0.2,
    "eval_every": 2, "eval_repeats": 3, "seed": 1, "threads": 2,
    "schedule": "cosine", "prediction": "v", "objective": "flow_matching",
    "steps": 5, "label_dropout": 0.1,
}  # fmt: skip
NEEDS = {"label_dropout": {"dataset": "all"}}  # a field valid only with another's value


def test_every_config_field_is_in_the_key(dino):
    assert set(CHANGES) == {f.name for f in dataclasses.fields(TrainConfig)}
    base = cache_mod.cache_key(TINY, dino)
    keys = {name: cache_mod.cache_key(TINY.replace(**NEEDS.get(name, {}), **{name: v}), dino)
            for name, v in CHANGES.items()}
    assert base not in keys.values() and len(set(keys.values())) == len(keys)
    all_shapes = TINY.replace(dataset="all")
    assert len({cache_mod.cache_key(all_shapes.replace(label_dropout=p), dino)
                for p in (0.0, 0.1, 0.2)}) == 3
    assert cache_mod.cache_key(TINY, dino + 1e-3) != base  # data
    assert cache_mod.cache_key(TINY, dino) == base  # stable


def test_library_source_is_in_the_key(dino, monkeypatch):
    base = cache_mod.cache_key(TINY, dino)
    monkeypatch.setattr(cache_mod, "source_hash", lambda modules: "edited")
    assert cache_mod.cache_key(TINY, dino) != base


def _package_copy(tmp_path, monkeypatch):
    import shutil
    from pathlib import Path

    package = Path(cache_mod.__file__).parent
    copy = tmp_path / "diffusion2d"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(cache_mod, "__file__", str(copy / "cache.py"))
    return copy


def _edit(path):
    path.write_text(path.read_text() + "\n# edit\n")


@pytest.mark.parametrize("module", cache_mod.TRAINING_MODULES)
def test_a_training_edit_changes_the_key(tmp_path, monkeypatch, module):
    copy = _package_copy(tmp_path, monkeypatch)
    before = cache_mod.source_hash()
    _edit(copy / module)
    assert cache_mod.source_hash() != before


@pytest.mark.parametrize(
    "module", ["plotting/style.py", "samplers.py", "evaluation.py", "metrics.py"]
)
def test_a_plotting_or_sampling_edit_keeps_the_key(tmp_path, monkeypatch, module):
    copy = _package_copy(tmp_path, monkeypatch)
    before = cache_mod.source_hash()
    _edit(copy / module)
    assert cache_mod.source_hash() == before


def test_training_imports_only_the_hashed_modules():
    """Every module of ours that training loads is in TRAINING_MODULES (checked in a fresh
    interpreter, so modules other tests imported do not count)."""
    import subprocess
    import sys

    code = (
        "import sys, diffusion2d.training\n"
        "print(' '.join(m.split('.')[-1] for m in sys.modules if m.startswith('diffusion2d.')))"
    )
    # importing the package runs __init__, which loads every public module: load training alone
    code = code.replace("import sys, diffusion2d.training", (
        "import importlib.util, sys, types\n"
        "spec = importlib.util.find_spec('diffusion2d')\n"
        "pkg = types.ModuleType('diffusion2d'); pkg.__path__ = spec.submodule_search_locations\n"
        "sys.modules['diffusion2d'] = pkg\n"
        "import diffusion2d.training"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = {f"{name}.py" for name in out.stdout.split()}
    assert loaded <= set(cache_mod.TRAINING_MODULES), loaded - set(cache_mod.TRAINING_MODULES)


def test_trains_once_then_loads(tmp_path, dino, monkeypatch):
    model, history = cache_mod.load_or_train(TINY, data=dino, directory=tmp_path)
    files = list(tmp_path.glob("*.pt"))
    assert len(files) == 1 and files[0].stem == cache_mod.cache_key(TINY, dino)
    monkeypatch.setattr(cache_mod, "train", lambda *a, **k: pytest.fail("retrained"))
    again, history2 = cache_mod.load_or_train(TINY, data=dino, directory=tmp_path)
    assert history2 == history
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file


@pytest.mark.parametrize("damage", ["truncate", "garbage", "wrong_key"])
def test_corrupt_or_stale_file_is_retrained(tmp_path, dino, damage):
    cache_mod.load_or_train(TINY, data=dino, directory=tmp_path)
    path = next(tmp_path.glob("*.pt"))
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"not a checkpoint")
    else:
        blob = torch.load(path, weights_only=True)
        blob["key"] = "0" * 64
        torch.save(blob, path)
    with pytest.warns(UserWarning, match="unusable"):
        model, _ = cache_mod.load_or_train(TINY, data=dino, directory=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cache_mod.load_or_train(TINY, data=dino, directory=tmp_path)  # rewritten, valid now


def test_cache_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFUSION2D_CACHE", str(tmp_path))
    assert cache_mod.cache_dir() == tmp_path


def test_parallel_training_equals_serial(tmp_path, dino):
    configs = {"a": TINY, "b": TINY.replace(seed=3, time_embedding="linear")}
    both = cache_mod.load_or_train_many(configs, directory=tmp_path / "par", processes=2)
    for name, cfg in configs.items():
        serial, history = cache_mod.load_or_train(cfg, data=dino, directory=tmp_path / "ser")
        assert both[name][1].test_loss == history.test_loss
        for a, b in zip(
            serial.state_dict().values(), both[name][0].state_dict().values(), strict=True
        ):
            assert torch.equal(a, b)
    assert len(list((tmp_path / "par").glob("*.pt"))) == 2


def test_stacks_train_together_the_largest_first(tmp_path, monkeypatch):
    """Models of one stack.signature train as one stack; the stacks are handed out largest first
    (a 4,000-epoch model handed out last would keep one core busy alone)."""
    from diffusion2d.experiments import POOL

    submitted = []

    class Recorder:  # stands in for the process pool: records the stacks as they are handed out
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def map(self, fn, stacks, *rest):
            submitted.extend(stacks)
            return []

    monkeypatch.setattr(cache_mod.concurrent.futures, "ProcessPoolExecutor", Recorder)
    monkeypatch.setattr(cache_mod, "_load_or_train", lambda cfg, *a, **k: (cfg, None))
    cache_mod.load_or_train_many(POOL, directory=tmp_path, processes=2)
    names = {id(cfg): name for name, cfg in POOL.items()}
    stacks = [[names[id(cfg)] for cfg in stack] for stack in submitted]
    # the nine 2000-epoch models of one signature in one stack: the conditional model's 24,000
    # steps and the 4,000-epoch run fill the other process (three stacks of three would end
    # later, by stack_cost); the models a stack refuses (class labels, a step budget) alone
    assert stacks == [["v1", "v2", "v3", "v4", "cosine", "zsnr", "x0", "v", "flow"], ["cfg"],
                      ["v4long"], ["v3short"]]
    assert cache_mod.plan(POOL, processes=2) == stacks  # what the appendix's table shows
    cost = [cache_mod.stack_cost(stack) for stack in submitted]
    assert cost == sorted(cost, reverse=True)


def test_stacks_are_split_only_where_it_shortens_the_pool():
    cfg = {f"m{i}": TINY.replace(seed=i) for i in range(4)}
    cfg["long"] = TINY.replace(epochs=4 * TINY.epochs)
    one = [["m0", "m1", "m2", "m3"]]
    assert cache_mod._balanced(one, cfg, processes=1) == one  # one process: one stack
    assert cache_mod._balanced(one, cfg, processes=2) == [["m0", "m2"], ["m1", "m3"]]
    # beside a run as long as the four together, the four stay one stack
    split = cache_mod._balanced([*one, ["long"]], cfg, processes=2)
    assert split == [["m0", "m1", "m2", "m3"], ["long"]]
    assert cache_mod._balanced([], cfg, processes=2) == []
    with pytest.raises(KeyError):
        cache_mod._balanced([["nope"]], cfg, processes=2)


def test_a_second_process_waits_for_the_training_and_loads_it(tmp_path, dino, monkeypatch):
    """While one holder trains (here: the test holds the lock), another caller finds the same
    model missing and must wait, not train it too; once the lock is free it trains or loads."""
    import threading

    monkeypatch.setattr(cache_mod, "load_datasaurus", lambda name: dino)
    done = []
    with cache_mod.training_lock(tmp_path):
        waiter = threading.Thread(target=lambda: done.append(
            cache_mod.load_or_train_many({"a": TINY}, directory=tmp_path, processes=1)))
        waiter.start()
        waiter.join(timeout=2.0)  # TINY trains in well under a second: it would have finished
        assert waiter.is_alive() and not done and not list(tmp_path.glob("*.pt"))
    waiter.join()
    assert len(list(tmp_path.glob("*.pt"))) == 1 and set(done[0]) == {"a"}


def test_a_model_stored_while_the_pool_trains_loads_at_once(tmp_path, dino, monkeypatch):
    """A chapter that needs one model of the pool loads it as soon as the pool has stored it,
    while the pool still holds the lock for the others (here the test is the pool)."""
    import threading

    from diffusion2d.training import train

    assert cache_mod.stored(TINY, dino, tmp_path) is None  # missing, and no one is training
    model, history = train(TINY, data=dino, progress=False)
    monkeypatch.setattr(cache_mod, "train", lambda *a, **k: pytest.fail("trained by the waiter"))
    loaded, done = [], threading.Event()

    def chapter():
        loaded.append(cache_mod.load_or_train(TINY, data=dino, directory=tmp_path))
        done.set()

    with cache_mod.training_lock(tmp_path):
        waiter = threading.Thread(target=chapter)
        waiter.start()
        assert not done.wait(1.0) and not loaded  # the file is not there: it waits
        cache_mod._store(TINY, dino, model, history, tmp_path)  # the pool stores this one
        assert done.wait(120)  # ... and the chapter has it while the lock is still held
        assert cache_mod._training_elsewhere(tmp_path)
    waiter.join()
    assert loaded[0][1] == history and all(torch.equal(a, b) for a, b in zip(
        loaded[0][0].state_dict().values(), model.state_dict().values(), strict=True))
    assert not cache_mod._training_elsewhere(tmp_path)
    path = next(tmp_path.glob("*.pt"))
    path.write_bytes(b"not a checkpoint")
    assert cache_mod.stored(TINY, dino, tmp_path) is None  # unusable: retrained under the lock


def test_a_conditional_model_trains_alone_and_is_stored(tmp_path, monkeypatch):
    """stack.train_many refuses class-conditional and step-budget configs: the pool trains each
    alone with training.train, stores it under its own key and loads it back."""
    from diffusion2d.stack import stackable
    from diffusion2d.training import train

    cond = TINY.replace(dataset="all", label_dropout=0.1, steps=4, eval_repeats=1)
    steps = TINY.replace(steps=4)
    configs = {"cond": cond, "steps": steps, "a": TINY, "b": TINY.replace(seed=1)}
    assert not stackable(cond) and not stackable(steps) and stackable(TINY)
    assert sorted(cache_mod.plan(configs, processes=1)) == [["a", "b"], ["cond"], ["steps"]]
    runs = cache_mod.load_or_train_many(configs, directory=tmp_path, processes=1)
    assert len(list(tmp_path.glob("*.pt"))) == 4
    for name in ("cond", "steps"):
        alone, _ = train(configs[name], progress=False)
        assert all(torch.equal(a, b) for a, b in zip(runs[name][0].state_dict().values(),
                                                     alone.state_dict().values(), strict=True))
    assert runs["cond"][0].num_classes == 13
    monkeypatch.setattr(cache_mod, "train", lambda *a, **k: pytest.fail("retrained"))
    again, _ = cache_mod.load_or_train(cond, directory=tmp_path)
    assert torch.equal(again.label.weight, runs["cond"][0].label.weight)
    assert cache_mod.training_work(cond) > cache_mod.training_work(TINY.replace(steps=2))
