"""The claims registry: each claim recomputes one statement of the paper and gives a verdict.

A claim is a plain function ``compute(ctx) -> Result`` registered with its paper equations and
the verdict recorded as expected. Verdicts:

* ``holds``            |measured - expected| ≤ tolerance, with the paper's equation as printed;
* ``holds-corrected``  the same, for the form ``docs/conventions.md`` corrects;
* ``fails``            outside the tolerance.

``nnworld reproduce`` exits non-zero when a verdict differs from ``expected_verdict``; the tests
and notebooks call the same functions.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

VERDICTS = ("holds", "holds-corrected", "fails")


@dataclasses.dataclass(frozen=True)
class Context:
    """What a claim may vary: ``quick`` shrinks grids, samples and training runs."""

    quick: bool = False
    seed: int = 0


@dataclasses.dataclass
class Result:
    measured: float
    expected: float
    tolerance: float
    corrected: bool = False  # compares the reference-corrected form
    note: str = ""
    figure: Any = None  # a matplotlib Figure, saved by the runner
    details: dict = dataclasses.field(default_factory=dict)

    def verdict(self) -> str:
        ok = math.isfinite(self.measured) and abs(self.measured - self.expected) <= self.tolerance
        if not ok:
            return "fails"
        return "holds-corrected" if self.corrected else "holds"


@dataclasses.dataclass(frozen=True)
class Claim:
    id: str
    section: str  # paper section number, e.g. "3"
    equations: tuple[str, ...]
    statement: str
    expected_verdict: str
    compute: Callable[[Context], Result]


REGISTRY: dict[str, Claim] = {}


def claim(id: str, *, section: str, equations: tuple[str, ...], statement: str, expected_verdict: str):
    """Decorator registering ``compute(ctx) -> Result`` as a claim."""
    if expected_verdict not in VERDICTS:
        raise ValueError(f"expected_verdict must be one of {VERDICTS}")

    def register(fn: Callable[[Context], Result]) -> Callable[[Context], Result]:
        if id in REGISTRY:
            raise ValueError(f"claim {id!r} registered twice")
        REGISTRY[id] = Claim(id, section, tuple(equations), statement, expected_verdict, fn)
        return fn

    return register


def select(only: str | None = None) -> list[Claim]:
    """Claims of one paper section (``"3"`` or ``"§3"``), one claim id or id prefix, or all."""
    # In paper order (stable within a section: registration order).
    claims = sorted(REGISTRY.values(), key=lambda c: (len(c.section), c.section))
    if not only:
        return claims
    key = only.lstrip("§")
    chosen = [c for c in claims if c.section == key or c.id == only or c.id.startswith(only + ".")]
    if not chosen:
        sections = sorted({c.section for c in claims}, key=lambda s: (len(s), s))
        raise ValueError(f"no claim matches {only!r}; sections: {', '.join(sections)}")
    return chosen


def evaluate(c: Claim, ctx: Context) -> tuple[dict, Any]:
    """Run one claim; returns its JSON record and its figure (or None)."""
    res = c.compute(ctx)
    record = {
        "id": c.id,
        "section": c.section,
        "equations": list(c.equations),
        "statement": c.statement,
        "measured": float(res.measured),
        "expected": float(res.expected),
        "tolerance": float(res.tolerance),
        "verdict": res.verdict(),
        "expected_verdict": c.expected_verdict,
        "note": res.note,
        "details": {k: _jsonable(v) for k, v in res.details.items()},
    }
    return record, res.figure


def _jsonable(v):
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)
