"""Run registered experiments into result folders, and ``reproduce`` them all with a report."""

from __future__ import annotations

import dataclasses
import inspect
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from simulations.checkpoint import Checkpoint
from simulations.experiments import Experiment, get, make_config, names
from simulations.results import (
    atomic_write_json,
    atomic_write_text,
    config_differences,
    make_build_dir,
    provenance,
    replace_dir,
    to_jsonable,
)

__all__ = ["run_experiment", "reproduce", "check_out_folder"]


def _defaults(cfg) -> dict:
    """The JSON form of each field's default, for results written before a field existed."""
    out = {}
    for f in dataclasses.fields(cfg):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return json.loads(json.dumps(to_jsonable(out)))


def check_out_folder(out: Path, cfg) -> None:
    """Refuse (ValueError) to replace ``out`` unless it is absent or holds results of ``cfg`` itself.

    Re-running a command rewrites its folder; a folder of another configuration (or one that is
    not a results folder at all) is left untouched, and the error names the differing fields.
    Fields that only say where things are or run (``data_dir``, ``store``, ``cache``,
    ``threads``, ``backend``, ``ray_*``) may differ; a field missing from an older results file
    counts as its default.
    """
    out = Path(out)
    for folder in reversed(out.parents):
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"--out: {folder} is a file, not a folder; choose another --out")
    if not out.exists():
        return
    doc = out / "results.json"
    if not out.is_dir() or not doc.is_file():
        raise ValueError(f"--out: {out} exists and is not a tailmem results folder; choose another --out")
    try:
        old = json.loads(doc.read_text(encoding="utf-8"))["config"]
        if not isinstance(old, dict):
            raise TypeError("config is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"--out: {doc} is not a readable tailmem results file ({exc}); move it") from None
    new = json.loads(json.dumps(to_jsonable(cfg)))
    old = {**_defaults(cfg), **old}
    diff = config_differences(old, new)
    if diff:
        shown = ", ".join(f"{k} {old.get(k, 'absent')!r} -> {new.get(k, 'absent')!r}" for k in diff[:3])
        more = f" and {len(diff) - 3} more" if len(diff) > 3 else ""
        raise ValueError(
            f"--out: {out} holds results of another configuration ({shown}{more}); "
            "choose another --out or delete that folder"
        )


def run_experiment(
    exp: Experiment, cfg, out: Path, *, command: str, quick: bool = False
) -> tuple[dict, list[str]]:
    """Run ``exp`` at ``cfg`` and write its folder ``out`` atomically.

    An ``out`` that holds results of another configuration, or is not a results folder, is
    refused before anything runs (:func:`check_out_folder`).

    The folder gets ``results.json`` (config, results, provenance, wall time, the command),
    ``arrays.npz`` and the figures. Returns (results.json content, figure names). An experiment
    whose ``run`` takes ``checkpoint`` saves finished pieces in ``OUT/.NAME.partial/`` and a
    re-run after a kill resumes from them (:mod:`simulations.checkpoint`). An experiment whose
    ``run`` takes ``workdir`` gets ``out``'s parent, where it keeps model stores that outlive the
    run (:mod:`simulations.experiments.subsets`): they are never deleted on error.
    """
    out = Path(out)
    check_out_folder(out, cfg)
    missing = [p for p in (out.parent, *out.parent.parents) if not p.exists()]  # deepest first
    try:
        return _run_into(exp, cfg, out, command=command, quick=quick)
    except BaseException:
        for folder in missing:  # a failed run leaves no empty folders it made
            try:
                folder.rmdir()
            except OSError:  # not empty (a kept checkpoint or model store), or gone
                break
        raise


def _run_into(exp: Experiment, cfg, out: Path, *, command: str, quick: bool) -> tuple[dict, list[str]]:
    start = time.perf_counter()
    params = inspect.signature(exp.run).parameters
    kwargs = {"workdir": out.parent} if "workdir" in params else {}
    if "checkpoint" in params:
        ck = Checkpoint(out.parent / f".{out.name}.partial", exp.name, cfg)
        try:
            results, arrays = exp.run(cfg, checkpoint=ck, **kwargs)
        except Exception:
            ck.remove()  # an error, not a kill: nothing worth resuming
            raise
    else:
        ck = None
        results, arrays = exp.run(cfg, **kwargs)
    wall = time.perf_counter() - start
    build = make_build_dir(out.parent, out.name)
    try:
        np.savez(build / "arrays.npz", **{k: np.asarray(v) for k, v in arrays.items()})
        figures = exp.plot(results, arrays, build)
        doc = {
            "experiment": exp.name,
            "title": exp.title,
            "command": command,
            "quick": quick,
            "config": to_jsonable(cfg),
            "seed": getattr(cfg, "seed", None),
            "results": to_jsonable(results),
            "figures": figures,
            "wall_time_s": wall,
            "provenance": provenance(),
        }
        atomic_write_json(build / "results.json", doc)
        replace_dir(build, out)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    if ck is not None:
        ck.remove()
    return doc, figures


def reproduce(
    out: Path, *, quick: bool, data_dir: str | None = None, placement: list[str] | None = None, log=sys.stderr
) -> Path:
    """Run every registered experiment into ``out/<name>/`` and write ``out/report.md``.

    ``placement`` (``backend=...``, ``ray_address=...``) goes to the experiments whose config has
    a ``backend`` field (those that train many models), and to no other.
    """
    out = Path(out)
    sections = []
    flag = " --quick" if quick else ""
    extra = f" --data-dir {data_dir}" if data_dir else ""
    flags = "".join(" --" + p.replace("_", "-", 1).replace("=", " ", 1) for p in placement or [])
    plan = []
    for name in names():  # every folder checked before anything runs: a refusal loses nothing
        exp = get(name)
        trains = "backend" in {f.name for f in dataclasses.fields(exp.config)}
        cfg = make_config(exp, quick=quick, data_dir=data_dir, overrides=placement if trains else None)
        check_out_folder(out / name, cfg)
        plan.append((name, exp, trains, cfg))
    for name, exp, trains, cfg in plan:
        reason = exp.unavailable(cfg) if exp.unavailable is not None else None
        if reason:
            print(f"[reproduce] {name} skipped: {reason}", file=log, flush=True)
            sections.append(f"## {exp.title}\n\nExperiment `{name}` was skipped: {reason}\n")
            continue
        print(f"[reproduce] {name} ...", file=log, flush=True)
        doc, figures = run_experiment(
            exp,
            cfg,
            out / name,
            command=f"tailmem run {name}{flag} --out {out}{extra}{flags if trains else ''}",
            quick=quick,
        )
        print(f"[reproduce] {name} done in {doc['wall_time_s']:.1f} s", file=log, flush=True)
        body = exp.report(doc["results"], [f"{name}/{f}" for f in figures])
        sections.append(
            f"## {exp.title}\n\nExperiment `{name}`; command `{doc['command']}`; "
            f"wall time {doc['wall_time_s']:.1f} s; results in `{name}/results.json`.\n\n{body}\n"
        )
    prov = provenance()
    head = (
        f"# tailmem report\n\nMade by `tailmem reproduce{flag} --out {out}` with tailmem "
        f"{prov['tailmem_version']} at git revision {prov['git_revision']} on {prov['machine']}.\n\n"
    )
    atomic_write_text(out / "report.md", head + "\n".join(sections))
    return out / "report.md"
