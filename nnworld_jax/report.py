"""The pages of an ``nnworld reproduce`` report: ``summary.md`` and a self-contained ``index.html``.

Both are built from the claim records of :func:`nnworld_jax.claims.evaluate` (the rows of
``claims.json``), grouped by paper section. The HTML page embeds every figure as a base64 PNG and
its styles inline, so it opens from disk with no network; it links the copy of
``docs/conventions.md`` that the runner puts beside it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable
from pathlib import Path

__all__ = ["figure_name", "why", "counts", "summary_markdown", "render_html", "SECTION_TITLES", "CONVENTIONS"]

SECTION_TITLES = {
    "2": "Neural networks", "3": "Thermodynamics of learning", "4": "Entropic mechanics",
    "5": "Quantum mechanics", "6": "Hamiltonian mechanics", "7": "Hidden variables",
    "8": "Relativistic strings", "9": "Emergent gravity", "10": "Holography",
}
CONVENTIONS = "conventions.md"  # the runner copies docs/conventions.md here, beside the pages

_BADGE_COLORS = {"holds": "#1a7f37", "holds-corrected": "#2f6fb0", "fails": "#b35900", "measured": "#6f42c1",
                 "unexplained": "#cf222e", "error": "#cf222e"}


def figure_name(claim_id: str) -> str:
    """File name of a claim's figure inside the report directory."""
    return f"{claim_id}.png"


def why(record: dict) -> str:
    """One or two sentences on why a claim reads as it does (empty for a plain ``holds``)."""
    r, v = record, record["verdict"]
    if v == "fails" and r["predicted"] is None:  # a 'holds' claim outside its tolerance
        return (f"Measured {r['measured']:.6g} against the paper's {r['expected']:.6g}: outside the tolerance "
                f"{r['tolerance']:.1e}, and the claim states no prediction that explains it. {r['note']}.")
    if v == "fails":
        return (f"The paper's printed form measures {r['measured']:.6g}: the value the corrected theory "
                f"predicts ({r['predicted']:.6g}), not the paper's {r['expected']:.6g} "
                f"(tolerance {r['tolerance']:.1e}). {r['note']}.")
    if v == "holds-corrected":
        return (f"Holds only in the form docs/conventions.md corrects: measured {r['measured']:.6g} against "
                f"{r['expected']:.6g} within {r['tolerance']:.1e}. {r['note']}.")
    if v == "measured":
        unc = r["uncertainty"]
        return (f"The paper conjectures this (or it is a quantity along training), so it is reported as measured: "
                f"{r['measured']:.6g} ± {unc:.2g}, inside the band {r['expected']:.6g} ± {r['tolerance']:.2g} "
                f"that an independent estimate gives. {r['note']}.")
    if v == "unexplained":
        return (f"Outside every band the claim states: measured {r['measured']:.6g}, expected "
                f"{r['expected']:.6g}" + ("" if r["predicted"] is None else f", predicted {r['predicted']:.6g}")
                + f" (tolerance {r['tolerance']:.1e}). {r['note']}.")
    if v == "error":
        return f"The computation gave no finite result. {r['note']}."
    return ""


def _by_section(records: Iterable[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(r["section"], []).append(r)
    return dict(sorted(out.items(), key=lambda kv: (len(kv[0]), kv[0])))


def counts(records: list[dict]) -> dict[str, int]:
    """How many claims gave each verdict, and how many differ from the recorded one."""
    c: dict[str, int] = {}
    for r in records:
        c[r["verdict"]] = c.get(r["verdict"], 0) + 1
    c["mismatch"] = sum(r["verdict"] != r["expected_verdict"] for r in records)
    return c


def _mode(r: dict) -> str:
    mode = "quick" if r.get("quick") else "full"
    precision = r.get("precision", "float64")
    if r.get("needs_float64") and r.get("run_precision") == "float32":
        precision += " (needs float64: " + r["needs_float64"] + ")"
    return f"{mode}, {precision}"


def summary_markdown(records: list[dict], meta: dict) -> str:
    """``summary.md``: counts, then one section per paper section with a table, notes and figures."""
    c = counts(records)
    lines = [
        "# nnworld reproduce: claims of 'The world as a neural network' (arXiv:2008.01540)",
        "",
        f"{len(records)} claims; " + ", ".join(f"{k}: {n}" for k, n in c.items() if k != "mismatch")
        + f"; differing from the recorded verdict: {c['mismatch']}. Last run: {meta['elapsed']:.1f} s, "
        f"{'quick' if meta['quick'] else 'full'} mode, {meta['precision']}.",
        "",
        "Verdicts: `holds` (the printed equation), `holds-corrected` (the form the conventions correct), "
        "`fails` (the printed form lands on the corrected theory's prediction, not on the paper's value), "
        f"`measured` (a conjecture, reported with its uncertainty). Conventions: [{CONVENTIONS}]({CONVENTIONS}) "
        "(docs/conventions.md of the repository). The same report as a page: [index.html](index.html).",
    ]
    for section, rows in _by_section(records).items():
        lines += ["", f"## §{section} {SECTION_TITLES.get(section, '')}".rstrip(), "",
                  "| claim | eqs | measured | expected | predicted | tol | verdict | recorded |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            flag = "" if r["verdict"] == r["expected_verdict"] else " **MISMATCH**"
            pred = "" if r["predicted"] is None else f"{r['predicted']:.6g}"
            lines.append(f"| {r['id']} | {' '.join(r['equations'])} | {r['measured']:.6g} | {r['expected']:.6g} | "
                         f"{pred} | {r['tolerance']:.1e} | {r['verdict']}{flag} | {r['expected_verdict']} |")
        lines.append("")
        for r in rows:
            text = why(r) or f"{r['note']}."
            lines.append(f"- **{r['id']}** ({_mode(r)}): {r['statement']} {text}")
            if r.get("figure"):
                lines.append(f"  ![{r['id']}]({r['figure']})")
    return "\n".join(lines) + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;
color:#1f2328;line-height:1.45}
h1{font-size:1.5rem}h2{border-bottom:1px solid #d0d7de;padding-bottom:.3rem;margin-top:2.5rem}
.counts span{display:inline-block;margin:0 .6rem .4rem 0}
.badge{display:inline-block;padding:.1rem .55rem;border-radius:1rem;color:#fff;font-size:.8rem;font-weight:600}
.claim{border:1px solid #d0d7de;border-radius:.5rem;padding:.8rem 1rem;margin:1rem 0}
.claim h3{margin:.1rem 0 .4rem;font-size:1.05rem;font-family:ui-monospace,monospace}
.mismatch{border-color:#cf222e;border-width:2px}
table.num{border-collapse:collapse;margin:.4rem 0}table.num td,table.num th{padding:.15rem .7rem;
border:1px solid #d0d7de;text-align:right;font-family:ui-monospace,monospace;font-size:.85rem}
.why{background:#f6f8fa;padding:.4rem .6rem;border-radius:.3rem}
.meta{color:#57606a;font-size:.85rem}img{max-width:100%;height:auto;display:block;margin-top:.5rem}
"""


def _badge(verdict: str) -> str:
    color = _BADGE_COLORS.get(verdict, "#57606a")
    return f'<span class="badge" style="background:{color}">{html.escape(verdict)}</span>'


def _claim_html(r: dict, figures_dir: Path | None) -> str:
    e = html.escape
    mismatch = r["verdict"] != r["expected_verdict"]
    rows = [("measured", r["measured"]), ("expected", r["expected"])]
    if r["predicted"] is not None:
        rows.append(("predicted", r["predicted"]))
    if r["uncertainty"] is not None:
        rows.append(("uncertainty", r["uncertainty"]))
    rows.append(("tolerance", r["tolerance"]))
    head = "".join(f"<th>{k}</th>" for k, _ in rows)
    cells = "".join(f"<td>{v:.6g}</td>" for _, v in rows)
    parts = [f'<div class="claim{" mismatch" if mismatch else ""}" id="{e(r["id"])}">',
             f'<h3>{e(r["id"])} {_badge(r["verdict"])}</h3>',
             f'<div class="meta">eqs. {e(" ".join(r["equations"]))} · recorded verdict {e(r["expected_verdict"])}'
             f'{" · <b>differs</b>" if mismatch else ""} · {e(_mode(r))} · {r.get("seconds", 0):.1f} s</div>',
             f"<p>{e(r['statement'])}</p>",
             f'<table class="num"><tr>{head}</tr><tr>{cells}</tr></table>']
    text = why(r)
    parts.append(f'<p class="why">{e(text)}</p>' if text else f'<p class="meta">{e(r["note"])}</p>')
    if r.get("figure") and figures_dir is not None:
        data = base64.b64encode((figures_dir / r["figure"]).read_bytes()).decode("ascii")
        parts.append(f'<img alt="figure of {e(r["id"])}" src="data:image/png;base64,{data}">')
    parts.append("</div>")
    return "\n".join(parts)


def render_html(records: list[dict], meta: dict, figures_dir: Path | None) -> str:
    """``index.html``: counts on top, then the claims by paper section, figures inline (base64)."""
    e = html.escape
    c = counts(records)
    count_html = "".join(f"<span>{_badge(k)} {n}</span>" for k, n in c.items() if k != "mismatch")
    sections = []
    for section, rows in _by_section(records).items():
        title = f"§{section} {SECTION_TITLES.get(section, '')}".rstrip()
        sections.append(f'<h2 id="s{e(section)}">{e(title)}</h2>\n' + "\n".join(_claim_html(r, figures_dir) for r in rows))
    nav = " · ".join(f'<a href="#s{e(s)}">§{e(s)}</a>' for s in _by_section(records))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nnworld reproduce: {len(records)} claims</title>
<style>{_CSS}</style></head><body>
<h1>The world as a neural network (arXiv:2008.01540): claims recomputed</h1>
<p class="counts" id="counts">{len(records)} claims: {count_html}
<span><b>{c['mismatch']}</b> differ from the recorded verdict</span></p>
<p class="meta">Last run {meta['elapsed']:.1f} s, {'quick' if meta['quick'] else 'full'} mode, {e(meta['precision'])}.
Signs, units and the corrections to the paper: <a href="{CONVENTIONS}">conventions</a> (docs/conventions.md,
cited as §N). Sections: {nav}</p>
<p class="meta">holds: the printed equation; holds-corrected: the corrected form; fails: the printed form
lands on the corrected theory's prediction and not on the paper's value; measured: a conjecture or a
quantity along training, with its uncertainty.</p>
{chr(10).join(sections)}
</body></html>
"""
