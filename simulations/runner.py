"""Run experiments into result folders, draw their figures from the saved files, and report.

``run_experiment`` runs one experiment (:mod:`simulations.experiment`) into ``OUT/NAME/``;
``reproduce`` runs them all and writes ``OUT/reproduce.json`` and ``OUT/report.md``; ``redraw``
rebuilds the figures (and a reproduce folder's report) from ``results.json`` and ``arrays.npz``
alone. Figures are always drawn by :func:`draw`, from the files, whether just written or old.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from simulations.config import config_from_json, make_config
from simulations.experiment import Context, Experiment, checkpoint_ident, get, names
from simulations.markdown import cells, row
from simulations.results import (
    atomic_savez,
    atomic_write_json,
    atomic_write_text,
    config_differences,
    make_build_dir,
    provenance,
    read_npz,
    replace_dir,
    saved_form,
    to_jsonable,
)

__all__ = ["run_experiment", "reproduce", "redraw", "draw", "report_section", "check_out_folder"]


def _defaults(cfg) -> dict:
    """The JSON form of each field's default, for results written before a field existed."""
    out = {}
    for f in dataclasses.fields(cfg):
        if f.default is not dataclasses.MISSING:
            out[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return saved_form(out)


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
    exp: Experiment, cfg, out: Path, *, command: str, quick: bool = False, progress: bool = True
) -> tuple[dict, list[str]]:
    """Run ``exp`` at ``cfg`` and write its folder ``out`` atomically.

    An ``out`` that holds results of another configuration, or is not a results folder, is
    refused before anything runs (:func:`check_out_folder`).

    The folder gets ``results.json`` (config, results, provenance, wall time, the command, the
    random streams used), ``arrays.npz`` and the figures, drawn from those two files
    (:func:`draw`). Returns (results.json content, figure names). Finished pieces of the run
    (``ctx.cached``) are kept in ``OUT/.NAME.partial/`` until the results are written: a re-run
    after a kill *or an error* resumes from them. Model stores live in ``out``'s parent
    (``ctx.workdir``) and are never deleted.
    """
    out = Path(out)
    check_out_folder(out, cfg)
    missing = [p for p in (out.parent, *out.parent.parents) if not p.exists()]  # deepest first
    try:
        return _run_into(exp, cfg, out, command=command, quick=quick, progress=progress)
    except BaseException:
        for folder in missing:  # a failed run leaves no empty folders it made
            try:
                folder.rmdir()
            except OSError:  # not empty (a kept checkpoint or model store), or gone
                break
        raise


def _run_into(
    exp: Experiment, cfg, out: Path, *, command: str, quick: bool, progress: bool
) -> tuple[dict, list[str]]:
    start = time.perf_counter()
    ctx = Context.for_config(
        cfg,
        workdir=out.parent,
        partial=out.parent / f".{out.name}.partial",
        ident=checkpoint_ident(exp.name, cfg),
        progress=progress,
    )
    try:
        results, arrays = exp.run(cfg, ctx)
    except BaseException:
        ctx.remove_checkpoint(only_if_empty=True)  # finished pieces are kept, whatever stopped the run
        raise
    wall = time.perf_counter() - start
    build = make_build_dir(out.parent, out.name)
    try:
        atomic_savez(build / "arrays.npz", **{k: np.asarray(v) for k, v in arrays.items()})
        doc = {
            "experiment": exp.name,
            "title": exp.title,
            "command": command,
            "quick": quick,
            "config": to_jsonable(cfg),
            "seed": getattr(cfg, "seed", None),
            "streams": ctx.streams,
            "results": to_jsonable(results),
            "figures": [],
            "wall_time_s": wall,
            "provenance": provenance(),
        }
        atomic_write_json(build / "results.json", doc)
        doc = draw(build, exp)
        replace_dir(build, out)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    ctx.remove_checkpoint()
    return doc, doc["figures"]


def read_results(folder: Path) -> tuple[dict, dict, Experiment]:
    """(results.json, arrays.npz, experiment) of a results folder; ValueError naming the file."""
    folder = Path(folder)
    doc_path = folder / "results.json"
    if not doc_path.is_file():
        raise ValueError(
            f"redraw: {folder} has no results.json; give a folder written by tailmem run or reproduce"
        )
    try:
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        if not isinstance(doc, dict) or not isinstance(doc.get("results"), dict):
            raise ValueError("no results object")
    except (OSError, ValueError) as exc:
        raise ValueError(f"redraw: {doc_path} is not a readable results file ({exc}); re-run it") from None
    name = doc.get("experiment")
    try:
        exp = get(str(name))
    except ValueError:
        raise ValueError(
            f"redraw: {doc_path} is of unknown experiment {name!r}; known: {', '.join(names())}"
        ) from None
    arrays = read_npz(folder / "arrays.npz") if (folder / "arrays.npz").exists() else None
    if arrays is None:
        raise ValueError(f"redraw: {folder / 'arrays.npz'} is missing; re-run the experiment")
    return doc, arrays, exp


def draw(folder: Path, exp: Experiment | None = None) -> dict:
    """Draw the figures of the results folder ``folder`` from its results.json and arrays.npz.

    The figures are drawn into a temporary folder beside it and then moved in, one file at a
    time; results.json's ``figures`` list is rewritten only when it changes. Returns the
    results.json content.
    """
    folder = Path(folder)
    doc, arrays, found = read_results(folder)
    exp = exp or found
    tmp = make_build_dir(folder.parent, f"{folder.name}.draw")
    try:
        figures = list(exp.plot(doc["results"], arrays, tmp))
        for name in figures:
            os.replace(tmp / name, folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if figures != doc.get("figures"):
        doc["figures"] = figures
        atomic_write_json(folder / "results.json", doc)
    return doc


def report_section(doc: dict, name: str) -> str:
    """The report.md section of one experiment, from its results.json content."""
    exp = get(name)
    cfg = config_from_json(exp.config, doc["config"])
    body = exp.report(doc["results"], cfg).rstrip("\n")
    links = [
        f"![{name}/{f}]({name}/{f})" if f.endswith((".png", ".svg")) else f"[{name}/{f}]({name}/{f})"
        for f in doc.get("figures", [])
    ]
    if links:
        body += "\n\n" + "\n".join(links)
    return (
        f"## {exp.title}\n\nExperiment `{name}`; command `{doc['command']}`; "
        f"wall time {doc['wall_time_s']:.1f} s; results in `{name}/results.json`.\n\n{body}\n"
    )


MAX_TABLE_COLUMNS = 7  # report.md tables wider than this are split, and written whole as CSV


def narrow_tables(text: str, folder: Path, name: str) -> str:
    """``text`` (markdown) with every table wider than :data:`MAX_TABLE_COLUMNS` columns written
    whole to ``folder/name/table-K.csv`` and shown as narrower tables, each with a row number and
    the first column; a table whose rows do not all have its header's cells is left as it is."""
    lines, out, k = text.split("\n"), [], 0
    i = 0
    while i < len(lines):
        j = i
        while j < len(lines) and lines[j].startswith("|"):
            j += 1
        block = lines[i:j]
        if j == i:
            out.append(lines[i])
            i += 1
            continue
        i = j
        rows = [cells(r) for r in block]
        width = len(rows[0])
        if (width <= MAX_TABLE_COLUMNS or len(rows) < 2 or any(len(r) != width for r in rows)
                or not all(c.strip(":-") == "" and "-" in c for c in rows[1])):  # fmt: skip
            out += block
            continue
        k += 1
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(rows[0])
        writer.writerows(rows[2:])
        csv_name = f"table-{k}.csv"
        atomic_write_text(folder / name / csv_name, buf.getvalue())
        step = MAX_TABLE_COLUMNS - 2  # each part: the row number, the first column, then its share
        number = ["row", "---", *(str(r) for r in range(1, len(rows) - 1))]
        for a in range(1, width, step):
            cols = [0, *range(a, min(a + step, width))]
            if a > 1:
                out.append("")
            out += [row([m, *(r[c] for c in cols)]) for m, r in zip(number, rows, strict=True)]
        out += ["", f"(The whole table, {width} columns: [{name}/{csv_name}]({name}/{csv_name}).)"]
    return "\n".join(out)


def write_report(out: Path) -> Path:
    """``out/report.md`` from ``out/reproduce.json`` and each experiment's results.json."""
    out = Path(out)
    meta = json.loads((out / "reproduce.json").read_text(encoding="utf-8"))
    sections, ran, skipped = [], {}, []
    for entry in meta["experiments"]:
        name = entry["name"]
        if entry.get("skipped"):
            title = entry.get("title", name)
            sections.append(f"## {title}\n\nExperiment `{name}` was skipped: {entry['skipped']}\n")
            skipped.append(f"- `{name}`: {entry['skipped']}")
            continue
        doc = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
        ran[name] = doc["results"]
        sections.append(narrow_tables(report_section(doc, name), out, name))
    prov = meta["provenance"]
    head = (
        f"# tailmem report\n\nMade by `{meta['command']}` with tailmem "
        f"{prov['tailmem_version']} at git revision {prov['git_revision']} on {prov['machine']}.\n\n"
        f"## Summary\n\nRan {len(ran)} of {len(ran) + len(skipped)} experiments: "
        + (", ".join(f"`{n}`" for n in ran) or "none")
        + ".\n\n"
    )
    if skipped:
        head += "Skipped (each line says what it needs; `tailmem run NAME` with it includes it):\n\n"
        head += "\n".join(skipped) + "\n\n"
    from simulations.claims import K_SUPPORT, report_summary

    table = report_summary(ran)
    if table:
        head += (
            "What these results say about the claims of the claims registry (docs/claims.md): "
            f"supported or refuted beyond {K_SUPPORT:g} SE, else open (often: not resolved at this "
            "size); beside it, the status recorded from the documented full-size runs.\n\n" + table + "\n\n"
        )
    atomic_write_text(out / "report.md", head + "\n".join(sections))
    return out / "report.md"


def redraw(folder: Path) -> list[Path]:
    """Rebuild the figures of an experiment folder, or of every experiment of a reproduce folder
    and its report.md, from the saved files alone. Returns the folders redrawn."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"redraw: {folder} is not a folder")
    if (folder / "reproduce.json").is_file():
        try:
            meta = json.loads((folder / "reproduce.json").read_text(encoding="utf-8"))
            ran = [e["name"] for e in meta["experiments"] if not e.get("skipped")]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"redraw: {folder / 'reproduce.json'} is not readable ({exc}); re-run reproduce"
            ) from None
        for name in ran:  # every folder read before anything is drawn
            read_results(folder / name)
        for name in ran:
            draw(folder / name)
        write_report(folder)
        return [folder / n for n in ran]
    draw(folder)
    return [folder]


def reproduce(
    out: Path,
    *,
    quick: bool,
    data_dir: str | None = None,
    placement: list[str] | None = None,
    log=sys.stderr,
    progress: bool = True,
) -> Path:
    """Run every registered experiment into ``out/<name>/`` and write ``out/report.md``.

    ``placement`` (``backend=...``, ``ray_address=...``) goes to the experiments whose config has
    a ``backend`` field (those that train many models), and to no other. ``out/reproduce.json``
    records what ran and what was skipped (with the reason), so that ``tailmem redraw out``
    rebuilds report.md as this run wrote it.
    """
    out = Path(out)
    if data_dir and not Path(data_dir).is_dir():  # found now, not after an hour of other experiments
        raise ValueError(
            f"--data-dir: {data_dir!r} is not a folder; give the one that holds mnist/, sst2/, ..."
        )
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
    entries = []
    for name, exp, trains, cfg in plan:
        reason = exp.unavailable(cfg) if exp.unavailable is not None else None
        if reason:
            print(f"[reproduce] {name} skipped: {reason}", file=log, flush=True)
            entries.append({"name": name, "title": exp.title, "skipped": reason})
            continue
        print(f"[reproduce] {name} ...", file=log, flush=True)
        doc, _ = run_experiment(
            exp,
            cfg,
            out / name,
            command=f"tailmem run {name}{flag} --out {out}{extra}{flags if trains else ''}",
            quick=quick,
            progress=progress,
        )
        print(f"[reproduce] {name} done in {doc['wall_time_s']:.1f} s", file=log, flush=True)
        entries.append({"name": name, "title": exp.title})
    meta = {
        "command": f"tailmem reproduce{flag} --out {out}{extra}{flags}",
        "quick": quick,
        "experiments": entries,
        "provenance": provenance(),
    }
    atomic_write_json(out / "reproduce.json", meta)
    return write_report(out)
