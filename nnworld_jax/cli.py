"""``nnworld``: the command line. ``nnworld reproduce`` recomputes the paper's claims.

    nnworld reproduce [--quick] [--only SECTION|CLAIM] [--out DIR] [--precision float64|float32]
                      [--compile-cache DIR|off] [--jobs N]
    nnworld list [--only SECTION|CLAIM]
    nnworld batch CONFIG.toml --out DIR [--quick]
    nnworld --version

``nnworld batch`` runs a named experiment of :mod:`nnworld_jax.experiments` in chunks written
atomically under DIR, with a manifest; rerunning it after a kill resumes from the finished chunks.

The report directory holds ``claims.json`` (``{"claims": [...]}``), ``summary.md``, a self-contained
``index.html``, ``conventions.md`` and one PNG per claim with a figure, plus a marker file
(``.nnworld-report.json``) listing what it wrote. The report is built in a temporary sibling and
renamed into place, so a killed run never leaves a half-written report. ``--out`` may name a new
path, an empty directory or an earlier report (whose files it replaces, and only those); anything
else is refused before a claim runs. ``--only`` refreshes those claims in an earlier report and
keeps the rest.

Exit status: 0 every verdict as recorded; 1 a verdict differs; 3 a claim gave ``error`` (a
non-finite result or an exception); 2 a usage error (bad arguments, a refused ``--out``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

__all__ = ["ReportTargetError", "reproduce", "list_claims", "batch", "main", "console_main", "MARKER",
           "EXIT_MISMATCH", "EXIT_USAGE", "EXIT_ERROR"]

MARKER = ".nnworld-report.json"  # written last into every report: which files nnworld wrote
EXIT_MISMATCH, EXIT_USAGE, EXIT_ERROR = 1, 2, 3
_CONVENTIONS = Path(__file__).resolve().parents[1] / "docs" / "conventions.md"


class ReportTargetError(ValueError):
    """``--out`` names something the report must not replace."""


def _earlier_report(out: Path) -> dict | None:
    """The marker of the report at ``out``, None if ``out`` is absent or an empty directory.

    Raises :class:`ReportTargetError` for anything nnworld did not write: a file, a link, a
    non-empty directory without a marker, or a report holding files its marker does not list.
    """
    if out.is_symlink():
        raise ReportTargetError(f"--out {out} is a symbolic link; name the directory itself")
    if not out.exists():
        return None
    if not out.is_dir():
        raise ReportTargetError(f"--out {out} exists and is not a directory; choose a directory path")
    entries = {p.name for p in out.iterdir()}
    if not entries:
        return None
    if MARKER not in entries:
        raise ReportTargetError(f"--out {out} is a non-empty directory that is not an nnworld report "
                                f"(no {MARKER}); choose a new or empty directory")
    try:
        marker = json.loads((out / MARKER).read_text())
        written = set(marker["files"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ReportTargetError(f"--out {out}: unreadable report marker {MARKER} ({e})") from None
    foreign = sorted(entries - written - {MARKER})
    if foreign:
        raise ReportTargetError(f"--out {out} is an nnworld report holding files it did not write "
                                f"({', '.join(foreign[:5])}); move them away or choose another --out")
    return marker


def _check_out(out: Path) -> dict | None:
    """Validate ``--out`` before any claim runs; returns the earlier report's marker (or None)."""
    cwd = Path.cwd().resolve()
    resolved = out.resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise ReportTargetError(f"--out {out} is the working directory or one of its parents; "
                                "name a report directory inside it, e.g. --out report")
    marker = _earlier_report(out.absolute())
    parent = resolved.parent
    if parent.exists() and not parent.is_dir():
        raise ReportTargetError(f"--out {out}: its parent {parent} is not a directory")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ReportTargetError(f"--out {out}: cannot write in {probe} (permission denied)")
    return marker


def _merge(old_records: list[dict], new_records: list[dict], order: list[str]) -> list[dict]:
    """The earlier report's records with ``new_records`` added or refreshed, in paper order (records
    of claims no longer registered, which nnworld wrote itself, are dropped)."""
    rank = {cid: i for i, cid in enumerate(order)}
    by_id = {r["id"]: r for r in old_records if r["id"] in rank}
    by_id.update({r["id"]: r for r in new_records})
    return sorted(by_id.values(), key=lambda r: rank[r["id"]])


def _write_report(out: Path, earlier: dict | None, new_records: list[dict], figures: dict, meta: dict,
                  order: list[str]) -> list[dict]:
    """Write the report (merging ``new_records`` into an earlier one) and swap it into place.

    Everything is written into a temporary sibling first; the earlier report, which holds only
    files its marker lists, is renamed aside, the new one renamed in, then the old one removed.
    Returns the records the report now holds.
    """
    from . import report

    out = out.absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    records = new_records
    if earlier is not None and (out / "claims.json").exists():
        records = _merge(json.loads((out / "claims.json").read_text())["claims"], new_records, order)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-tmp-", dir=out.parent))
    old = None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; a report is an ordinary directory
        fresh = {r["id"] for r in new_records}
        for r in records:
            name = report.figure_name(r["id"])
            if r["id"] in figures:
                (tmp / name).write_bytes(figures[r["id"]])  # PNG, rendered where the claim ran
                r["figure"] = name
            elif r["id"] not in fresh and r.get("figure") and (out / r["figure"]).is_file():
                shutil.copy2(out / r["figure"], tmp / r["figure"])  # kept from the earlier report
            else:
                r["figure"] = None
        (tmp / "claims.json").write_text(json.dumps({"claims": records}, indent=2))
        (tmp / "summary.md").write_text(report.summary_markdown(records, meta))
        (tmp / "index.html").write_text(report.render_html(records, meta, tmp))
        if _CONVENTIONS.is_file():
            shutil.copyfile(_CONVENTIONS, tmp / report.CONVENTIONS)
        files = sorted(p.name for p in tmp.iterdir())
        (tmp / MARKER).write_text(json.dumps({"tool": "nnworld reproduce", "files": files}, indent=1))
        _earlier_report(out)  # again, right before the swap: refuse files added meanwhile
        if out.exists():
            old = out.with_name(f".{out.name}-old-{os.getpid()}")
            os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            if old is not None:
                os.rename(old, out)
                old = None
            raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old)  # only what an earlier run wrote (checked against its marker)
    return records


def _progress_line(i: int, n: int, record: dict) -> str:
    flag = "" if record["verdict"] == record["expected_verdict"] else f"  (recorded: {record['expected_verdict']})"
    return f"[{i:>{len(str(n))}}/{n}] §{record['section']:<3} {record['id']:<42} {record['verdict']:<16}" \
           f"{record['seconds']:6.1f} s{flag}"


# The report compiles ~2,000 small XLA programs that run once each, so XLA:CPU's compile time is most of
# its wall time. Two XLA:CPU options cut it, each measured on an idle 2-core CPU with all 67 verdicts as
# recorded (float64 quick and full, float32 quick):
# * the elemental emitters compile fused loops faster than the fusion emitters (--quick 203 s -> 166 s);
# * LLVM at -O0 (--quick 164 s -> 122 s, the full run 262 s -> 195 s): the programs run once, so a
#   faster compile beats faster code. GPU compilers also read this option (their LLVM level), so it is
#   only added where no accelerator plugin is installed (the run is then on the CPU).
_FAST_COMPILE_FLAGS = {"xla_cpu_use_fusion_emitters": "false", "xla_backend_optimization_level": "0"}
_CPU_ONLY_OPTIONS = ("xla_backend_optimization_level",)


def _accelerator_plugin_installed() -> bool:
    """Whether JAX could start a GPU/TPU backend here: a PJRT plugin (``jax_plugins`` entry points or
    namespace, e.g. jax-cuda12-plugin) or libtpu is installed and ``JAX_PLATFORMS`` does not pin the CPU."""
    if os.environ.get("JAX_PLATFORMS", "").strip().lower() == "cpu":
        return False
    if list(importlib.metadata.entry_points(group="jax_plugins")):
        return True
    return any(importlib.util.find_spec(name) is not None for name in ("jax_plugins", "libtpu"))


def _prefer_fast_compile() -> list[str]:
    """Add the options of ``_FAST_COMPILE_FLAGS`` to ``XLA_FLAGS``, each unless the user's ``XLA_FLAGS``
    already sets it; the CPU-only ones only without an accelerator plugin; nothing once JAX has started a
    backend (its flags are read once, at start). Returns the flags added."""
    if "jax" in sys.modules:  # else no backend can have started
        from jax._src import xla_bridge

        if xla_bridge.backends_are_initialized():
            return []
    flags = os.environ.get("XLA_FLAGS", "")
    skip = _CPU_ONLY_OPTIONS if _accelerator_plugin_installed() else ()
    added = [f"--{k}={v}" for k, v in _FAST_COMPILE_FLAGS.items() if k not in flags and k not in skip]
    if added:
        os.environ["XLA_FLAGS"] = " ".join([flags, *added]).strip()
        # Which options are ours, not the user's: programs that run long (nnworld_jax.batch) compile
        # with XLA's default optimization instead (nnworld_jax._compile.optimized_options).
        from . import _compile  # (no JAX: the workers start later, and JAX reads the flags once)

        os.environ[_compile.ADDED_FLAGS_ENV] = " ".join(added)
    return added


def reproduce(args) -> int:
    """``nnworld reproduce``: run the selected claims, print one line per claim, write the report."""
    t0 = time.perf_counter()
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from . import _claim_runner as runner

    _prefer_fast_compile()  # before any worker starts: they inherit XLA_FLAGS
    # A pipe or CI log has no terminal width; 80 columns would fold the table unreadably.
    console = Console() if sys.stdout.isatty() else Console(width=150)

    def usage_error(message: str) -> int:
        console.print(f"[red]{escape(f'nnworld reproduce: {message}')}[/red]", highlight=False, soft_wrap=True)
        return EXIT_USAGE

    out = Path(args.out)
    try:
        earlier = _check_out(out)
    except ValueError as e:
        return usage_error(str(e))
    setting = args.compile_cache
    if setting is None and "jax" in sys.modules:
        # reproduce called from Python (a notebook, a script) that has loaded JAX: the default cache
        # would switch JAX's persistent cache on for the rest of the caller's session, and its log
        # level is fixed by now. Only the command (or an explicit --compile-cache) uses one.
        setting = "off"
    try:
        cache = runner.prepare_compile_cache(setting)
    except OSError as e:
        return usage_error(f"--compile-cache {args.compile_cache}: {e}")
    accelerator = _accelerator_plugin_installed()
    with contextlib.ExitStack() as stack:
        workers = None
        if args.only is None and (args.jobs or runner.auto_jobs(None, accelerator)) > 1:
            # The whole report: start the workers now (this process has not imported JAX yet), so
            # that their imports overlap this one's.
            workers = stack.enter_context(runner.Workers(args.jobs or runner.auto_jobs(None, accelerator),
                                                         args.precision, cache))
        from . import set_precision  # (imports JAX)

        runner.use_compile_cache(cache)  # before this process compiles anything
        set_precision(args.precision)
        from . import claims

        try:
            selected = claims.select(args.only)
        except ValueError as e:
            return usage_error(str(e))
        tasks = len(runner.groups(selected))
        jobs = min(args.jobs or runner.auto_jobs(tasks, accelerator), tasks)
        if jobs > 1 and not all(map(runner.importable, selected)):
            jobs = 1  # a claim registered at run time (the tests' fakes) exists only in this process
        if jobs == 1:
            workers = None
        elif workers is None:
            workers = stack.enter_context(runner.Workers(jobs, args.precision, cache))
        ctx = claims.Context(quick=args.quick, seed=args.seed, precision=args.precision)
        by_id, figures = {}, {}
        for i, (cid, record, png) in enumerate(runner.run_claims(selected, ctx, workers=workers), 1):
            record.update(quick=args.quick, run_precision=args.precision, seed=args.seed)
            by_id[cid] = record
            if png is not None:
                figures[cid] = png
            # One line per finished claim, flushed: progress shows in a pipe or a CI log too.
            print(_progress_line(i, len(selected), record), flush=True)
    records = [by_id[c.id] for c in selected]  # paper order, whichever worker finished first
    elapsed = time.perf_counter() - t0

    table = Table(title=f"nnworld reproduce ({elapsed:.1f} s, {args.precision}{', quick' if args.quick else ''})")
    for col in ("claim", "§", "eqs", "measured", "expected", "tol", "verdict", "recorded"):
        table.add_column(col)
    for r in records:
        style = "green" if r["verdict"] == r["expected_verdict"] else "bold red"
        table.add_row(r["id"], r["section"], " ".join(r["equations"]), f"{r['measured']:.4g}", f"{r['expected']:.4g}",
                      f"{r['tolerance']:.0e}", f"[{style}]{r['verdict']}[/{style}]", r["expected_verdict"])
    console.print(table)
    meta = {"elapsed": elapsed, "quick": args.quick, "precision": args.precision, "jobs": jobs}
    try:
        kept = _write_report(out, earlier, records, figures, meta, [c.id for c in claims.select()])
    except (ReportTargetError, OSError) as e:
        return usage_error(f"could not write the report: {e}")
    console.print(f"report written to {out.resolve()} ({len(kept)} claims; open index.html)", highlight=False, soft_wrap=True)
    errors = [r["id"] for r in records if r["verdict"] == "error"]
    mismatches = [r["id"] for r in records if r["verdict"] != r["expected_verdict"]]
    if errors:
        console.print(f"[bold red]{len(errors)} claim(s) gave no result: {', '.join(errors)}[/bold red]")
        return EXIT_ERROR
    if mismatches:
        console.print(f"[bold red]{len(mismatches)} claim(s) differ from their recorded verdict: "
                      f"{', '.join(mismatches)}[/bold red]")
        return EXIT_MISMATCH
    return 0


def list_claims(args) -> int:
    """``nnworld list``: the registered claims (id, section, equations, recorded verdict)."""
    from . import claims

    try:
        chosen = claims.select(args.only)
    except ValueError as e:
        print(f"nnworld list: {e}", file=sys.stderr)
        return EXIT_USAGE
    width = max(len(c.id) for c in chosen)
    eq_width = max(len(" ".join(c.equations)) for c in chosen)
    for c in chosen:
        print(f"§{c.section:>3}  {c.id:<{width}}  {' '.join(c.equations):<{eq_width}}  expected {c.expected_verdict}")
    return 0


def batch(args) -> int:
    """``nnworld batch``: run a named experiment from a config file, resumably."""
    from rich.console import Console
    from rich.markup import escape

    from . import set_precision
    from .batch import ResumeMismatchError
    from .experiments import load_config, resolve_params, run_experiment

    console = Console(stderr=True)
    try:
        config = load_config(args.config)
        _, params = resolve_params(config, quick=args.quick)
    except (OSError, RuntimeError, ValueError, TypeError) as e:
        console.print(f"[red]{escape(f'{args.config}: {e}')}[/red]", highlight=False, soft_wrap=True)
        return 2
    set_precision(params.get("precision", "float64"))
    t0 = time.perf_counter()
    try:
        summary = run_experiment(config, args.out, quick=args.quick, progress=not args.no_progress)
    except (ResumeMismatchError, OSError, ValueError, TypeError) as e:
        # a bad --out (a file, no permission), a busy or foreign run directory: the message is complete
        console.print(f"[red]{escape(f'nnworld batch: {e}')}[/red]", highlight=False, soft_wrap=True)
        return 2
    console.print(f"{summary['experiment']}: {summary['chunks_computed']} chunks computed, "
                  f"{summary['chunks_resumed']} resumed, {time.perf_counter() - t0:.1f} s; "
                  f"results in {Path(args.out).resolve()}")
    return 0


def _version_string() -> str:
    """``nnworld <version> (jax <version>, Python <version>)``, from the installed distributions'
    metadata (nothing is imported); a distribution that is not installed reads "not installed"."""

    def installed(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return f"nnworld {installed('nnworld_jax')} (jax {installed('jax')}, Python {platform.python_version()})"


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}")
    return n


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nnworld``; returns the exit status (argparse exits 2 on bad arguments)."""
    parser = argparse.ArgumentParser(prog="nnworld", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version_string())
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="recompute the paper's claims and write a report")
    rep.add_argument("--quick", action="store_true", help="smaller grids and runs: seconds, not minutes")
    rep.add_argument("--only", default=None, help="a paper section (e.g. 3 or §3) or a claim id")
    rep.add_argument("--out", default="report", help="report directory (default: ./report)")
    rep.add_argument("--precision", default="float64", choices=("float64", "float32"))
    rep.add_argument("--seed", type=int, default=0)
    rep.add_argument("--compile-cache", default=os.environ.get("NNWORLD_COMPILE_CACHE"), metavar="DIR|off",
                     help="keep compiled programs in DIR for the next run (JAX's persistent cache): default "
                          "$NNWORLD_COMPILE_CACHE, else ~/.cache/nnworld_jax/xla/<this CPU> (off when main() is "
                          "called from Python that has loaded JAX); 'off' for none")
    rep.add_argument("--jobs", type=_positive_int, default=None, metavar="N",
                     help="processes that compute claims in parallel, this one included (default: one per CPU, "
                          "at most 4; 1 where a GPU/TPU plugin is installed)")
    rep.set_defaults(func=reproduce)
    lst = sub.add_parser("list", help="list the registered claims")
    lst.add_argument("--only", default=None)
    lst.set_defaults(func=list_claims)
    bat = sub.add_parser("batch", help="run a named batch experiment from a config file (resumable)")
    bat.add_argument("config", help="experiment config (.toml, or .json)")
    bat.add_argument("--out", required=True, help="output directory (a killed run resumes from it)")
    bat.add_argument("--quick", action="store_true", help="apply the config's [quick] sizes: seconds")
    bat.add_argument("--no-progress", action="store_true", help="no progress bar")
    bat.set_defaults(func=batch)
    args = parser.parse_args(argv)
    return args.func(args)


def console_main() -> None:
    """The ``nnworld`` command: :func:`main`, then the process ends without the interpreter's
    teardown. By then the report is renamed into place, the workers are gone and their queues
    released, and the output is flushed; what teardown would still do is free this process's
    compiled programs one by one (~1.2 s after ``reproduce --quick``, measured). Python code calls
    :func:`main` and keeps the normal exit."""
    code = main()
    # The workers' queues are unreferenced by now but may sit in reference cycles: collected here,
    # their semaphores' finalizers unlink them (else multiprocessing's resource tracker would warn
    # of "leaked semaphore objects" once this process is gone).
    gc.collect()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``nnworld ... | head``): nothing more to show
            pass
    os._exit(code)


if __name__ == "__main__":
    console_main()
