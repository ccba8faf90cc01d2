"""What results.json records about the machine (simulations/results.py: provenance)."""

import json
from pathlib import Path

import torch

from simulations.results import cpu_provenance, provenance

NAMED = {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "fma"}


def test_provenance_names_the_cpu_and_the_kernels_torch_chose():
    cpu = provenance()["cpu"]
    assert json.loads(json.dumps(cpu)) == cpu  # JSON-ready as it is
    assert cpu["torch_capability"] == torch.backends.cpu.get_cpu_capability()  # torch is imported here
    info = Path("/proc/cpuinfo")
    if not info.is_file():  # not Linux: nothing to read
        assert cpu_provenance()["vector"] is None and cpu_provenance()["model"] == "unknown"
        return
    # read back from the file the function reads
    lines = info.read_text().splitlines()
    flags = next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), [])
    assert cpu["vector"] == sorted(NAMED & set(flags))
    models = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    assert cpu["model"] in models if models else cpu["model"] == "unknown"


def test_without_cpuinfo_the_cpu_is_unknown(monkeypatch):
    real = Path.read_text

    def no_cpuinfo(self, *args, **kwargs):
        if str(self) == "/proc/cpuinfo":
            raise FileNotFoundError(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", no_cpuinfo)
    assert cpu_provenance()["model"] == "unknown" and cpu_provenance()["vector"] is None
