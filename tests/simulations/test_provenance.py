"""What results.json records about the machine (simulations/results.py: provenance)."""

import json
from pathlib import Path

import torch

from simulations.results import cpu_provenance, provenance


def test_provenance_names_the_cpu_and_the_kernels_torch_chose():
    cpu = provenance()["cpu"]
    assert json.loads(json.dumps(cpu)) == cpu  # JSON-ready as it is
    assert cpu["torch_capability"] == torch.backends.cpu.get_cpu_capability()  # torch is imported here
    assert cpu["vector"] == sorted(cpu["vector"])
    assert set(cpu["vector"]) <= {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "fma"}
    info = Path("/proc/cpuinfo")
    if info.is_file():  # read back from the file the function reads (Linux)
        text = info.read_text()
        flags = next(line for line in text.splitlines() if line.startswith("flags")).split(":", 1)[1].split()
        assert ("avx2" in cpu["vector"]) == ("avx2" in flags)
        assert ("avx512f" in cpu["vector"]) == ("avx512f" in flags)
        assert cpu["model"] in text
    else:
        assert cpu_provenance()["model"] == "unknown"
