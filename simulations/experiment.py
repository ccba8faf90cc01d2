r"""The experiment contract: what an experiment is, and the services every experiment gets.

An experiment is one module of :mod:`simulations.experiments` that declares itself with
:func:`experiment` and fills in three functions with its decorators::

    EXPERIMENT = experiment("feldman-examples", "Feldman's worked examples",
                            config=FeldmanExamples, quick={"num_ratios": 13})

    @EXPERIMENT.run
    def run(cfg: FeldmanExamples, ctx: Context) -> tuple[dict, dict]:
        ...                      # pure computation: JSON-ready numbers, numpy arrays

    @EXPERIMENT.report
    def report(results: dict, cfg: FeldmanExamples) -> str:
        ...                      # markdown for report.md, from the saved numbers

    @EXPERIMENT.plot
    def plot(results: dict, arrays: dict, folder: Path) -> list[str]:
        ...                      # figures drawn from the saved numbers; their file names

A plot that only calls one plotting function is named instead of written:
``experiment(..., plot="simulations.plots.gaussian:gaussian_dp_figures")``. Optionally,
``@EXPERIMENT.unavailable`` (``cfg -> str | None``: why it cannot run here).
Every module of the package is imported by :func:`discover`, so a new module is all it takes
(docs/experiments.md, "Adding an experiment").

``plot`` and ``report`` only ever see what was saved: the runner writes ``results.json`` and
``arrays.npz`` first and draws from those files, the same path as ``tailmem redraw``.

:class:`Context` gives ``run`` its services, the same for every experiment:

- ``ctx.cached(key, compute)``: a finished piece is loaded, otherwise ``compute()`` runs and
  its ``(data, arrays)`` are saved atomically with a checksum. What ``cached`` returns has
  always been through the file formats (JSON, npz), so a resumed run equals an uninterrupted
  one bit for bit. A damaged piece is named in one line and recomputed alone.
- ``ctx.stream(name, **params)``: a :class:`numpy.random.SeedSequence` derived from the
  config's ``seed``, the stream's name and its parameters (a hash), never from a position or
  an order: adding a sweep point changes no other point's numbers.
- ``ctx.progress(total, desc)``: the one progress bar (stderr, gone when closed).
- ``ctx.workdir``: where model stores that outlive the run are kept (the results folder's
  parent).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import pkgutil
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulations.results import (
    atomic_savez,
    atomic_write_json,
    config_differences,
    git_revision,
    package_version,
    progress_bar,
    read_npz,
    saved_form,
    to_jsonable,
)

__all__ = [
    "Experiment",
    "ExperimentSpec",
    "Context",
    "experiment",
    "discover",
    "get",
    "names",
    "stream_seed",
    "spawned_stream",
    "CHECKPOINT_FORMAT",
]

# the layout of a .NAME.partial/ folder (config.json "format"): 2 = pieces with a checksum
CHECKPOINT_FORMAT = 2


@dataclass(frozen=True)
class Experiment:
    """A registered experiment: its config class, quick sizes and the three functions."""

    name: str
    title: str
    config: type
    run: Callable
    plot: Callable
    report: Callable
    quick: dict = field(default_factory=dict)
    unavailable: Callable | None = None


class ExperimentSpec:
    """What :func:`experiment` returns: decorators that attach ``run``, ``plot``, ``report``."""

    def __init__(self, name: str, title: str, config: type, quick: dict | None, module: str):
        if not dataclasses.is_dataclass(config):
            raise TypeError(f"experiment {name!r}: config must be a dataclass; got {config!r}")
        self.name, self.title, self.config, self.module = name, title, config, module
        self.quick = dict(quick or {})
        unknown = set(self.quick) - {f.name for f in dataclasses.fields(config)}
        if unknown:
            raise TypeError(f"experiment {name!r}: quick names unknown fields {sorted(unknown)}")
        self.funcs: dict[str, Callable] = {}

    def _attach(self, what: str, fn: Callable) -> Callable:
        if what in self.funcs:
            raise TypeError(f"experiment {self.name!r}: {what} given twice")
        self.funcs[what] = fn
        return fn

    def run(self, fn: Callable) -> Callable:
        """``run(cfg, ctx) -> (results, arrays)``."""
        return self._attach("run", fn)

    def plot(self, fn: Callable) -> Callable:
        """``plot(results, arrays, folder) -> list[str]``."""
        return self._attach("plot", fn)

    def report(self, fn: Callable) -> Callable:
        """``report(results, cfg) -> str`` (markdown; the runner appends the figures)."""
        return self._attach("report", fn)

    def unavailable(self, fn: Callable) -> Callable:
        """``unavailable(cfg) -> str | None``: why it cannot run here (data or extra absent)."""
        return self._attach("unavailable", fn)

    def build(self) -> Experiment:
        missing = [w for w in ("run", "plot", "report") if w not in self.funcs]
        if missing:
            raise TypeError(f"experiment {self.name!r} ({self.module}) has no {', '.join(missing)}")
        return Experiment(
            name=self.name,
            title=self.title,
            config=self.config,
            run=self.funcs["run"],
            plot=self.funcs["plot"],
            report=self.funcs["report"],
            quick=self.quick,
            unavailable=self.funcs.get("unavailable"),
        )


_SPECS: dict[str, ExperimentSpec] = {}


def experiment(
    name: str, title: str, *, config: type, quick: dict | None = None, plot: str | Callable | None = None
) -> ExperimentSpec:
    """Declare the experiment ``name`` (registered at once; a second one of that name is refused).

    ``plot`` may be given here instead of by the decorator: a function, or ``"module:function"``
    naming ``function(results, arrays, folder) -> list[str]`` in a plotting module, imported only
    when figures are drawn (so declaring an experiment never imports matplotlib).
    """
    module = sys._getframe(1).f_globals.get("__name__", "?")
    if name in _SPECS and _SPECS[name].module != module:
        raise ValueError(f"experiment {name!r} registered twice ({_SPECS[name].module}, {module})")
    spec = ExperimentSpec(name, title, config, quick, module)
    if plot is not None:
        spec.plot(figures_from(plot) if isinstance(plot, str) else plot)
    _SPECS[name] = spec
    return spec


def figures_from(path: str) -> Callable:
    """``plot(results, arrays, folder)`` calling the function ``path`` = "module:function", imported
    at the first call."""
    module, _, func = path.partition(":")
    if not module or not func:
        raise ValueError(f"plot must be 'module:function'; got {path!r}")

    def plot(results: dict, arrays: dict, folder) -> list[str]:
        return getattr(importlib.import_module(module), func)(results, arrays, folder)

    plot.__qualname__ = plot.__name__ = f"figures_from({path!r})"
    return plot


_DISCOVERED = False


def discover() -> None:
    """Import every module of :mod:`simulations.experiments` (each registers what it declares)."""
    global _DISCOVERED
    if _DISCOVERED:
        return
    import simulations.experiments as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        importlib.import_module(f"{pkg.__name__}.{info.name}")
    _DISCOVERED = True


def names() -> list[str]:
    """The registered experiments, sorted."""
    discover()
    return sorted(_SPECS)


def get(name: str) -> Experiment:
    """The experiment called ``name``; ValueError naming the known ones (and the closest) otherwise."""
    discover()
    if name not in _SPECS:
        import difflib

        close = difflib.get_close_matches(name, _SPECS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(_SPECS))
        raise ValueError(f"experiment: unknown experiment {name!r}{hint} known experiments: {known}")
    return _SPECS[name].build()


# ---------------------------------------------------------------------- random streams
def _canonical(value):
    """A JSON-ready form in which equal parameters look equal (2 and 2.0 are one point)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        return str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | np.ndarray):
        return [_canonical(v) for v in value]
    raise TypeError(f"stream parameter of type {type(value).__name__} is not a number, string or list")


def stream_seed(seed: int, name: str, **params) -> np.random.SeedSequence:
    r"""The random stream called ``name`` with ``params``, under the root ``seed``.

    .. math:: \text{key} = \mathrm{SHA256}(\mathrm{json}([\text{name}, \text{sorted params}]))

    The first 128 bits of the key, as four 32-bit words, are the ``spawn_key`` of
    ``SeedSequence(seed)``: streams of different names or parameters are independent, and a
    stream depends on nothing but (seed, name, params).
    """
    if not name or not isinstance(name, str):
        raise ValueError(f"stream name must be a non-empty string; got {name!r}")
    text = json.dumps([name, sorted((k, _canonical(v)) for k, v in params.items())], separators=(",", ":"))
    digest = hashlib.sha256(text.encode()).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    return np.random.SeedSequence(int(seed), spawn_key=words)


def spawned_stream(seed: int, names: tuple[str, ...], name: str) -> np.random.SeedSequence:
    """The stream called ``name`` of a family whose streams are children of ``SeedSequence(seed)``:
    child ``names.index(name)``.

    A stream by name all the same: the index of a name is fixed for good (a new stream is appended
    to ``names``, and child i of a fresh ``SeedSequence`` is the same whatever the number spawned),
    so no stream depends on another's existence or on the order of execution. The subset and NLP
    experiments keep this family (their model stores and documented numbers were made with these
    children); new code uses :func:`stream_seed`.
    """
    if name not in names:
        raise ValueError(f"stream must be one of {', '.join(names)}; got {name!r}")
    return np.random.SeedSequence(int(seed)).spawn(len(names))[names.index(name)]


# ---------------------------------------------------------------------- the context
_roundtrip = saved_form


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class _NoBar:
    def update(self, k: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


class Context:
    """The services of one run: checkpoint, random streams, progress, work folder.

    ``Context()`` (the default for scripts and tests) keeps no checkpoint: ``cached`` computes
    every piece (still through the file formats' round trip). The runner makes one with
    ``partial=OUT/.NAME.partial`` so that finished pieces survive a kill or an error.
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        workdir: str | Path = ".",
        partial: str | Path | None = None,
        ident: dict | None = None,
        progress: bool = True,
        log: Callable[[str], None] | None = None,
    ):
        self.seed = int(seed)
        self.workdir = Path(workdir)
        self.show_progress = progress
        self.log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self.reused = 0
        self.computed = 0
        self.streams: dict[str, dict] = {}
        self.partial = None if partial is None else Path(partial)
        if self.partial is not None:
            self._open(ident or {})

    @classmethod
    def for_config(cls, cfg, **kwargs) -> Context:
        """A context whose root seed is ``cfg.seed`` (0 where the config has none)."""
        return cls(seed=getattr(cfg, "seed", 0), **kwargs)

    # ------------------------------------------------------------------ checkpoint
    def _open(self, ident: dict) -> None:
        marker = self.partial / "config.json"
        new = _roundtrip({**ident, "format": CHECKPOINT_FORMAT})
        if not marker.exists():
            self.partial.mkdir(parents=True, exist_ok=True)
            atomic_write_json(marker, new)
            return
        try:
            old = json.loads(marker.read_text(encoding="utf-8"))
            if not isinstance(old, dict) or not isinstance(old.get("config"), dict):
                raise ValueError("no config object")
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"checkpoint: {marker} is unreadable ({exc}); delete {self.partial} to start over"
            ) from None
        differ = [k for k in new if k != "config" and old.get(k) != new[k]]
        differ += config_differences(old["config"], new.get("config", {}))
        if differ:
            raise ValueError(
                f"checkpoint: {self.partial} holds a partial run of another configuration or code "
                f"(differs in {', '.join(differ[:4])}); delete it or choose another --out"
            )

    def _piece(self, key: str) -> tuple[Path, Path]:
        if not isinstance(key, str) or not key or not key.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"checkpoint: key {key!r} must be alphanumeric, '-' or '_'")
        return self.partial / f"{key}.json", self.partial / f"{key}.npz"

    def _load(self, key: str) -> tuple[dict, dict] | None:
        js, nz = self._piece(key)
        if not js.exists():
            return None
        try:
            doc = json.loads(js.read_text(encoding="utf-8"))
            if not isinstance(doc, dict) or "data" not in doc:
                raise ValueError("not a checkpoint piece")
            arrays = {}
            if doc.get("npz_sha256") is not None:
                if not nz.exists():
                    raise ValueError(f"{nz.name} is missing")
                if _digest(nz) != doc["npz_sha256"]:
                    raise ValueError(f"{nz.name} does not match its checksum")
                arrays = read_npz(nz)
            return doc["data"], arrays
        except (OSError, ValueError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.log(f"checkpoint: {js} is damaged ({reason}); recomputing that piece")
            return None

    def cached(
        self,
        key: str,
        compute: Callable[[], tuple[dict, dict]],
        *,
        on_reuse: Callable[[], None] | None = None,
    ) -> tuple[dict, dict]:
        """The finished piece ``key`` as ``(data, arrays)``: loaded, or ``compute()``-d and saved.

        ``on_reuse`` is called when the piece is loaded instead of computed (for example to
        advance a progress bar by the work ``compute`` would have reported).

        ``data`` is JSON-ready (it comes back as results.json would give it), ``arrays`` are
        numpy arrays (as from ``arrays.npz``). The arrays file is written first, then the JSON
        with the arrays' SHA-256 (which marks the piece complete), each atomically.
        """
        if self.partial is not None:
            got = self._load(key)
            if got is not None:
                self.reused += 1
                if on_reuse is not None:
                    on_reuse()
                return got
        data, arrays = compute()
        arrays = {k: np.asarray(v) for k, v in (arrays or {}).items()}
        for k, v in arrays.items():
            if v.dtype == object:
                raise TypeError(f"checkpoint piece {key!r}: array {k!r} holds Python objects")
        data = _roundtrip(data)
        self.computed += 1
        if self.partial is None:
            return data, {k: v.copy() for k, v in arrays.items()}
        js, nz = self._piece(key)
        digest = None
        if arrays:
            atomic_savez(nz, **arrays)
            digest = _digest(nz)
            arrays = read_npz(nz)
        atomic_write_json(js, {"data": data, "npz_sha256": digest})
        return data, arrays

    def remove_checkpoint(self, *, only_if_empty: bool = False) -> None:
        """Delete the partial folder: always once the results are written; after an error or a
        kill only when it holds no finished piece (``only_if_empty``), so no work is lost."""
        if self.partial is None or not self.partial.exists():
            return
        if only_if_empty and any(p.name != "config.json" for p in self.partial.iterdir()):
            return
        shutil.rmtree(self.partial, ignore_errors=True)

    # ------------------------------------------------------------------ streams
    def stream(self, name: str, **params) -> np.random.SeedSequence:
        """The named random stream (:func:`stream_seed` under this run's seed); recorded."""
        ss = stream_seed(self.seed, name, **params)
        label = name + "".join(f" {k}={_canonical(v)}" for k, v in sorted(params.items()))
        self.streams[label] = {"spawn_key": list(ss.spawn_key)}
        return ss

    def record_spawned(self, seed: int, names: tuple[str, ...], used: tuple[str, ...]) -> None:
        """Record the :func:`spawned_stream` streams ``used`` (of the family ``names``) in results."""
        for name in used:
            ss = spawned_stream(seed, names, name)
            self.streams[name] = {"spawn_key": list(ss.spawn_key)}

    def rng(self, name: str, **params) -> np.random.Generator:
        """``np.random.default_rng(self.stream(name, **params))``."""
        return np.random.default_rng(self.stream(name, **params))

    # ------------------------------------------------------------------ progress
    def progress(self, total: int, desc: str):
        """A progress bar (``bar.update(k)``, ``bar.close()``); silent with ``progress=False``."""
        return progress_bar(total, desc) if self.show_progress else _NoBar()


def checkpoint_ident(exp_name: str, cfg) -> dict:
    """What a partial folder must match to be resumed: experiment, config, version, revision."""
    return {
        "experiment": exp_name,
        "config": to_jsonable(cfg),
        "tailmem_version": package_version(),
        "git_revision": git_revision(),
    }
