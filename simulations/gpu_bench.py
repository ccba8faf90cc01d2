r"""``tailmem benchmark gpu --out DIR``: everything the GPU promises need, in one command.

GPU time comes in short windows (start-up included) with little room for files, so this runs,
within :data:`BUDGET_S` (8 minutes on one H100 by design; each step has its own share):

1. ``equality``: the CUDA equality tests (``pytest -m gpu tests/simulations/test_cuda.py``,
   when the tests are beside the code): CPU against CUDA, bit-reproducibility, store resume;
2. ``trainer``: the batched trainer against one model at a time on CUDA, with the achieved
   dense-layer GFLOP/s (:func:`simulations.training.bench.training_benchmark`);
3. ``memorization``: subset models (MLP 784-100-100-10, ratio 0.7) on full MNIST, as many of the
   2,000 as the step's time allows; the rate and the number trained are reported, and the time
   2,000 would take is written as a projection, never as a measurement;
4. ``composition``: a short composition-nets run with the ResNet-18-class encoder.

It needs only MNIST and Fashion-MNIST (about 42 MB; ``--data-dir`` or ``TAILMEM_DATA``) and
writes ``DIR/gpu.json`` (every number, the device, provenance) and ``DIR/gpu.md`` (a table).
On a machine without CUDA it refuses in one line (exit 2). A step that fails is recorded with
its error and the others still run. The same code runs on the CPU at toy sizes in the tests
(``device="cpu"``, :data:`TOY`), which checks its logic, not the GPU.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulations.markdown import table
from simulations.results import atomic_write_json, atomic_write_text, provenance

__all__ = ["BUDGET_S", "FULL", "TOY", "gpu_benchmark"]

BUDGET_S = 480.0
REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass(frozen=True)
class Sizes:
    """What each step does, and its share of the time (seconds)."""

    tests_s: float = 120.0
    trainer_data: str = "synthetic"  # 4,000 Gaussian-cluster signals (MNIST-1D's size; no package)
    trainer_models: int = 1024
    trainer_epochs: int = 2
    mem_dataset: str = "mnist"
    mem_models: int = 2000
    mem_models_per_batch: int = 250
    mem_epochs: int = 40
    mem_s: float = 240.0
    comp: tuple = (("encoder", "resnet"), ("channels", (64, 128, 256, 512)), ("epochs", 4),
                   ("train_items", 4000), ("seeds", 2))  # fmt: skip
    run_tests: bool = True


FULL = Sizes()
# the CPU check of the logic: every step at toy size (digits needs no data files)
TOY = Sizes(tests_s=60.0, trainer_data="synthetic", trainer_models=16, trainer_epochs=1,
            mem_dataset="digits", mem_models=64, mem_models_per_batch=16, mem_epochs=1, mem_s=5.0,
            comp=(("encoder", "resnet"), ("channels", (2, 2)), ("epochs", 1), ("train_items", 60),
                  ("symbols", 4), ("test_items", 20), ("train_eval", 10), ("seeds", 2), ("hidden", 3),
                  ("head_hidden", 3), ("archs", ("sum",))),
            run_tests=False)  # fmt: skip


class _OutOfTime(Exception):
    pass


def _equality_tests(sizes: Sizes, device: str) -> dict:
    tests = REPO / "tests" / "simulations" / "test_cuda.py"
    if not sizes.run_tests or device != "cuda":
        return {"skipped": "not on CUDA" if device != "cuda" else "not asked for"}
    if not tests.is_file():
        return {"skipped": f"{tests} not found (installed without the tests)"}
    p = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "gpu", str(tests), "-p", "no:cacheprovider"],
        cwd=REPO, capture_output=True, text=True, timeout=sizes.tests_s,
    )  # fmt: skip
    last = (p.stdout.strip().splitlines() or [""])[-1]
    return {"returncode": p.returncode, "summary": last, "passed": p.returncode == 0}


def _trainer(sizes: Sizes, device: str) -> dict:
    from simulations.training.bench import training_benchmark

    lines: list[str] = []
    res = training_benchmark(
        sizes.trainer_models,
        sizes.trainer_epochs,
        data=sizes.trainer_data,
        device=device,
        reference_models=8,
        vmap_models=min(64, sizes.trainer_models),
        repeats=1,
        out=lines.append,
    )
    return {**{k: v for k, v in res.items() if isinstance(v, int | float | str | bool)}, "printed": lines}


def _memorization(sizes: Sizes, device: str, data_dir: str) -> dict:
    from simulations.training.problem import SubsetTraining, subset_run

    cfg = SubsetTraining(dataset=sizes.mem_dataset, data_dir=data_dir, models=sizes.mem_models,
                         models_per_batch=sizes.mem_models_per_batch, epochs=sizes.mem_epochs,
                         device=device)  # fmt: skip
    start = time.perf_counter()
    done = []

    def log(msg: str) -> None:
        done.append(msg)
        if time.perf_counter() - start > sizes.mem_s:
            raise _OutOfTime

    with tempfile.TemporaryDirectory(prefix="tailmem-gpu-") as tmp:
        try:
            sr = subset_run(cfg, tmp, log=log)
            trained, complete = sr.trained_now, True
        except _OutOfTime:
            stores = list(Path(tmp).glob(".stores/*/batch-*.npz"))
            trained = sum(int(p.stem.split("-")[2]) - int(p.stem.split("-")[1]) for p in stores)
            complete = False
    seconds = time.perf_counter() - start
    rate = trained / seconds if seconds > 0 else 0.0
    return {
        "dataset": cfg.dataset, "model": "mlp", "hidden": list(cfg.hidden), "epochs": cfg.epochs,
        "ratio": cfg.ratio, "models_asked": cfg.models, "models_trained": trained, "complete": complete,
        "seconds": seconds, "models_per_second": rate,
        "projected_s_for_all": (cfg.models / rate) if rate > 0 and not complete else None,
        "note": "projected_s_for_all is a projection from the measured rate, not a measurement",
    }  # fmt: skip


def _composition(sizes: Sizes, device: str, data_dir: str) -> dict:
    from simulations.experiment import Context
    from simulations.experiments import get, make_config

    exp = get("composition-nets")
    cfg = make_config(
        exp, quick=True, data_dir=data_dir or None, overrides={**dict(sizes.comp), "device": device}
    )
    reason = exp.unavailable(cfg)
    if reason:
        return {"skipped": reason}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tailmem-gpu-") as tmp:
        results, _ = exp.run(cfg, Context.for_config(cfg, workdir=tmp, progress=False))
    table = results.get("table", {})
    return {"seconds": time.perf_counter() - start, "config": dict(sizes.comp), "table": table}


def _step(name: str, fn, record: dict, log) -> None:
    log(f"[gpu] {name} ...")
    start = time.perf_counter()
    try:
        record[name] = fn()
    except Exception as exc:  # noqa: BLE001 - one failed step must not lose the others' numbers
        record[name] = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"}
    record[name]["wall_s"] = time.perf_counter() - start
    log(f"[gpu] {name} done in {record[name]['wall_s']:.1f} s")


def _markdown(doc: dict) -> str:
    prov = doc["provenance"]
    lines = [
        f"# tailmem benchmark gpu\n\nDevice: {doc['device_name']}; tailmem {prov['tailmem_version']} "
        f"at git {prov['git_revision']}; total {doc['total_s']:.0f} s.\n",
    ]
    rows, s = [], doc["steps"]
    for name in ("equality", "trainer", "memorization", "composition"):
        r = s.get(name, {})
        if "error" in r or "skipped" in r:
            what = r.get("error") or f"skipped: {r['skipped']}"
        elif name == "equality":
            what = r["summary"]
        elif name == "trainer":
            what = (f"batched {r.get('speed_ratio', float('nan')):.1f}x one-at-a-time; "
                    f"{r.get('dense_gflops', float('nan')) / 1000:.2f} TFLOP/s (dense layers)")  # fmt: skip
        elif name == "memorization":
            what = (f"{r['models_trained']} of {r['models_asked']} MLPs on {r['dataset']} "
                    f"in {r['seconds']:.0f} s ({r['models_per_second']:.2f} models/s)")  # fmt: skip
            if r["projected_s_for_all"]:
                what += (
                    f"; all {r['models_asked']} projected (not measured): {r['projected_s_for_all']:.0f} s"
                )
        else:
            what = f"ResNet composition-nets run in {r['seconds']:.0f} s"
        rows.append([name, what, f"{r.get('wall_s', 0):.0f}"])
    return "\n".join(lines + table(["step", "result", "wall (s)"], rows)) + "\n"


def gpu_benchmark(out: str | Path, *, data_dir: str = "", device: str = "cuda", sizes: Sizes = FULL,
                  log=print) -> dict:  # fmt: skip
    """Run the four steps on ``device`` and write ``out/gpu.json`` and ``out/gpu.md``."""
    import torch

    from simulations.training.engine import require_device

    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("benchmark gpu: torch sees no CUDA device here; run it on a machine with one")
    require_device(device, name="device")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {out} is a file, not a folder; choose another --out")
    start = time.perf_counter()
    record: dict = {}
    _step("equality", lambda: _equality_tests(sizes, device), record, log)
    _step("trainer", lambda: _trainer(sizes, device), record, log)
    _step("memorization", lambda: _memorization(sizes, device, data_dir), record, log)
    _step("composition", lambda: _composition(sizes, device, data_dir), record, log)
    name = torch.cuda.get_device_name(0) if device == "cuda" else f"CPU ({device}, a logic check only)"
    doc = {"device": device, "device_name": name, "budget_s": BUDGET_S, "sizes": dataclasses.asdict(sizes),
           "steps": record, "total_s": time.perf_counter() - start, "provenance": provenance()}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / "gpu.json", json.loads(json.dumps(doc, default=str)))
    atomic_write_text(out / "gpu.md", _markdown(doc))
    log(f"[gpu] wrote {out / 'gpu.json'} and {out / 'gpu.md'} in {doc['total_s']:.0f} s")
    return doc
