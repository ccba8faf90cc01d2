"""The ``tailmem`` command run in the test process: ``main(args)`` with its exit status and output.

A subprocess costs each test a fresh interpreter and its imports (about 4 s on 2 busy cores);
the exit status and the one-line error are the same in-process (``main`` returns the status,
argparse's exits raise SystemExit with it). The executable itself is still run as a process by
tests/simulations/test_cli.py (the reproduce test and one bad-input case)."""

from __future__ import annotations

from dataclasses import dataclass

from simulations.cli import main


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


def run_main(capsys, *args: str) -> Finished:
    """``tailmem ARGS`` in this process (``capsys``: pytest's fixture, emptied first)."""
    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse: --version, --help and its own errors
        code = exc.code
    out = capsys.readouterr()
    return Finished(code, out.out, out.err)
