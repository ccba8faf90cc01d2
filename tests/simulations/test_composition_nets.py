"""The three-digit-sum task, its networks, the batched AdamW trainer and experiment composition-nets.

Sources of the expected values:
- the Zipf digit law p_d ~ (d+1)^-a is the task's definition (docs/references.md §4);
- the batched trainer is compared with torch.optim.AdamW training each model alone (float64);
- the Sum architecture is additive over channels by construction (f(x) = sum_c g(x_c)).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from simulations.composition.nets import ARCHS, SumNet, param_count
from simulations.composition.sum_task import (
    DIGITS,
    digit_probabilities,
    draw_digits,
    make_sum_task,
    sum_targets,
)
from simulations.composition.train_nets import predict_sum_nets, train_sum_net_reference, train_sum_nets
from simulations.data import Dataset

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _fake(name: str, n_train: int, n_test: int, seed: int) -> Dataset:
    """A small image dataset with every label present (uint8 28x28 noise)."""
    rng = np.random.default_rng(seed)
    return Dataset(
        name,
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        np.arange(n_train, dtype=np.int64) % 10,
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        np.arange(n_test, dtype=np.int64) % 10,
        classes=tuple(str(i) for i in range(10)),
        note="synthetic",
    )


@given(st.floats(0.0, 8.0))
def test_digit_probabilities_are_zipf_with_nine_rarest(a):
    p = digit_probabilities(a)
    np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-12)
    ratio = p[:-1] / p[1:]  # p_d / p_{d+1} = ((d+2)/(d+1))^a
    np.testing.assert_allclose(ratio, (np.arange(2, 11) / np.arange(1, 10)) ** a, rtol=1e-10)
    assert (p[:-1] >= p[1:]).all() and p[DIGITS - 1] == p.min()  # '9' is the rarest


def test_digit_probabilities_rejects_bad_exponent():
    with pytest.raises(ValueError, match="zipf_exponent"):
        digit_probabilities(-1.0)
    with pytest.raises(ValueError, match="zipf_exponent"):
        digit_probabilities(float("nan"))


def test_draw_digits_matches_labels_and_avoids_repeats():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 50)
    digits = rng.integers(0, 10, size=(30, 3))
    idx = draw_digits(labels, digits, rng=rng)
    np.testing.assert_array_equal(labels[idx], digits)
    assert len(np.unique(idx)) == idx.size  # at most 90 slots, 50 images per digit: no repeats
    with pytest.raises(ValueError, match="no image of digit 3"):
        draw_digits(np.where(labels == 3, 0, labels), np.full((2, 3), 3), rng=rng)


@pytest.mark.parametrize("seed", range(5))
def test_task_structure(seed):
    mnist, fashion = _fake("mnist", 600, 200, 1), _fake("fashion-mnist", 300, 50, 2)
    k, n, m = 12, 400, 150
    task = make_sum_task(
        mnist,
        fashion,
        train_items=n,
        symbols=k,
        symbol_values=7,
        test_items=m,
        exponent=1.5,
        rng=np.random.default_rng(seed),
    )
    n_tr, n_te = 600, 200
    assert task.pool.shape == (n_tr + n_te + k, 28, 28) and task.pool.dtype == np.float32
    assert task.train.shape == (n + k, 3)
    sym = set(task.symbols.tolist())
    # every symbol lies in exactly one training item, which is one of symbol_items
    where = np.isin(task.train, task.symbols)
    assert where.sum() == k and set(np.flatnonzero(where.any(1))) == set(task.symbol_items.tolist())
    # training digits come from MNIST train, test digits from MNIST test
    digit_slots = ~where
    assert (task.train[digit_slots] < n_tr).all()
    np.testing.assert_array_equal(task.values[task.train[digit_slots]], task.train_digits[digit_slots])
    for name, items in task.tests.items():
        assert items.shape == (m, 3)
        dig = ~np.isin(items, task.symbols)
        assert ((items[dig] >= n_tr) & (items[dig] < n_tr + n_te)).all(), name
    assert (task.values[task.tests["unseen-9"]] == 9).any(axis=1).all()
    pairs = task.tests["one-shot"]
    is_sym = np.isin(pairs, task.symbols)
    assert (is_sym.sum(1) == 2).all()
    # the two symbols of a test pair are distinct and were never in one training item together
    a, b = (pairs[is_sym].reshape(m, 2)).T
    assert (a != b).all()
    rows, cols = np.nonzero(where)
    owner = dict(zip(task.train[rows, cols].tolist(), rows.tolist(), strict=True))
    assert all(owner[int(x)] != owner[int(y)] for x, y in zip(a, b, strict=True))
    assert all(int(s) in sym for s in a)
    assert ((task.values[task.symbols] >= 0) & (task.values[task.symbols] < 7)).all()
    np.testing.assert_array_equal(task.targets(task.train), task.values[task.train].sum(1))


def test_task_digit_frequencies_within_standard_errors():
    # slot digits ~ Zipf(a): each count within 5 binomial SEs of its expectation
    mnist, fashion = _fake("mnist", 600, 200, 1), _fake("fashion-mnist", 300, 50, 2)
    task = make_sum_task(
        mnist,
        fashion,
        train_items=20_000,
        symbols=10,
        symbol_values=10,
        test_items=10,
        exponent=1.0,
        rng=np.random.default_rng(3),
    )
    d = task.train_digits[:20_000].ravel()
    p = digit_probabilities(1.0)
    counts = np.bincount(d, minlength=10)
    se = np.sqrt(d.size * p * (1 - p))
    assert (np.abs(counts - d.size * p) < 5 * se).all()


def test_task_rejects_bad_sizes():
    mnist, fashion = _fake("mnist", 60, 20, 1), _fake("fashion-mnist", 30, 10, 2)
    kw = dict(train_items=10, symbols=4, symbol_values=3, test_items=5, exponent=1.0)
    for name, bad in (("train_items", 0), ("symbols", 1), ("symbols", 31), ("test_items", -1)):
        with pytest.raises(ValueError, match=name):
            make_sum_task(mnist, fashion, **(kw | {name: bad}), rng=np.random.default_rng(0))


def _toy(seed=0, pool_size=30, n=23):
    rng = np.random.default_rng(seed)
    pool = rng.standard_normal((pool_size, 28, 28)).astype(np.float32)
    values = rng.integers(0, 10, pool_size)
    items = rng.integers(0, pool_size, (n, 3))
    return pool, values, items


@pytest.mark.parametrize(
    "arch, encoder", [(a, "cnn") for a in ARCHS] + [("sum", "resnet"), ("cross-channel", "resnet")]
)
def test_batched_adamw_equals_torch_adamw_per_model(arch, encoder):
    spec = SumNet(arch, channels=(2, 3), hidden=4, head_hidden=5, encoder=encoder)
    pool, values, items = _toy()
    seeds, wds = [5, 9, 5], [0.0, 0.5, 0.5]
    got = train_sum_nets(
        spec, pool, values, items, seeds, wds, epochs=2, batch_size=7, lr=1e-2, dtype=torch.float64
    )
    for b, (s, w) in enumerate(zip(seeds, wds, strict=True)):
        ref = train_sum_net_reference(spec, pool, values, items, s, w, epochs=2, batch_size=7, lr=1e-2)
        for k in ref:
            torch.testing.assert_close(got[k][b], ref[k], rtol=0, atol=1e-12)
    # weight decay changed the trajectory (the comparison can fail)
    assert not torch.allclose(got["out.weight"][1], got["out.weight"][0])


def test_sum_architecture_is_additive_over_channels():
    spec = SumNet("sum", channels=(2, 3), hidden=4)
    params = spec.init(torch.Generator().manual_seed(0))
    x = torch.randn(5, 3, 28, 28, generator=torch.Generator().manual_seed(1))
    total = spec.apply(params, x)
    only = [torch.where(torch.arange(3)[None, :, None, None] == c, x, 0.0) for c in range(3)]
    per = sum(spec.apply(params, xc) for xc in only)
    zero = spec.apply(params, torch.zeros(5, 3, 28, 28))
    torch.testing.assert_close(total, per - 2 * zero)


def test_cross_channel_mixes_channels_and_sizes():
    spec = SumNet("cross-channel", channels=(2, 3), hidden=4, head_hidden=5)
    assert spec.param_shapes["conv1.weight"] == (2, 3, 5, 5)
    assert param_count(spec) == sum(int(np.prod(s)) for s in spec.param_shapes.values())
    with pytest.raises(ValueError, match="arch"):
        SumNet("attention")
    with pytest.raises(ValueError, match="hidden"):
        SumNet("sum", hidden=0)


def test_predict_matches_apply_per_model():
    spec = SumNet("two-layer", channels=(2, 3), hidden=4, head_hidden=5)
    pool, values, items = _toy(1)
    params = train_sum_nets(spec, pool, values, items, [1, 2], [0.0, 0.1], epochs=1, batch_size=8, lr=1e-2)
    pred = predict_sum_nets(spec, params, pool, items, batch_size=5)
    for b in range(2):
        one = spec.apply({k: v[b] for k, v in params.items()}, torch.as_tensor(pool[items]))
        np.testing.assert_allclose(pred[b], one.double().numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(sum_targets(values, items), values[items].sum(1))


def test_trainer_rejects_bad_input():
    spec = SumNet("sum", channels=(2, 3), hidden=4)
    pool, values, items = _toy()
    kw = dict(epochs=1, batch_size=4, lr=1e-2)
    with pytest.raises(ValueError, match="weight_decays"):
        train_sum_nets(spec, pool, values, items, [1, 2], [0.0], **kw)
    with pytest.raises(ValueError, match="items"):
        train_sum_nets(spec, pool, values, items + 100, [1], [0.0], **kw)
    with pytest.raises(ValueError, match="lr"):
        train_sum_nets(spec, pool, values, items, [1], [0.0], epochs=1, batch_size=4, lr=-1.0)


def test_training_fits_the_sum_on_a_toy_task():
    # 6 distinct images with values; 24 items, full batch; the Sum network must fit the sums far
    # below the variance of the targets (the loss of predicting their mean)
    rng = np.random.default_rng(0)
    pool = rng.standard_normal((6, 28, 28)).astype(np.float32)
    values = np.arange(6)
    items = rng.integers(0, 6, (24, 3))
    spec = SumNet("sum", channels=(4, 4), hidden=8)
    params = train_sum_nets(spec, pool, values, items, [0], [0.0], epochs=200, batch_size=24, lr=1e-2)
    mse = ((predict_sum_nets(spec, params, pool, items)[0] - values[items].sum(1)) ** 2).mean()
    assert mse < 0.02 * values[items].sum(1).var()


# ---------------------------------------------------------------------- the experiment
def _tiny_cfg(data_dir):
    from simulations.experiments.composition_nets import CompositionNets

    return CompositionNets(
        data_dir=str(data_dir),
        train_items=60,
        symbols=4,
        test_items=20,
        train_eval=10,
        archs=("sum", "cross-channel"),
        seeds=2,
        epochs=1,
        batch_size=32,
        channels=(2, 2),
        hidden=3,
        head_hidden=3,
    )


def test_config_rejects_bad_values():
    from simulations.experiments.composition_nets import CompositionNets

    for field, bad in (
        ("archs", ("sum", "sum")),
        ("archs", ("cnn",)),
        ("seeds", 1),
        ("weight_decays", ()),
        ("zipf_exponent", -1.0),
        ("device", "tpu"),
        ("train_items", 0),
        ("encoder", "vit"),
    ):
        with pytest.raises(ValueError, match=field.rstrip("s") if field == "archs" else field):
            CompositionNets(**{field: bad})


def test_unavailable_names_the_missing_files(tmp_path):
    from simulations.experiments.composition_nets import CompositionNets, unavailable

    reason = unavailable(CompositionNets(data_dir=str(tmp_path)))
    assert reason is not None and "mnist" in reason and "train-images-idx3-ubyte" in reason


@pytest.fixture(scope="module")
def real_data():
    if not (DATA / "mnist").is_dir() or not (DATA / "fashion-mnist").is_dir():
        pytest.skip("needs ../shared/data/mnist and fashion-mnist (the project's offline data copies)")
    from simulations.data import load_fashion_mnist, load_mnist

    return load_mnist(DATA), load_fashion_mnist(DATA)


def test_experiment_writes_its_table_and_figures(tmp_path, monkeypatch, real_data):
    # kill and resume, redraw: tests/simulations/test_experiment_contract.py (every experiment)
    import simulations.data

    monkeypatch.setattr(simulations.data, "load_mnist", lambda _dir: real_data[0])
    monkeypatch.setattr(simulations.data, "load_fashion_mnist", lambda _dir: real_data[1])
    from simulations.experiments import get
    from simulations.experiments.composition_nets import unavailable
    from simulations.runner import run_experiment

    exp = get("composition-nets")
    cfg = _tiny_cfg(DATA)
    assert unavailable(cfg) is None
    doc, figures = run_experiment(exp, cfg, tmp_path / "a", command="test")
    assert set(figures) == {"test_loss_by_architecture.png", "example_items.png"}
    table = doc["results"]["table"]
    assert set(table) == {"sum", "cross-channel"} and set(table["sum"]) == {"0", "0.5"}
    assert set(doc["streams"]) == {"task", "models"}


def test_benchmark_reports_agreement_and_ratio():
    from simulations.composition.bench import composition_benchmark

    lines = []
    res = composition_benchmark(2, items=40, batch_size=16, reference_models=1, repeats=1, out=lines.append)
    assert res["max_param_diff_float32"] < 1e-4  # same models in float32
    assert res["speedup"] > 0 and "ratio" in lines[0]
    with pytest.raises(ValueError, match="reference_models"):
        composition_benchmark(2, reference_models=3)


def test_resnet_encoder_layout_and_identity_blocks_at_init():
    # ResNet-18's layout: 2 basic blocks per stage, 11.2M parameters at widths 64..512 (torchvision's
    # resnet18 has 11,689,512 with its 7x7 stem, batch norm and 1000-way head; ours is smaller there)
    spec = SumNet("sum", channels=(64, 128, 256, 512), encoder="resnet")
    blocks = {k.split(".")[0] for k in spec.param_shapes if k[0] == "s" and k[1].isdigit()}
    assert len(blocks) == 8 and 11_000_000 < param_count(spec) < 11_300_000
    small = SumNet("sum", channels=(3, 5), hidden=4, encoder="resnet")
    p = small.init(torch.Generator().manual_seed(0))
    assert all(float(v.abs().max()) == 0.0 for k, v in p.items() if ".b." in k)
    # at init a block with an identity shortcut maps z >= 0 to itself
    z = torch.rand(2, 3, 28, 28)
    r = torch.relu(torch.nn.functional.conv2d(z, p["s0b1.a.weight"], p["s0b1.a.bias"], padding=1))
    out = torch.relu(torch.nn.functional.conv2d(r, p["s0b1.b.weight"], p["s0b1.b.bias"], padding=1) + z)
    torch.testing.assert_close(out, z)
    with pytest.raises(ValueError, match="encoder"):
        SumNet("sum", encoder="vit")
    with pytest.raises(ValueError, match="1 to 4 stage widths"):
        SumNet("sum", channels=(1, 2, 3, 4, 5), encoder="resnet")
