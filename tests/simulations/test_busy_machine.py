"""The thread policy, the contention benchmark and the prepared GPU command (issue: busy machines).

Nothing here times anything (timings on a shared machine are not test material): the tests
check the policy's rules, that the override is validated and recorded, that the contention
benchmark starts and stops its busy processes and computes the fair share as documented, and
that ``tailmem benchmark gpu`` refuses without CUDA and runs its four steps at toy size on the
CPU (its logic, not the GPU).
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from simulations import threads
from simulations.cli import main
from simulations.contention import busy_processes, contention_benchmark
from simulations.gpu_bench import TOY, gpu_benchmark

DATA = __import__("pathlib").Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.mark.parametrize("value", ["0", "-1", "1025", "abc", "2.5"])
def test_bad_threads_flag_is_one_line_exit_2(value, capsys):
    assert main(["bound", "--prior", "uniform", "--N", "100", "--n", "100", "--threads", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--threads must be an integer in [1, 1024] or 'auto'" in err


@pytest.mark.parametrize("value", ["x", "2.5", "0", "99999"])
def test_bad_threads_environment_value_names_the_variable(value, capsys, monkeypatch):
    monkeypatch.setenv("TAILMEM_THREADS", value)
    assert main(["bound", "--prior", "uniform", "--N", "100", "--n", "100"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TAILMEM_THREADS (environment variable) must be an integer" in err


def test_the_flag_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("TAILMEM_THREADS", "3")
    assert threads.requested_threads("1") == (1, "--threads")
    assert threads.requested_threads(None) == (3, "TAILMEM_THREADS")
    assert threads.requested_threads("auto") == (None, "--threads")
    monkeypatch.delenv("TAILMEM_THREADS")
    assert threads.requested_threads(None) == (threads.DEFAULT_THREADS, "default") == (1, "default")


def test_auto_gives_the_idle_cores_and_at_least_one(monkeypatch):
    monkeypatch.setattr(threads, "available_cores", lambda: 8)
    for busy, expect in [(0.0, 8), (3.0, 5), (7.0, 1), (30.0, 1), (None, 8)]:
        monkeypatch.setattr(threads, "busy_cores", lambda b=busy: b)
        assert threads.auto_threads() == expect


def test_busy_cores_sees_spinning_processes():
    # procs_running counts runnable threads: 3 spinning processes are seen (other jobs may add more)
    if threads.busy_cores() is None:
        pytest.skip("no /proc/stat on this system")
    with busy_processes(3):
        assert threads.busy_cores() >= 3
        assert threads.auto_threads() == 1 or threads.available_cores() > 4


def test_use_threads_sets_and_restores_torch_and_blas():
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    with threads.use_threads(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    assert torch.get_num_threads() == before


def test_the_override_is_recorded_in_results(tmp_path, monkeypatch):
    monkeypatch.setenv("TAILMEM_THREADS", "1")
    out = tmp_path / "r"
    assert main(["run", "feldman-examples", "--quick", "--out", str(out), "--set", "sweep_N=500"]) == 0
    prov = json.loads((out / "feldman-examples" / "results.json").read_text())["provenance"]
    assert prov["threads"] == {
        "threads": 1,
        "source": "TAILMEM_THREADS",
        "cores": threads.available_cores(),
        "group_workers": threads.available_cores(),
    }
    threads.set_request(threads.DEFAULT_THREADS, "default")


def test_contention_benchmark_stops_its_processes_and_reports_the_fair_share(monkeypatch):
    started = []
    real = busy_processes

    def watched(k):
        cm = real(k)

        class Wrap:
            def __enter__(self):
                procs = cm.__enter__()
                started.extend(procs)
                return procs

            def __exit__(self, *exc):
                return cm.__exit__(*exc)

        return Wrap()

    monkeypatch.setattr("simulations.contention.busy_processes", watched)
    lines = []
    res = contention_benchmark(2, paths={"sum": lambda: sum(range(10_000))}, out=lines.append)
    cores = threads.available_cores()
    assert res["fair_share"] == pytest.approx((2 + cores) / cores) and res["goal"] == pytest.approx(
        1.5 * res["fair_share"]
    )
    assert set(res["paths"]) == {"sum"} and res["paths"]["sum"]["slowdown"] > 0
    assert len(started) == 2 and all(p.poll() is not None for p in started)  # killed and reaped
    assert "fair-share slowdown (k + cores) / cores" in lines[0]


def test_contention_busy_count_is_validated(capsys):
    assert main(["benchmark", "contention", "--busy", "0"]) == 2
    assert "--busy must be" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_gpu_command_refuses_without_cuda_in_one_line(tmp_path, capsys):
    assert main(["benchmark", "gpu", "--out", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err
    assert (
        err == "tailmem: error: benchmark gpu: torch sees no CUDA device here; run it on a machine with one\n"
    )
    assert not (tmp_path / "g").exists()


def test_gpu_command_logic_at_toy_size_on_the_cpu(tmp_path):
    # every step runs and is recorded; a memorization step out of time reports what it trained,
    # its rate and a projection labelled as one
    sizes = dataclasses.replace(TOY, mem_s=0.0)
    doc = gpu_benchmark(tmp_path / "g", device="cpu", sizes=sizes, data_dir=str(DATA), log=lambda _m: None)
    steps = doc["steps"]
    assert steps["equality"]["skipped"] == "not on CUDA"
    assert steps["trainer"]["speed_ratio"] > 0 and steps["trainer"]["max_param_diff"] < 1e-4
    mem = steps["memorization"]
    assert not mem["complete"] and mem["models_trained"] == sizes.mem_models_per_batch
    assert mem["projected_s_for_all"] > 0 and "projection" in mem["note"]
    comp = steps["composition"]
    if (DATA / "mnist").is_dir():
        assert "error" not in comp and set(comp["table"]) == {"sum"}
    else:
        assert "skipped" in comp
    saved = json.loads((tmp_path / "g" / "gpu.json").read_text())
    assert saved["device"] == "cpu" and "a logic check only" in saved["device_name"]
    table = (tmp_path / "g" / "gpu.md").read_text()
    assert "projected (not measured)" in table and table.count("\n| ") == 6  # header, rule, four steps


def test_on_threads_does_every_piece_whatever_the_workers_and_raises_the_first_error():
    from simulations.threads import on_threads

    for workers in (0, 1, 3):
        out = [0] * 10
        on_threads(lambda i, out=out: out.__setitem__(i, i * i), range(10), workers)
        assert out == [i * i for i in range(10)]

    def fail_at_4(i):
        if i == 4:
            raise ValueError("piece 4 failed")

    with pytest.raises(ValueError, match="piece 4 failed"):
        on_threads(fail_at_4, range(10), 2)
