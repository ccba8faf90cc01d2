"""The CUDA paths: the same trainers on a GPU give the CPU's models, and stay bit-reproducible.

Every test here is marked ``gpu`` (left out of the default run; ``pytest -m gpu`` runs them) and
skips without a CUDA device. Expected values are the CPU runs of the same code (float64: only
summation order differs, the CPU tests observe ~1e-16), so the bodies follow the CPU tests of
tests/simulations/test_training.py, test_backends.py and test_composition_nets.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from subset_helpers import killed_and_resumed

# the CPU tests' problems (pytest puts this folder on sys.path): the same specs, data and hyper
from test_training import HYPER, METHODS, SPECS, _problem
from test_training import _assert_params_close as _close

from simulations.composition.nets import ARCHS, SumNet
from simulations.composition.train_nets import predict_sum_nets, train_sum_nets
from simulations.training import correctness_batched, train_batched, train_one
from simulations.training.problem import SubsetTraining, subset_run

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device; torch sees none"),
    # autograd's device thread may warn once that it has no CUDA context yet (torch >= 2.3)
    pytest.mark.filterwarnings("ignore:Attempting to run cuBLAS, but there was no current CUDA context"),
]


@pytest.mark.parametrize(("kind", "method"), METHODS)
@pytest.mark.parametrize("group_size", [None, 3])
def test_cuda_equals_cpu_float64_every_method_and_group(kind, method, group_size):
    x, y, masks, seeds = _problem()
    kw = {"dtype": torch.float64, "method": method, "group_size": group_size, **HYPER}
    cpu = train_batched(SPECS[kind], x, y, masks, seeds, device="cpu", **kw)
    gpu = train_batched(SPECS[kind], x, y, masks, seeds, device="cuda", **kw)
    assert all(v.device.type == "cuda" for v in gpu.values())
    _close(cpu, gpu)
    ref = train_one(SPECS[kind], x, y, masks[2], int(seeds[2]), dtype=torch.float64, device="cuda", **HYPER)
    _close({k: v[2] for k, v in gpu.items()}, ref)
    ok_cpu = correctness_batched(SPECS[kind], cpu, x, y)
    ok_gpu = correctness_batched(SPECS[kind], gpu, x, y)
    assert torch.equal(ok_cpu, ok_gpu.cpu())


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_cuda_float32_is_ieee_not_tf32(kind):
    # TF32 convolutions (cuDNN's default on Ampere and later) would differ by ~1e-3 relative;
    # IEEE float32 differs from the CPU by round-off amplified over 2 epochs (~1e-6)
    x, y, masks, seeds = _problem()
    cpu = train_batched(SPECS[kind], x, y, masks, seeds, device="cpu", **HYPER)
    gpu = train_batched(SPECS[kind], x, y, masks, seeds, device="cuda", **HYPER)
    _close(cpu, gpu, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_cuda_training_is_bit_reproducible(kind):
    # what resume-after-kill and Ray retries rely on: the same batch twice gives the same bits
    x, y, masks, seeds = _problem()
    a = train_batched(SPECS[kind], x, y, masks, seeds, device="cuda", **HYPER)
    b = train_batched(SPECS[kind], x, y, masks, seeds, device="cuda", **HYPER)
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("model", ["mlp", "cnn"])
def test_cuda_store_resumes_bit_for_bit(tmp_path, model):
    # as test_subset_experiments.test_resume_after_kill_is_identical, on the GPU
    cfg = SubsetTraining(
        dataset="digits", model=model, hidden=(16,), channels=(4, 8), models=48, epochs=2,
        batch_size=64, lr=0.1, models_per_batch=16, device="cuda",
    )  # fmt: skip
    whole = subset_run(cfg, tmp_path / "a", log=lambda _m: None)
    resumed = killed_and_resumed(cfg, tmp_path / "b")
    assert resumed.trained_now == 32
    np.testing.assert_array_equal(resumed.correct_train, whole.correct_train)
    np.testing.assert_array_equal(resumed.correct_test, whole.correct_test)
    # CPU and CUDA train the same models (float32 round-off apart): predictions agree almost everywhere
    cpu = subset_run(dataclasses.replace(cfg, device="cpu"), tmp_path / "c", log=lambda _m: None)
    assert np.mean(cpu.correct_train == whole.correct_train) > 0.99


@pytest.mark.parametrize(("arch", "encoder"), [(a, "cnn") for a in ARCHS] + [("sum", "resnet")])
def test_cuda_sum_nets_equal_cpu_float64(arch, encoder):
    spec = SumNet(arch, channels=(2, 3), hidden=4, head_hidden=5, encoder=encoder)
    rng = np.random.default_rng(0)
    pool = rng.standard_normal((12, 28, 28)).astype(np.float32)
    values, items = rng.integers(0, 10, 12), rng.integers(0, 12, (30, 3))
    kw = {"epochs": 2, "batch_size": 7, "lr": 1e-2, "dtype": torch.float64}
    cpu = train_sum_nets(spec, pool, values, items, [5, 9], [0.0, 0.5], device="cpu", **kw)
    gpu = train_sum_nets(spec, pool, values, items, [5, 9], [0.0, 0.5], device="cuda", **kw)
    _close(cpu, gpu, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(
        predict_sum_nets(spec, gpu, pool, items, device="cuda"),
        predict_sum_nets(spec, cpu, pool, items, device="cpu"), rtol=1e-9, atol=1e-11,
    )  # fmt: skip


def test_convolutions_inside_exact_kernels_are_ieee_float32():
    # at CIFAR-like sizes cuDNN would use TF32 tensor cores (Ampere and later) for float32
    # convolutions: ~1e-3 relative error against float64; IEEE float32 stays near 1e-6
    from simulations.training import exact_kernels

    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(64, 64, 32, 32, generator=g), torch.randn(64, 64, 3, 3, generator=g)
    want = torch.nn.functional.conv2d(x.double(), w.double(), padding=1)
    with exact_kernels():
        got = torch.nn.functional.conv2d(x.cuda(), w.cuda(), padding=1).cpu().double()
    assert float((got - want).abs().max() / want.abs().max()) < 1e-5
