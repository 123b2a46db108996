"""The claims registry: each claim recomputes one statement of the paper and gives a verdict.

A claim is a plain function ``compute(ctx) -> Result`` registered with its paper equations and
the verdict recorded as expected. Every verdict can come out otherwise (``tests/test_claims.py``
perturbs each claim's measurement and requires its verdict to change):

* ``holds``            |measured - expected| ≤ tolerance, the paper's equation as printed;
* ``holds-corrected``  the same, for the form ``docs/conventions.md`` corrects;
* ``fails``            the paper's printed form, measured, lands on the value the corrected theory
                       *predicts* for it (``Result.predicted``) and not on what the paper states
                       (``expected``). A ``fails`` claim must give a prediction: a broken computation
                       then reads ``unexplained``, never ``fails``;
* ``measured``         a quantity the paper only conjectures or that is reported along training:
                       the value with its ``uncertainty``, checked only against the band
                       ``expected ± tolerance`` that an independent estimate or a physical bound gives;
* ``unexplained``      (never expected) outside every band the claim states;
* ``error``            (never expected) a non-finite measurement or an exception.

``nnworld reproduce`` exits 1 when a verdict differs from ``expected_verdict`` and 3 when any claim
gives ``error``; the tests and notebooks call the same functions.

Precision: ``nnworld reproduce --precision float32`` runs every claim in float32 except those
registered with ``needs_float64="why"``, which run inside ``jax.enable_x64`` and are reported as
such. A tolerance that depends on the dtype is written ``tol(float64=..., float32=...)`` with the
reason beside it; ``tol`` reads the precision the claim is running in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax

__all__ = ["OUTCOMES", "REGISTRY", "VERDICTS", "Claim", "Context", "Result", "claim", "evaluate", "judge", "result_of",
           "running_float64", "select", "tol"]

VERDICTS = ("holds", "holds-corrected", "fails", "measured")  # what a claim may expect
OUTCOMES = VERDICTS + ("unexplained", "error")  # what a claim may give


@dataclasses.dataclass(frozen=True)
class Context:
    """What a claim may vary: ``quick`` shrinks grids, samples and training runs."""

    quick: bool = False
    seed: int = 0
    precision: str = "float64"  # the run's precision; a needs_float64 claim runs in float64 anyway


def running_float64() -> bool:
    """Whether the claim now running computes in float64 (x64 enabled)."""
    return bool(jax.config.jax_enable_x64)


def tol(*, float64: float, float32: float) -> float:
    """The tolerance for the precision the claim runs in; write the reason for each beside the call."""
    return float64 if running_float64() else float32


@dataclasses.dataclass
class Result:
    measured: float
    expected: float
    tolerance: float
    corrected: bool = False  # compares the form docs/conventions.md corrects
    note: str = ""
    figure: Any = None  # a matplotlib Figure, saved by the runner
    details: dict = dataclasses.field(default_factory=dict)
    predicted: float | None = None  # the corrected theory's value for a printed form that fails
    uncertainty: float | None = None  # statistical error of a ``measured`` quantity
    kind: str = "check"  # "check" (holds / fails) or "measured"

    def verdict(self) -> str:
        values = [self.measured, self.expected, self.tolerance]
        values += [v for v in (self.predicted, self.uncertainty) if v is not None]
        if not all(math.isfinite(float(v)) for v in values) or self.tolerance < 0:
            return "error"
        near_expected = abs(self.measured - self.expected) <= self.tolerance
        if self.kind == "measured":
            return "measured" if near_expected else "unexplained"
        if self.predicted is not None:
            near_predicted = abs(self.measured - self.predicted) <= self.tolerance
            if near_predicted == near_expected:  # both (cannot tell them apart) or neither
                return "unexplained"
            if near_predicted:
                return "fails"
        if near_expected:
            return "holds-corrected" if self.corrected else "holds"
        return "unexplained" if self.predicted is not None else "fails"


@dataclasses.dataclass(frozen=True)
class Claim:
    id: str
    section: str  # paper section number, e.g. "3"
    equations: tuple[str, ...]
    statement: str
    expected_verdict: str
    compute: Callable[[Context], Result]
    needs_float64: str = ""  # why the claim cannot run in float32 ("" if it can)


REGISTRY: dict[str, Claim] = {}


def claim(id: str, *, section: str, equations: tuple[str, ...], statement: str, expected_verdict: str,
          needs_float64: str = ""):
    """Decorator registering ``compute(ctx) -> Result`` as a claim.

    ``needs_float64``: the reason the claim must compute in float64 (it then does so even under
    ``--precision float32``, and the report says so); empty when float32 suffices.
    """
    if expected_verdict not in VERDICTS:
        raise ValueError(f"expected_verdict must be one of {VERDICTS}")

    def register(fn: Callable[[Context], Result]) -> Callable[[Context], Result]:
        if id in REGISTRY:
            raise ValueError(f"claim {id!r} registered twice")
        REGISTRY[id] = Claim(id, section, tuple(equations), statement, expected_verdict, fn, needs_float64)
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
    """Run one claim; returns its JSON record and its figure (or None).

    An exception inside the claim, or a ``fails``/``measured`` claim that does not state what makes
    its verdict checkable (a prediction, an uncertainty), gives the verdict ``error``.
    """
    float64 = running_float64() or bool(c.needs_float64)
    try:
        with jax.enable_x64(True) if float64 and not running_float64() else contextlib.nullcontext():
            res = c.compute(ctx)
    except Exception as e:  # noqa: BLE001 - reported as the claim's verdict, never swallowed silently
        res = Result(math.nan, math.nan, math.nan, note=f"exception: {type(e).__name__}: {e}")
    verdict, res.note = judge(c, res)
    record = {
        "id": c.id,
        "section": c.section,
        "equations": list(c.equations),
        "statement": c.statement,
        "measured": float(res.measured),
        "expected": float(res.expected),
        "tolerance": float(res.tolerance),
        "predicted": None if res.predicted is None else float(res.predicted),
        "uncertainty": None if res.uncertainty is None else float(res.uncertainty),
        "corrected": bool(res.corrected),
        "kind": res.kind,
        "verdict": verdict,
        "precision": "float64" if float64 else "float32",
        "needs_float64": c.needs_float64,
        "expected_verdict": c.expected_verdict,
        "note": res.note,
        "details": {k: _jsonable(v) for k, v in res.details.items()},
    }
    return record, res.figure


def judge(c: Claim, res: Result) -> tuple[str, str]:
    """The verdict of ``res`` for claim ``c`` and its note: ``Result.verdict``, except that a claim
    expected to ``fail`` without a prediction, or expected ``measured`` without an uncertainty,
    gives ``error`` (its verdict could not come out otherwise)."""
    if c.expected_verdict == "fails" and res.predicted is None:
        return "error", f"a 'fails' claim must state the corrected theory's prediction; {res.note}"
    if c.expected_verdict == "measured" and (res.kind != "measured" or res.uncertainty is None):
        return "error", f"a 'measured' claim must state its uncertainty; {res.note}"
    return res.verdict(), res.note


def result_of(record: dict) -> Result:
    """The :class:`Result` a JSON record was made from (without figure and details)."""
    return Result(record["measured"], record["expected"], record["tolerance"], corrected=record["corrected"],
                  note=record["note"], predicted=record["predicted"], uncertainty=record["uncertainty"],
                  kind=record.get("kind", "check"))


def _jsonable(v):
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)
