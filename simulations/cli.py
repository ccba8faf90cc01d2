"""The ``tailmem`` command.

Subcommands: ``bound`` (the theory calculator), ``run`` (one experiment), ``reproduce`` (every
experiment and a report), ``list`` (the experiments) and ``benchmark``. Invalid input, and
running out of memory, give one line on stderr and exit status 2, never a traceback; Ctrl-C
gives one line, and the command (:func:`console`) then dies by SIGINT as the shell expects
(status 130), so a loop of commands stops too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import sys
from pathlib import Path

__all__ = ["main", "console", "build_parser", "prior_from_args"]

PRIORS = ("zipf", "uniform", "two-point", "counts", "density")
OUT_HELP = "output folder (default results/); a results folder of another configuration is refused"
DATA_DIR_HELP = (
    "folder laid out as shared/data (mnist/, cifar10/, cscores/, ...) for experiments that read "
    "data files; default: the TAILMEM_DATA environment variable"
)


def _size(text: str) -> int:
    """A whole number written as the README writes sizes: 50000, 50_000 or 1e7."""
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number such as 50000 or 1e7; got {text!r}"
        ) from None
    if not value.is_integer():
        raise argparse.ArgumentTypeError(f"expected a whole number such as 50000 or 1e7; got {text!r}")
    return int(value)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit status 2
        self.exit(2, f"tailmem: error: {message}\n")


def _add_bound(sub) -> None:
    p = sub.add_parser(
        "bound",
        help="exact theory numbers for a frequency prior",
        description="Feldman's quantities for a frequency prior: tau_l, singleton fraction, unseen "
        "mass, optimal error, the cost of not fitting singletons, of a memorization limit "
        "(--gamma) or of label-DP (--epsilon).",
    )
    p.add_argument("--prior", choices=PRIORS, default="zipf", help="frequency prior (default zipf)")
    p.add_argument(
        "--N", type=_size, help="number of subpopulations, e.g. 50000 or 1e7 (not with --prior counts)"
    )
    p.add_argument("--n", type=_size, required=True, help="number of training examples, e.g. 50000 or 1e7")
    p.add_argument("--classes", type=int, default=10, help="number of classes m (default 10)")
    p.add_argument(
        "--variant",
        choices=("fixed", "iid"),
        default="fixed",
        help="fixed: normalised list randomly assigned (the paper's examples); "
        "iid: iid draws then normalised",
    )
    p.add_argument("--exponent", type=float, default=1.0, help="zipf: p_i ~ (i + offset)^-exponent")
    p.add_argument("--offset", type=float, default=0.0, help="zipf: Zipf-Mandelbrot offset (> -1)")
    p.add_argument("--heavy-fraction", type=float, help="two-point: fraction of heavy points")
    p.add_argument("--ratio", type=float, help="two-point: heavy / light frequency (>= 1)")
    p.add_argument("--counts", help="counts: comma-separated counts, or a .txt/.csv/.npy file")
    p.add_argument("--density", help="density: a scipy.stats continuous distribution, e.g. beta")
    p.add_argument("--density-args", default="", help="density: shape parameters, e.g. 0.5,2")
    lim = p.add_mutually_exclusive_group()
    lim.add_argument("--gamma", type=float, help="memorization limit gamma >= 0")
    lim.add_argument("--epsilon", type=float, help="label-DP epsilon >= 0")
    p.add_argument("--delta", type=float, default=0.0, help="label-DP delta in [0, 1] (default 0)")
    p.add_argument(
        "--noise",
        type=float,
        default=0.0,
        help="label noise: probability 1 - kappa that a label is replaced by a uniform one",
    )
    p.add_argument("--ells", type=int, default=5, help="print tau_1..tau_ells (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    _add_threads(p)


def _add_run_options(p, *, quick: str, backend: str, ray_address: str) -> None:
    """The options ``run`` and ``reproduce`` share (each with its own help text)."""
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--out", default="results", help=OUT_HELP)
    p.add_argument("--data-dir", help=DATA_DIR_HELP)
    p.add_argument("--backend", choices=("local", "ray"), help=backend)
    p.add_argument("--ray-address", metavar="ADDR", help=ray_address)
    _add_threads(p)


def _add_threads(p) -> None:
    p.add_argument(
        "--threads",
        metavar="N",
        help="torch and BLAS threads per kernel, 1..1024, or auto (the cores no other job is running on, "
        "decided as each piece of work starts); default: $TAILMEM_THREADS, else 1 (measured: "
        "simulations/threads.py); batched training also runs cores / N groups of models side by side",
    )


def _add_run(sub) -> None:
    p = sub.add_parser("run", help="run one experiment")
    p.add_argument("experiment", help="experiment name (see `tailmem list`)")
    _add_run_options(
        p,
        quick="the quick size",
        backend="experiments that train many models: train here (local, the default) or as Ray tasks "
        '(ray; pip install "tailmem[ray]"); the same as --set backend=...',
        ray_address="with --backend ray: the cluster (auto, HOST:6379, ray://HOST:10001); default: "
        "$RAY_ADDRESS, else a new Ray cluster on this machine",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a config field (repeatable); tuples comma-separated, e.g. --set hidden=100,100 "
        "(tailmem list NAME shows the fields)",
    )
    r = sub.add_parser("reproduce", help="run every experiment and write report.md")
    _add_run_options(
        r,
        quick="quick sizes",
        backend="where the experiments that train many models train them (as for run; default local)",
        ray_address="with --backend ray: the cluster (as for run)",
    )
    li = sub.add_parser(
        "list",
        help="list the experiments; with a NAME, its config fields",
        description="Without NAME: every experiment and its title. With NAME: each config field, its "
        "type as --set spells it (tuples: comma-separated, e.g. --set hidden=100,100), default, quick "
        "size and meaning.",
    )
    li.add_argument("name", nargs="?", help="an experiment (see tailmem list)")
    d = sub.add_parser(
        "redraw",
        help="rebuild figures (and report.md) of a results folder from its saved files",
        description="Redraw every figure of an experiment folder (OUT/NAME) from its results.json and "
        "arrays.npz, or of every experiment of a reproduce folder (OUT), then rebuild its report.md.",
    )
    d.add_argument("folder", help="an experiment folder or a tailmem reproduce folder")
    c = sub.add_parser(
        "claims",
        help="the claims registry: each claim, its scope, evidence and status",
        description="Without options: the table of claims (docs/claims.md). --check: recompute every exact "
        "status live (about 3 minutes on 2 cores) and read the statistical ones from --results DIR; "
        "--check ID: one claim; --check ID --prior 1/2,1/3,1/6 --n 3 --classes 2: one exact claim on "
        "your instance, with both sides in exact fractions.",
    )
    c.add_argument("--check", nargs="?", const="all", metavar="ID", help="check every claim, or claim ID")
    c.add_argument("--results", help="a results folder (tailmem reproduce or run) for the statistical claims")
    c.add_argument("--prior", help="with --check ID: the prior as fractions summing to 1, e.g. 1/2,1/3,1/6")
    c.add_argument("--n", type=int, help="with --prior: draws n (1..8)")
    c.add_argument("--classes", type=int, default=2, help="with --prior: classes m (2..4, default 2)")
    c.add_argument(
        "--variant", choices=("fixed", "iid"), default="fixed", help="with --prior (default fixed)"
    )
    out = c.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON instead of a table")
    out.add_argument("--markdown", action="store_true", help="print docs/claims.md")
    _add_threads(c)
    b = sub.add_parser("benchmark", help="speed against a straightforward reference")
    b.add_argument(
        "which",
        nargs="?",
        choices=("all", "bound", "feldman", "training", "loo", "composition", "ray", "contention", "gpu"),
        default="all",
        help="bound: theory.bound against a float loop; feldman: the batched simulation against a "
        "per-trial loop; training: the batched trainer against one-model-at-a-time training; loo: the "
        "closed-form ridge leave-one-out against n refits (20 refits per lambda timed, scaled by n/20; "
        "5 s at n = 10,000 on 2 idle cores, up to 30 s under load); composition: 12 sum networks of "
        "composition-nets trained as one vmap batch against torch.optim.AdamW one model at a time "
        "(CPU); ray: the same models trained "
        'locally and as Ray tasks on 1 and 2 workers (needs pip install "tailmem[ray]"; not part of '
        "all; about 1-2 minutes on 2 cores); contention: the hot paths quiet and beside --busy spinning "
        "processes, slowdowns against the fair share (not part of all; ~3 minutes on 2 cores); gpu: "
        "everything the GPU promises need in one command, writing --out/gpu.json and gpu.md (needs CUDA, "
        "MNIST and Fashion-MNIST; not part of all; at most ~8 minutes on one H100) (default: all but "
        "ray, contention and gpu)",
    )
    b.add_argument("--busy", type=int, help="contention: busy processes (default 2 x cores)")
    b.add_argument("--out", help="gpu: folder for gpu.json and gpu.md")
    b.add_argument("--data-dir", help="gpu: " + DATA_DIR_HELP)
    _add_threads(b)
    b.add_argument("--N", type=_size, default=10_000_000, help="bound: N = n of the timed run (default 1e7)")
    b.add_argument("--trials", type=int, default=1000, help="feldman: trials (default 1000)")
    b.add_argument(
        "--loo-n", type=int, default=10_000, help="loo: training examples n (default 10000; at least 20)"
    )
    b.add_argument("--models", type=int, default=256, help="training: models in the batch (default 256)")
    b.add_argument("--epochs", type=int, default=4, help="training: epochs (default 4)")
    b.add_argument("--batch-size", type=int, default=32, help="training: minibatch size (default 32)")
    b.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda"), help="training: where to train (default cpu)"
    )
    b.add_argument("--ray-models", type=int, default=128, help="ray: models trained (default 128)")
    b.add_argument("--ray-tasks", type=int, default=8, help="ray: tasks (batches) they form (default 8)")
    b.add_argument("--ray-epochs", type=int, default=4, help="ray: epochs (default 4)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tailmem", description="Theory, simulation and measurement of memorization and the long tail."
    )
    from simulations.results import package_version

    parser.add_argument("--version", action="version", version=f"tailmem {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _add_bound(sub)
    _add_run(sub)
    return parser


def _read_counts(text: str):
    import numpy as np

    path = Path(text)
    if path.suffix in {".npy", ".txt", ".csv"}:
        if not path.is_file():
            raise ValueError(f"--counts: file {text!r} does not exist")
        try:
            if path.suffix == ".npy":
                return np.load(path, allow_pickle=False).ravel()
            return np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None).ravel()
        except (OSError, ValueError) as exc:
            raise ValueError(f"--counts: cannot read {text!r} ({exc})") from None
    try:
        return np.array([float(x) for x in text.split(",") if x.strip()])
    except ValueError:
        raise ValueError(f"--counts: expected comma-separated numbers or a file; got {text!r}") from None


def prior_from_args(args):
    """The :class:`theory.FrequencyPrior` named by the ``bound`` arguments."""
    import theory

    def need(name, value):
        if value is None:
            raise ValueError(f"--{name.replace('_', '-')}: required with --prior {args.prior}")
        return value

    if args.prior == "counts":
        return theory.from_counts(_read_counts(need("counts", args.counts)))
    N = need("N", args.N)
    if args.prior == "zipf":
        return theory.zipf(N, args.exponent, offset=args.offset)
    if args.prior == "uniform":
        return theory.uniform(N)
    if args.prior == "two-point":
        return theory.two_point(
            N, heavy_fraction=need("heavy_fraction", args.heavy_fraction), ratio=need("ratio", args.ratio)
        )
    import scipy.stats

    name = need("density", args.density)
    dist = getattr(scipy.stats, name, None)
    if not isinstance(dist, scipy.stats.rv_continuous):
        raise ValueError(f"--density: {name!r} is not a scipy.stats continuous distribution")
    try:
        shapes = [float(x) for x in args.density_args.split(",") if x.strip()]
        frozen = dist(*shapes)
        frozen.support()
    except (TypeError, ValueError) as exc:
        raise ValueError(f"--density-args: {args.density_args!r} do not fit {name} ({exc})") from None
    return theory.from_density(frozen, N)


def _bound(args) -> int:
    import theory
    from simulations.results import package_version

    noise = args.noise
    if not (0.0 <= noise <= 1.0) or math.isnan(noise):
        raise ValueError(f"--noise must be a probability in [0, 1]; got {noise!r}")
    prior = prior_from_args(args)
    rep = theory.bound(
        prior,
        args.n,
        args.classes,
        variant=args.variant,
        kappa=1.0 - noise,
        gamma=args.gamma,
        epsilon=args.epsilon,
        delta=args.delta,
        ells=args.ells,
    )
    d = rep.to_dict()
    d["noise"] = noise
    d["tailmem_version"] = package_version()
    if args.json:
        print(json.dumps(d, indent=2, allow_nan=False))
        return 0
    n = rep.n
    rows = [
        ("prior", rep.prior),
        ("variant", rep.variant),
        ("N, n, classes", f"{rep.N:,}, {rep.n:,}, {rep.classes}"),
        ("label noise (1 - kappa)", f"{noise:g}"),
    ]
    rows += [(f"tau_{k} (x n)", f"{v:.6g}  ({v * n:.6g})") for k, v in rep.tau.items()]
    rows += [
        (
            "singleton fraction",
            f"{rep.singleton_fraction:.6g}  ({rep.expected_singletons:,.1f} expected singletons)",
        ),
        ("unseen mass", f"{rep.unseen_mass:.6g}  ({rep.expected_unseen_points:,.1f} expected unseen points)"),
        (
            "optimal error",
            f"{rep.opt_error:.6g}"
            + (f" +- {rep.opt_error_halfwidth:.2g}" if rep.opt_error_halfwidth else ""),
        ),
        ("cost if no singleton is fitted", f"{rep.cost_unfit_singletons:.6g}"),
        ("least frequency x n", f"{rep.least_frequency_times_n:.6g}"),
    ]
    if rep.tail_weight_bound is not None:
        rows.append(("tail-weight bound on tau_1 (x n)", f"{rep.tail_weight_bound * n:.6g}"))
    if rep.cost_memorization_limit is not None:
        what = (
            f"gamma = {rep.gamma:g}"
            if rep.gamma is not None
            else f"eps = {rep.epsilon:g}, delta = {rep.delta:g}"
        )
        rows.append((f"cost of the limit ({what})", f"{rep.cost_memorization_limit:.6g}"))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    return 0


def _run(args, argv: list[str]) -> int:
    import shlex

    from simulations.experiments import get, make_config
    from simulations.runner import run_experiment

    exp = get(args.experiment)
    placement = [f"{k}={v}" for k, v in (("backend", args.backend), ("ray_address", args.ray_address)) if v]
    if placement and "backend" not in {f.name for f in dataclasses.fields(exp.config)}:
        raise ValueError(f"--backend, --ray-address: experiment {exp.name} trains no models; drop them")
    # the flags first, so that a --set of the same field still wins (as with --data-dir)
    cfg = make_config(exp, quick=args.quick, overrides=placement + args.set, data_dir=args.data_dir)
    out = Path(args.out) / exp.name
    cmd = "tailmem " + shlex.join(argv)  # as given to main(), which a script may call itself
    doc, figures = run_experiment(exp, cfg, out, command=cmd, quick=args.quick)
    print(f"{exp.name}: wrote {out}/results.json and {len(figures)} figure(s) in {doc['wall_time_s']:.1f} s")
    return 0


def _redraw(args) -> int:
    from simulations.runner import redraw

    done = redraw(Path(args.folder))
    print(f"redrew {len(done)} experiment folder(s) in {args.folder}")
    return 0


def _reproduce(args) -> int:
    from simulations.runner import reproduce

    placement = [f"{k}={v}" for k, v in (("backend", args.backend), ("ray_address", args.ray_address)) if v]
    path = reproduce(Path(args.out), quick=args.quick, data_dir=args.data_dir, placement=placement)
    print(f"wrote {path}")
    return 0


def _list(args) -> int:
    import typing

    from simulations.config import field_help, set_syntax
    from simulations.experiments import get, names

    if not args.name:
        width = max(map(len, names()))
        for name in names():
            print(f"{name:<{width}}  {get(name).title}")
        print("\ntailmem list NAME shows an experiment's fields; tailmem run NAME --set FIELD=VALUE sets one")
        return 0
    exp = get(args.name)
    helps, hints = field_help(exp.config), typing.get_type_hints(exp.config)
    print(f"{exp.name}: {exp.title}\n")
    for f in dataclasses.fields(exp.config):
        quick = f"; quick: {exp.quick[f.name]!r}" if f.name in exp.quick else ""
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        print(f"  {f.name} = {default!r}  [{set_syntax(hints[f.name])}{quick}]")
        if helps.get(f.name):
            print(f"      {helps[f.name]}")
    return 0


def _benchmark(args) -> int:
    from simulations.benchmark import bound_benchmark, feldman_benchmark
    from theory._validate import check_int

    check_int("--N", args.N, low=1)
    check_int("--trials", args.trials, low=2)
    check_int("--models", args.models, low=8)
    check_int("--epochs", args.epochs, low=1)
    check_int("--batch-size", args.batch_size, low=1)
    check_int("--loo-n", args.loo_n, low=20, high=10**6)
    check_int("--ray-models", args.ray_models, low=2)
    check_int("--ray-tasks", args.ray_tasks, low=2, high=args.ray_models)
    check_int("--ray-epochs", args.ray_epochs, low=1)
    from simulations.training.engine import require_device

    require_device(args.device, name="--device")
    if args.which in ("all", "bound"):
        bound_benchmark(args.N)
    if args.which in ("all", "feldman"):
        feldman_benchmark(args.trials)
    if args.which in ("all", "training"):
        from simulations.training.bench import training_benchmark

        training_benchmark(
            args.models, args.epochs, batch_size=args.batch_size, device=args.device,
            reference_models=8, vmap_models=min(64, args.models), repeats=3,
        )  # fmt: skip
    if args.which in ("all", "loo"):
        import numpy as np

        from simulations.gaussian import loo_benchmark

        loo_benchmark(args.loo_n, rng=np.random.default_rng(0))
    if args.which in ("all", "composition"):
        from simulations.composition.bench import composition_benchmark

        composition_benchmark(12, arch="sum", items=2000, epochs=1, repeats=3)
    if args.which == "contention":
        from simulations.contention import contention_benchmark

        contention_benchmark(args.busy)
    if args.which == "gpu":
        from simulations.gpu_bench import gpu_benchmark

        if not args.out:
            raise ValueError("--out: benchmark gpu needs a folder for gpu.json and gpu.md")
        gpu_benchmark(args.out, data_dir=args.data_dir or os.environ.get("TAILMEM_DATA", ""))
    if args.which == "ray":
        from simulations.backends.bench import ray_benchmark

        ray_benchmark(args.ray_models, args.ray_tasks, epochs=args.ray_epochs)
    return 0


def _claims(args) -> int:
    """``tailmem claims``: the table, or live checks (exit 1 when a live status differs from the
    recorded one, or a user's instance fails the claim)."""
    from simulations import claims as reg

    if (args.prior is None) != (args.n is None):
        raise ValueError("--prior and --n go together (with --check ID)")
    if args.results is not None and args.check is None:
        raise ValueError("--results: only with --check")
    if args.prior is not None:
        if args.check in (None, "all"):
            raise ValueError("--prior: give the claim to check, --check ID")
        out = reg.check_instance(args.check, args.prior, args.n, args.classes, args.variant)
        if args.json:
            print(json.dumps(out, indent=2))
        else:
            print(f"{out['claim']}: {out['statement']}\n  on {out['instance']}: {out['result']}")
            for key in ("why", "lhs", "rhs", "detail"):
                if out.get(key):
                    print(f"  {key}: {out[key]}")
        return 1 if out["result"] == "fails" else 0
    if args.check is None:
        if args.json:
            print(json.dumps([reg.claim_record(c) for c in reg.REGISTRY], indent=2))
        else:
            print(
                reg.claims_markdown() if args.markdown else reg.claims_table(),
                end="" if args.markdown else "\n",
            )
        return 0
    results = reg.read_results(args.results) if args.results is not None else None
    chosen = None if args.check == "all" else [reg.get_claim(args.check)]

    def show(row):
        if not args.json:
            if row["live"] == row["recorded"]:
                mark = "ok"
            elif row["agrees"]:
                mark = f"(recorded {row['recorded']}: not resolved here)"
            else:
                mark = f"CONTRADICTS the recorded {row['recorded']}"
            print(f"{row['id']:<38} {row['live']:<9} {mark}  {row['evidence']}", flush=True)

    rows = reg.check_all(results, claims=chosen, progress=show)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        differ = ", ".join(r["id"] for r in rows if not r["agrees"]) or "none"
        print(f"{len(rows)} claims checked; contradicting the recorded status: {differ}")
    return 0 if all(r["agrees"] for r in rows) else 1


def _out_of_memory(exc: RuntimeError) -> bool:
    """Whether torch's allocators (CPU, CUDA, cuBLAS, cuDNN) raised ``exc`` for want of memory."""
    text = str(exc)
    return (
        type(exc).__name__ == "OutOfMemoryError"
        or "can't allocate memory" in text
        or "ALLOC_FAILED" in text
        or "out of memory" in text.lower()
    )


def _call(handler, args) -> int:
    """``handler(args)`` under the thread policy (``--threads``, $TAILMEM_THREADS, else 1);
    on any exception the open progress bars are erased first, so that the error or interrupt
    line starts on a line of its own."""
    from simulations.threads import requested_threads, set_request, use_threads

    n, source = requested_threads(getattr(args, "threads", None))
    set_request(n, source)
    try:
        with use_threads(n):
            return handler(args)
    except BaseException:
        from simulations.results import close_progress_bars

        close_progress_bars()
        raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tailmem`` command; returns the exit status (130 after Ctrl-C)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    handlers = {
        "bound": _bound,
        "run": lambda a: _run(a, argv),
        "reproduce": _reproduce,
        "redraw": _redraw,
        "list": _list,
        "benchmark": _benchmark,
        "claims": _claims,
    }
    lower = "lower the sizes (tailmem list shows them; for trained models models_per_batch or batch_size)"
    try:
        return _call(handlers[args.command], args)
    except BrokenPipeError:  # the reader went away (tailmem ... | head): not an error of ours
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so that the exit flush cannot fail
        return 0
    except (ValueError, ArithmeticError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"tailmem: error: {msg}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"tailmem: error: out of memory; {lower}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        if not _out_of_memory(exc):
            raise
        first = str(exc).splitlines()[0][:100] if str(exc) else type(exc).__name__
        print(f"tailmem: error: out of memory ({first}); {lower}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resume = "; run the same command again to resume" if args.command in ("run", "reproduce") else ""
        print(f"tailmem: interrupted{resume}", file=sys.stderr)
        return 130


def console() -> None:
    """The ``tailmem`` executable: :func:`main`, then exit with its status, or die by SIGINT after Ctrl-C."""
    code = main()
    if code == 130:
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    sys.exit(code)


if __name__ == "__main__":
    console()
