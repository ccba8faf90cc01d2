"""Tests for the batched subset-training engine (simulations/training).

Expected values are not golden numbers: each batched result is compared with the plain
one-model trainer (reference.train_one, torch.optim.SGD) run on the same subset, seed and data
order. In float64 the two differ only by summation order, observed ~1e-16 absolute.
"""

import numpy as np
import pytest
import torch

from simulations.training import (
    MLP,
    ResNet,
    SmallCNN,
    SoftmaxRegression,
    SpecModule,
    correctness_batched,
    epoch_schedule,
    init_generator,
    init_stacked,
    predict_batched,
    probabilities_batched,
    train_batched,
    train_one,
    train_snapshots,
)

SPECS = {
    "softmax": SoftmaxRegression(in_dim=36, classes=3),
    "mlp": MLP(in_dim=36, hidden=(12, 8), classes=3),
    "cnn": SmallCNN(in_channels=1, height=6, width=6, classes=3, channels=(3, 4)),
    "resnet": ResNet(in_channels=1, height=6, width=6, classes=3, channels=(2, 3)),
}
HYPER = {"epochs": 2, "batch_size": 10, "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-3}


def _problem(n=64, B=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 1, 6, 6))
    y = rng.integers(0, 3, size=n)
    masks = rng.random((B, n)) < 0.6
    masks[1, :] = False
    masks[1, :7] = True  # one model with a much smaller subset: its epochs end early
    seeds = np.array([11, 12, 13, 14])[:B]
    return x, y, masks, seeds


def _assert_params_close(a, b, rtol=1e-6, atol=1e-9):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k].cpu().numpy(), b[k].cpu().numpy(), rtol=rtol, atol=atol, err_msg=k)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_stacked_init_equals_separate_inits(kind):
    spec = SPECS[kind]
    seeds = [3, 0, 17]
    stacked = init_stacked(spec, seeds)
    for b, s in enumerate(seeds):
        single = spec.init(torch.Generator().manual_seed(s))
        for k in single:
            assert torch.equal(stacked[k][b], single[k])
    # distinct seeds give distinct models; same seed, same model
    last_bias = list(stacked)[-1]
    assert not torch.equal(stacked[last_bias][0], stacked[last_bias][1])
    again = spec.init(init_generator(3))
    assert all(torch.equal(again[k], stacked[k][0]) for k in again)


@pytest.mark.parametrize("kind", ["cnn", "resnet"])  # resnet: dotted parameter names
def test_functional_call_matches_apply(kind):
    spec = SPECS[kind]
    params = spec.init(init_generator(1))
    x = torch.randn(5, 1, 6, 6, generator=init_generator(2))
    module = SpecModule(spec, params)
    out = torch.func.functional_call(module, params, (x,))
    torch.testing.assert_close(out, spec.apply(params, x), rtol=0, atol=0)
    assert out.shape == (5, 3)


def test_schedule_follows_convention():
    # 23 examples, batch 10 -> 3 chunks (10, 10, 3) for model 0; 7 examples -> 1 chunk for model 1
    subsets = [torch.arange(0, 46, 2), torch.arange(1, 15, 2)]
    index, weight, active = epoch_schedule(subsets, [5, 6], epoch=0, batch_size=10)
    assert index.shape == (3, 2, 10) and active.tolist() == [[True, True], [True, False], [True, False]]
    assert weight[:, 0].sum() == 23 and weight[:, 1].sum() == 7
    visited = index[:, 0][weight[:, 0] > 0]
    assert sorted(visited.tolist()) == subsets[0].tolist()  # each example once per epoch
    other, _, _ = epoch_schedule(subsets, [5, 6], epoch=1, batch_size=10)
    assert not torch.equal(index[:, 0], other[:, 0])  # a fresh order each epoch
    # full batch (batch_size above every subset): one chunk as wide as the largest subset
    full, w, act = epoch_schedule(subsets, [5, 6], epoch=0, batch_size=10_000)
    assert full.shape == (1, 2, 23) and w[0].sum(1).tolist() == [23, 7] and act.all()
    assert torch.equal(full[0, 0], index[:, 0][weight[:, 0] > 0])  # the same order as in chunks of 10


METHODS = [("softmax", "dense"), ("softmax", "vmap"), ("mlp", "dense"), ("mlp", "vmap"), ("cnn", "vmap"),
           ("resnet", "vmap")]  # fmt: skip


@pytest.mark.parametrize("kind,method", METHODS)
def test_batched_equals_reference(kind, method):
    spec = SPECS[kind]
    x, y, masks, seeds = _problem(B=3)
    params = train_batched(spec, x, y, masks, seeds, dtype=torch.float64, method=method, **HYPER)
    preds = predict_batched(spec, params, x, batch_size=17)
    assert preds.shape == (3, 64) and preds.dtype == torch.int64
    for b in range(3):
        ref = train_one(spec, x, y, masks[b], int(seeds[b]), dtype=torch.float64, **HYPER)
        _assert_params_close({k: v[b] for k, v in params.items()}, ref)
        ref_pred = spec.apply(ref, torch.as_tensor(x)).argmax(-1)
        assert torch.equal(preds[b], ref_pred)
        # training moved the parameters away from the initialisation
        init = spec.init(init_generator(int(seeds[b])))
        assert max(float((ref[k] - init[k].double()).abs().max()) for k in ref) > 1e-3


def test_result_independent_of_other_models():
    spec = SPECS["mlp"]
    x, y, masks, seeds = _problem(B=4)
    full = train_batched(spec, x, y, masks, seeds, dtype=torch.float64, **HYPER)
    for k in (0, 1):  # model 1 has the smallest subset, model 0 a large one
        alone = train_batched(spec, x, y, masks[k : k + 1], seeds[k : k + 1], dtype=torch.float64, **HYPER)
        _assert_params_close({n: v[k] for n, v in full.items()}, {n: v[0] for n, v in alone.items()})


def test_float32_default_and_helpers():
    spec = SPECS["softmax"]
    x, y, masks, seeds = _problem(B=2)
    params = train_batched(spec, x, y, masks, seeds, **HYPER)
    assert params["w0"].dtype == torch.float32 and params["w0"].shape == (2, 3, 36)
    probs = probabilities_batched(spec, params, x, batch_size=50)
    assert probs.shape == (2, 64, 3)
    torch.testing.assert_close(probs.sum(-1), torch.ones(2, 64))
    correct = correctness_batched(spec, params, x, y)
    assert correct.shape == (2, 64) and correct.dtype == torch.bool
    assert torch.equal(correct, predict_batched(spec, params, x) == torch.as_tensor(y))


@pytest.mark.parametrize("method", ["dense", "vmap"])
def test_groups_do_not_change_the_models(method):
    # groups of 1, 3 (uneven: 3 + 1) and all 4 models: each model's trajectory is its own
    spec = SPECS["mlp"]
    x, y, masks, seeds = _problem(B=4)
    runs = [
        train_batched(spec, x, y, masks, seeds, dtype=torch.float64, method=method, group_size=g, **HYPER)
        for g in (1, 3, 4)
    ]
    for other in runs[1:]:
        _assert_params_close(runs[0], other, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("method", ["dense", "vmap"])
def test_group_workers_change_nothing_bit_for_bit(method):
    # groups of 1 on 1, 2 and 3 threads: each group is one thread's single-threaded arithmetic
    spec = SPECS["mlp"]
    x, y, masks, seeds = _problem(B=4)
    runs = [
        train_batched(spec, x, y, masks, seeds, method=method, group_size=1, workers=w, **HYPER)
        for w in (1, 2, 3)
    ]
    for other in runs[1:]:
        assert all(torch.equal(runs[0][k], other[k]) for k in runs[0])


def test_a_failing_group_stops_the_others_and_its_error_is_raised():
    spec = SPECS["softmax"]
    x, y, masks, seeds = _problem(B=4)
    calls = []

    def progress(done, total):
        calls.append(done)
        if done == 3:
            raise RuntimeError("planted failure in a group")

    hyper = {**HYPER, "epochs": 3}
    with pytest.raises(RuntimeError, match="planted failure"):
        train_batched(spec, x, y, masks, seeds, group_size=1, workers=2, progress=progress, **hyper)
    assert len(calls) < 12  # the other groups stopped early: 4 groups x 3 epochs were not all run


def test_group_workers_default_and_override():
    from simulations import threads

    assert threads.group_workers() == max(1, threads.available_cores() // torch.get_num_threads())
    with threads.use_group_workers(1):
        assert threads.group_workers() == 1
    with pytest.raises(ValueError, match="workers"):
        x, y, masks, seeds = _problem(B=2)
        train_batched(SPECS["softmax"], x, y, masks, seeds, workers=0, **HYPER)


@pytest.mark.parametrize(("method", "optimizer"), [("dense", "sgd"), ("vmap", "sgd"), ("vmap", "adamw")])
def test_per_model_learning_rates_and_weight_decays_equal_separate_runs(method, optimizer):
    # one batch with lr and weight decay per model against each model trained alone with its own
    spec = SPECS["mlp"]
    x, y, masks, seeds = _problem(B=4)
    lrs, wds = np.array([0.1, 0.05, 0.2, 0.1]), np.array([0.0, 1e-2, 0.0, 0.3])
    hyper = {k: v for k, v in HYPER.items() if k not in ("lr", "weight_decay")}
    kw = {"dtype": torch.float64, "method": method, "optimizer": optimizer, **hyper}
    batch = train_batched(spec, x, y, masks, seeds, lr=lrs, weight_decay=wds, **kw)
    for b in range(4):
        alone = train_batched(
            spec, x, y, masks[b : b + 1], seeds[b : b + 1], lr=lrs[b], weight_decay=wds[b], **kw
        )
        _assert_params_close({k: v[b : b + 1] for k, v in batch.items()}, alone, rtol=1e-12, atol=1e-14)


def test_snapshots_are_the_models_trained_for_that_many_epochs():
    spec = SPECS["mlp"]
    x, y, masks, seeds = _problem(B=4)
    hyper = {k: v for k, v in HYPER.items() if k != "epochs"}
    snaps = train_snapshots(spec, x, y, masks, seeds, epochs=(1, 3), group_size=3, **hyper)
    assert sorted(snaps) == [1, 3]
    for e in (1, 3):
        direct = train_batched(spec, x, y, masks, seeds, epochs=e, group_size=3, **hyper)
        assert all(torch.equal(snaps[e][k], direct[k]) for k in direct)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"lr": np.array([0.1, 0.1])}, "lr"),
        ({"lr": np.array([0.1, 0.0, 0.1, 0.1])}, "lr"),
        ({"weight_decay": np.array([0.0, -1.0, 0.0, 0.0])}, "weight_decay"),
        ({"weight_decay": np.array([0.0, np.nan, 0.0, 0.0])}, "weight_decay"),
        ({"epochs": (3, 2)}, "epochs"),
        ({"epochs": 2}, "epochs"),
    ],
)
def test_per_model_and_snapshot_arguments_are_checked(change, name):
    x, y, masks, seeds = _problem(B=4)
    args = {**HYPER, "epochs": (2,), **change}
    with pytest.raises(ValueError, match=name):
        train_snapshots(SPECS["softmax"], x, y, masks, seeds, **args)


def test_dense_and_vmap_agree_with_momentum_zero():
    spec = SPECS["mlp"]
    x, y, masks, seeds = _problem(B=3)
    hyper = {**HYPER, "momentum": 0.0, "weight_decay": 0.0}
    a = train_batched(spec, x, y, masks, seeds, dtype=torch.float64, method="dense", **hyper)
    b = train_batched(spec, x, y, masks, seeds, dtype=torch.float64, method="vmap", **hyper)
    _assert_params_close(a, b, rtol=1e-10, atol=1e-13)


def test_progress_called_once_per_epoch_and_group():
    spec = SPECS["softmax"]
    x, y, masks, seeds = _problem(B=3)
    calls = []
    train_batched(spec, x, y, masks, seeds, progress=lambda e, t: calls.append((e, t)), **HYPER)
    assert calls == [(1, 2), (2, 2)]
    calls.clear()
    train_batched(spec, x, y, masks, seeds, group_size=2, progress=lambda e, t: calls.append((e, t)), **HYPER)
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def _short_masks(a):
    a["masks"] = a["masks"][:, :-1]


def _empty_subset(a):
    a["masks"] = a["masks"].copy()
    a["masks"][2] = False


BAD_INPUTS = {
    "masks_wrong_n": (_short_masks, "masks"),
    "masks_empty_subset": (_empty_subset, "masks"),
    "masks_not_bool": (lambda a: a.update(masks=a["masks"].astype(float)), "masks"),
    "masks_wrong_B": (lambda a: a.update(seeds=a["seeds"][:3]), "masks"),
    "seeds_negative": (lambda a: a.update(seeds=np.array([-1, 2, 3, 4])), "seeds"),
    "epochs_zero": (lambda a: a.update(epochs=0), "epochs"),
    "epochs_negative": (lambda a: a.update(epochs=-2), "epochs"),
    "batch_size_zero": (lambda a: a.update(batch_size=0), "batch_size"),
    "lr_zero": (lambda a: a.update(lr=0.0), "lr"),
    "lr_negative": (lambda a: a.update(lr=-0.1), "lr"),
    "momentum_one": (lambda a: a.update(momentum=1.0), "momentum"),
    "weight_decay_negative": (lambda a: a.update(weight_decay=-1.0), "weight_decay"),
    "y_out_of_range": (lambda a: a.update(y=a["y"] + 3), "y"),
    "x_wrong_dim": (lambda a: a.update(x=a["x"][:, :, :5]), "x"),
    "group_size_zero": (lambda a: a.update(group_size=0), "group_size"),
    "method_unknown": (lambda a: a.update(method="adam"), "method"),
    "loss_unknown": (lambda a: a.update(loss="hinge"), "loss"),
    "loss_on_the_dense_path": (lambda a: a.update(loss="squared_error", method="dense"), "loss"),
    "targets_not_finite": (lambda a: a.update(loss="squared_error", y=np.full(len(a["y"]), np.nan)), "y"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_raises_naming_parameter(case):
    spec = SPECS["mlp"]
    x, y, masks, seeds = _problem(B=4)
    args = {"x": x, "y": y, "masks": masks, "seeds": seeds, **HYPER}
    modify, name = BAD_INPUTS[case]
    modify(args)
    with pytest.raises(ValueError, match=name):
        train_batched(spec, **args)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": -1}, "batch_size"),
        ({"lr": 0}, "lr"),
        ({"seed": -3}, "seeds"),
    ],
)
def test_reference_bad_input_raises(change, name):
    spec = SPECS["mlp"]
    x, y, masks, _ = _problem(B=4)
    args = {"mask": masks[0], "seed": 1, **HYPER, **change}
    with pytest.raises(ValueError, match=name):
        train_one(spec, x, y, **args)
    with pytest.raises(ValueError, match="mask"):
        train_one(spec, x, y, np.zeros(64, dtype=bool), 1, **HYPER)


def test_bad_spec_raises():
    with pytest.raises(ValueError, match="classes"):
        SoftmaxRegression(in_dim=4, classes=1)
    with pytest.raises(ValueError, match="hidden"):
        MLP(in_dim=4, hidden=(), classes=3)
    with pytest.raises(ValueError, match="height"):
        SmallCNN(in_channels=1, height=3, width=8, classes=3)
    x, y, masks, seeds = _problem(B=2)
    with pytest.raises(ValueError, match="method 'dense'"):
        train_batched(SPECS["cnn"], x, y, masks, seeds, method="dense", **HYPER)


def test_benchmark_runs_at_toy_size():
    from simulations.training.bench import training_benchmark

    lines = []
    res = training_benchmark(
        B=3, epochs=1, data="synthetic", n=60, hidden=(8,), batch_size=16, reference_models=2,
        vmap_models=2, out=lines.append,
    )  # fmt: skip
    assert len(lines) == 5 and res["B"] == 3
    assert res["dense_models_per_second"] > 0 and res["reference_models_per_second"] > 0
    assert res["vmap_models_per_second"] > 0 and res["dense_gflops"] > 0
    assert res["max_param_diff"] < 1e-5  # float32: batched and reference train the same models


def test_mlp_train_flops_by_hand():
    from simulations.training.bench import mlp_train_flops

    # 40-100-100-10: forward 2 (4000 + 10000 + 1000) = 30,000; weight grads as much;
    # hidden-activation grads 2 (10000 + 1000) = 22,000 -> 82,000 per example
    assert mlp_train_flops(MLP(in_dim=40, hidden=(100, 100), classes=10)) == 82_000


def test_conv_logits_chunks_shrink_with_the_number_of_models(monkeypatch):
    # a CNN's evaluation chunk is cut so the first feature maps of all models stay within
    # CONV_EVAL_BYTES; rows are independent, so the logits equal each model's own forward pass
    import simulations.training.engine as engine

    spec = SPECS["cnn"]
    params = init_stacked(spec, [1, 2, 3])
    x, _, _, _ = _problem(n=50)
    seen, vmap = [], torch.func.vmap

    def recording_vmap(fn, **kw):
        batched = vmap(fn, **kw)
        return lambda p, xb: seen.append(xb.shape[0]) or batched(p, xb)

    monkeypatch.setattr(torch.func, "vmap", recording_vmap)
    # a row of 3 models: 3 channels x 6 x 6 float32 each, 1,296 bytes; 7 rows fit in 9,800
    monkeypatch.setattr(engine, "CONV_EVAL_BYTES", 9_800)
    got = engine.logits_batched(spec, params, x)
    assert seen == [7] * 7 + [1]  # 50 rows
    monkeypatch.undo()
    xt = torch.as_tensor(x).float()
    want = torch.stack([spec.apply({k: v[b] for k, v in params.items()}, xt) for b in range(3)])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_exact_kernels_sets_and_restores_cudnn_flags():
    from simulations.training import exact_kernels

    c = torch.backends.cudnn
    before = (c.deterministic, c.benchmark, c.conv.fp32_precision)
    with exact_kernels():
        assert (c.deterministic, c.benchmark, c.conv.fp32_precision) == (True, False, "ieee")
    assert (c.deterministic, c.benchmark, c.conv.fp32_precision) == before


def test_require_device_names_the_parameter():
    from simulations.training import require_device

    assert require_device("cpu") == "cpu"
    with pytest.raises(ValueError, match=r"^--device must be 'cpu' or 'cuda'; got 'tpu'$"):
        require_device("tpu", name="--device")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"^device: 'cuda' was asked for but torch sees no CUDA device"):
            require_device("cuda")


def test_resnet_layout_identity_blocks_and_errors():
    # ResNet-18 on CIFAR-10 (3x3 stem, no batch norm): 11,169,162 parameters, counted by hand:
    # stem 1,792; stages 147,712 + 524,928 + 2,098,432 + 8,391,168; head 5,130
    r18 = ResNet(in_channels=3, height=32, width=32, classes=10, channels=(64, 128, 256, 512))
    assert sum(int(np.prod(s)) for s in r18.param_shapes().values()) == 11_169_162
    spec = SPECS["resnet"]
    p = spec.init(init_generator(0))
    assert all(
        float(v.abs().max()) == 0.0 for k, v in p.items() if ".b." in k
    )  # Fixup: blocks start as shortcuts
    assert sum(k.endswith(".a.weight") for k in p) == 4  # 2 stages x 2 basic blocks
    for bad, needle in [({"channels": ()}, "1 to 4 stage widths"), ({"channels": (2, 0)}, "channels entry"),
                        ({"height": 1}, "height"), ({"classes": 1}, "classes")]:  # fmt: skip
        with pytest.raises(ValueError, match=needle):
            ResNet(**{"in_channels": 1, "height": 6, "width": 6, "classes": 3, "channels": (2, 3), **bad})


def test_exact_kernels_on_torch_before_2_9_uses_allow_tf32(monkeypatch):
    # torch < 2.9 has no cudnn.conv.fp32_precision: the legacy flag is set instead, and restored
    from simulations.training import exact_kernels

    class Legacy:  # what torch.backends.cudnn offered before 2.9, as far as exact_kernels reads it
        deterministic, benchmark, allow_tf32 = False, True, True

    monkeypatch.setattr(torch.backends, "cudnn", Legacy)
    with exact_kernels():
        assert (Legacy.deterministic, Legacy.benchmark, Legacy.allow_tf32) == (True, False, False)
    assert (Legacy.deterministic, Legacy.benchmark, Legacy.allow_tf32) == (False, True, True)


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_adamw_batch_equals_torch_adamw_per_model(kind):
    # models with subsets of different sizes (so some sit out steps and must keep their state and
    # their own step count) against torch.optim.AdamW on each alone, in float64
    rng = np.random.default_rng(7)
    spec = {"mlp": MLP(in_dim=5, hidden=(8,), classes=3),
            "cnn": SmallCNN(in_channels=1, height=6, width=6, classes=3, channels=(2, 3))}[kind]  # fmt: skip
    x = rng.normal(size=(40, spec.in_dim))
    y = rng.integers(0, 3, 40)
    masks = rng.random((4, 40)) < np.array([[0.3], [0.5], [0.7], [0.9]])
    hyper = {"epochs": 3, "batch_size": 6, "lr": 0.01, "weight_decay": 0.05, "optimizer": "adamw",
             "dtype": torch.float64}  # fmt: skip
    batch = train_batched(spec, x, y, masks, [3, 4, 5, 6], **hyper)
    for b in range(4):
        one = train_one(spec, x, y, masks[b], [3, 4, 5, 6][b], **hyper)
        for name, p in one.items():
            np.testing.assert_allclose(batch[name][b].numpy(), p.numpy(), rtol=0, atol=1e-12)


def test_adamw_refuses_the_dense_path_and_unknown_optimizers():
    spec = MLP(in_dim=3, hidden=(4,), classes=2)
    x, y, m = np.zeros((4, 3)), np.array([0, 1, 0, 1]), np.ones((1, 4), bool)
    with pytest.raises(ValueError, match="method 'dense' trains with SGD only"):
        train_batched(spec, x, y, m, [0], epochs=1, batch_size=2, lr=0.1, optimizer="adamw", method="dense")
    with pytest.raises(ValueError, match="optimizer must be one of sgd, adamw; got 'adam'"):
        train_batched(spec, x, y, m, [0], epochs=1, batch_size=2, lr=0.1, optimizer="adam")
