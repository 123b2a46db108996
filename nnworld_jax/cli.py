"""``nnworld``: the command line. ``nnworld reproduce`` recomputes the paper's claims.

    nnworld reproduce [--quick] [--only SECTION|CLAIM] [--out DIR] [--precision float64|float32]
    nnworld list
    nnworld batch CONFIG.toml --out DIR [--quick]

``nnworld batch`` runs a named experiment of :mod:`nnworld_jax.experiments` in chunks written
atomically under DIR, with a manifest; rerunning it after a kill resumes from the finished chunks.

The report directory holds ``claims.json`` (``{"claims": [...]}``), ``summary.md`` and one PNG per
claim with a figure. It is written to a temporary sibling and renamed into place, so a killed run
never leaves a half-written report. Exit status 1 when a verdict differs from the recorded one.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def _summary_markdown(records: list[dict], elapsed: float, quick: bool) -> str:
    lines = [
        "# nnworld reproduce: claims of 'The world as a neural network' (arXiv:2008.01540)",
        "",
        f"{len(records)} claims, {elapsed:.1f} s{' (quick)' if quick else ''}. "
        "Verdicts: holds / holds-corrected (the form docs/conventions.md corrects) / fails.",
        "",
        "| id | § | eqs | measured | expected | tol | verdict | expected verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        flag = "" if r["verdict"] == r["expected_verdict"] else " **MISMATCH**"
        lines.append(f"| {r['id']} | {r['section']} | {' '.join(r['equations'])} | {r['measured']:.6g} | "
                     f"{r['expected']:.6g} | {r['tolerance']:.1e} | {r['verdict']}{flag} | {r['expected_verdict']} |")
    lines += ["", "## Notes", ""]
    lines += [f"- **{r['id']}**: {r['statement']} Measured: {r['note']}." for r in records]
    return "\n".join(lines) + "\n"


def _write_report_atomically(out: Path, records: list[dict], figures: dict, text: str) -> None:
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        with open(tmp / "claims.json", "w") as fh:
            json.dump({"claims": records}, fh, indent=2)
        (tmp / "summary.md").write_text(text)
        for cid, fig in figures.items():
            fig.savefig(tmp / f"{cid}.png", dpi=110)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}-old-{os.getpid()}")
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def reproduce(args) -> int:
    from . import set_precision

    set_precision(args.precision)
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from . import claims

    # A pipe or CI log has no terminal width; 80 columns would fold the table unreadably.
    console = Console() if sys.stdout.isatty() else Console(width=150)
    try:
        selected = claims.select(args.only)
    except ValueError as e:
        console.print(f"[red]{e}[/red]")
        return 2
    ctx = claims.Context(quick=args.quick, seed=args.seed)
    records, figures = [], {}
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("claims", total=len(selected))
        for c in selected:
            progress.update(task, description=f"§{c.section} {c.id}")
            t_claim = time.perf_counter()
            record, fig = claims.evaluate(c, ctx)
            record["seconds"] = round(time.perf_counter() - t_claim, 2)
            records.append(record)
            if fig is not None:
                figures[c.id] = fig
            progress.advance(task)
        progress.update(task, description="done")
    elapsed = time.perf_counter() - t0

    table = Table(title=f"nnworld reproduce ({elapsed:.1f} s)")
    for col in ("claim", "§", "eqs", "measured", "expected", "tol", "verdict", "expected"):
        table.add_column(col)
    mismatches = 0
    for r in records:
        ok = r["verdict"] == r["expected_verdict"]
        mismatches += not ok
        style = "green" if ok else "bold red"
        table.add_row(r["id"], r["section"], " ".join(r["equations"]), f"{r['measured']:.4g}", f"{r['expected']:.4g}",
                      f"{r['tolerance']:.0e}", f"[{style}]{r['verdict']}[/{style}]", r["expected_verdict"])
    console.print(table)
    _write_report_atomically(Path(args.out), records, figures, _summary_markdown(records, elapsed, args.quick))
    console.print(f"report written to {Path(args.out).resolve()}")
    if mismatches:
        console.print(f"[bold red]{mismatches} claim(s) differ from their recorded verdict[/bold red]")
        return 1
    return 0


def list_claims(args) -> int:
    from . import claims

    chosen = claims.select(args.only)
    width = max(len(c.id) for c in chosen)
    eq_width = max(len(" ".join(c.equations)) for c in chosen)
    for c in chosen:
        print(f"§{c.section:>3}  {c.id:<{width}}  {' '.join(c.equations):<{eq_width}}  expected {c.expected_verdict}")
    return 0


def batch(args) -> int:
    from rich.console import Console

    from . import set_precision
    from .batch import ResumeMismatchError
    from .experiments import load_config, resolve_params, run_experiment

    console = Console(stderr=True)
    try:
        config = load_config(args.config)
        _, params = resolve_params(config, quick=args.quick)
    except (OSError, RuntimeError, ValueError) as e:
        console.print(f"[red]{args.config}: {e}[/red]")
        return 2
    set_precision(params.get("precision", "float64"))
    t0 = time.perf_counter()
    try:
        summary = run_experiment(config, args.out, quick=args.quick, progress=not args.no_progress)
    except ResumeMismatchError as e:
        console.print(f"[red]{e}[/red]")
        return 2
    console.print(f"{summary['experiment']}: {summary['chunks_computed']} chunks computed, "
                  f"{summary['chunks_resumed']} resumed, {time.perf_counter() - t0:.1f} s; "
                  f"results in {Path(args.out).resolve()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nnworld", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("reproduce", help="recompute the paper's claims and write a report")
    rep.add_argument("--quick", action="store_true", help="smaller grids and runs: seconds, not minutes")
    rep.add_argument("--only", default=None, help="a paper section (e.g. 3 or §3) or a claim id")
    rep.add_argument("--out", default="report", help="report directory (default: ./report)")
    rep.add_argument("--precision", default="float64", choices=("float64", "float32"))
    rep.add_argument("--seed", type=int, default=0)
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


if __name__ == "__main__":
    sys.exit(main())
