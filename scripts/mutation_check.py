# ruff: noqa: E501  (the mutation table quotes source lines whole)
"""Mutation check of the theory core: plant a wrong constant or an off-by-one, show a test fails.

For each mutation below, the repository's ``theory/`` and ``tests/theory/`` (and what they need)
are copied to a temporary folder, one line of the copy is changed, and the theory tests run
there against the copy (``python -m pytest tests/theory -x``, the copy first on ``sys.path``). A
mutation is *killed* when a test fails; the script prints a table and exits 1 if any mutation
survives. Run it from the repository root::

    python3 scripts/mutation_check.py            # all mutations, about 1-2 minutes each on 2 cores
    python3 scripts/mutation_check.py --list     # the mutations only

The results are summarised in docs/theory.md ("Tests that catch a wrong constant").
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPY = ("theory", "tests/theory", "tests/conftest.py", "pyproject.toml")

# (file, exact text in the file, its replacement, what the mutation plants)
MUTATIONS = (
    ("theory/quantities.py", "tail_weight(prior, 1.0 / (3 * n), 2.0 / n) / (5.0 * n)",
     "tail_weight(prior, 1.0 / (3 * n), 2.0 / n) / (4.0 * n)", "tail-weight bound: 1/(4n) for 1/(5n)"),
    ("theory/quantities.py", "tail_weight(prior, 1.0 / (3 * n), 2.0 / n) / (5.0 * n)",
     "tail_weight(prior, 1.0 / (3 * n), 2.0 / n) / (3.0 * n)", "tail-weight bound: 1/(3n) for 1/(5n)"),
    ("theory/quantities.py", "t = moment_ratios(prior, [(l, n - l) for l in ells], variant=variant)",
     "t = moment_ratios(prior, [(l, n - l + 1) for l in ells], variant=variant)",
     "tau_l: (1 - a)^(n - l + 1), off by one"),
    ("theory/quantities.py", "lm = log_moments(prior, [(1, n - 1)], variant=variant)[0]",
     "lm = log_moments(prior, [(1, n)], variant=variant)[0]", "singleton fraction: (1 - a)^n, off by one"),
    ("theory/quantities.py", "lm = log_moments(prior, [(ell + 1, n - ell)], variant=variant)[0]",
     "lm = log_moments(prior, [(ell + 1, n - ell - 1)], variant=variant)[0]",
     "expected seen mass: (1 - a)^(n - l - 1), off by one"),
    ("theory/quantities.py", "        return float(np.sum(np.log1p((n - k) / i)))",
     "        return float(np.sum(np.log1p((n - k + 1) / i)))", "log binomial coefficient: off by one"),
    ("theory/bounds.py", "        val = (1.0 - 1.0 / m) * _clip_prob(np.exp(_log_masses(prior, n, [0], variant)[0]))",
     "        val = (1.0 - 1.0 / (m + 1)) * _clip_prob(np.exp(_log_masses(prior, n, [0], variant)[0]))",
     "opt: 1 - 1/(m + 1) for 1 - 1/m"),
    ("theory/bounds.py", "    return _clip_prob(mass @ (acc[1:] - 1.0 / m))",
     "    return _clip_prob(mass @ (acc[1:] - 1.0 / (m + 1)))", "cost of not fitting: acc - 1/(m + 1)"),
    ("theory/bounds.py", "        return max(0.0, 1.0 - 1.0 / m - gamma)",
     "        return max(0.0, 1.0 - 1.0 / m - 0.5 * gamma)", "memorization limit: gamma / 2"),
    ("theory/bounds.py", "    return math.expm1(epsilon) + delta",
     "    return math.exp(epsilon) + delta", "DP -> memorization limit: e^eps + delta (missing -1)"),
)  # fmt: skip


def _copy(dest: Path) -> None:
    for rel in COPY:
        src = REPO / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def run_one(file: str, old: str, new: str, timeout: float) -> tuple[bool, str, float]:
    """(killed, the first failing test or why not, seconds) for one mutation."""
    with tempfile.TemporaryDirectory(prefix="tailmem-mutant-") as tmp:
        tmp = Path(tmp)
        _copy(tmp)
        path = tmp / file
        text = path.read_text()
        if text.count(old) != 1:
            raise SystemExit(f"mutation target not found exactly once in {file}: {old!r}")
        path.write_text(text.replace(old, new))
        env = {**os.environ, "PYTHONPATH": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
        cmd = [sys.executable, "-m", "pytest", "tests/theory", "-x", "-q", "-p", "no:cacheprovider",
               "-m", "not slow", "--no-header"]  # fmt: skip
        where = subprocess.run([sys.executable, "-c", "import theory; print(theory.__file__)"], cwd=tmp, env=env,
                               capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
        if not where.startswith(str(tmp)):
            raise SystemExit(f"the mutant copy is not what Python imports (theory from {where})")
        t0 = time.perf_counter()
        p = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout)
        seconds = time.perf_counter() - t0
        if p.returncode == 0:
            return False, "every theory test passed", seconds
        failed = re.findall(r"^FAILED (\S+)", p.stdout, re.M)
        if p.returncode != 1 or not failed:
            return False, f"pytest exited {p.returncode} without a failing test: {p.stdout[-300:]}", seconds
        return True, failed[0], seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per mutation (a hang guard)")
    args = ap.parse_args(argv)
    if args.list:
        for i, (file, _, _, what) in enumerate(MUTATIONS, 1):
            print(f"{i:2d}. {file}: {what}")
        return 0
    rows = []
    for i, (file, old, new, what) in enumerate(MUTATIONS, 1):
        killed, by, seconds = run_one(file, old, new, args.timeout)
        rows.append((what, killed, by, seconds))
        print(
            f"{i:2d}. {what:<52} {'killed' if killed else 'SURVIVED':<8} {seconds:6.1f} s  {by}", flush=True
        )
    survived = [r[0] for r in rows if not r[1]]
    print(
        f"{len(rows) - len(survived)} of {len(rows)} mutations killed"
        + (f"; survived: {survived}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
