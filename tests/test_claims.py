"""`nnworld reproduce`: every registered claim gives its recorded verdict; the CLI writes the report."""

import json

import pytest

from nnworld_jax import claims
from nnworld_jax.cli import main

SLOW = {"partition.gaussian-error-tanh", "learning.second-law", "learning.first-law",
        "entropic.action-minimization", "hamilton_jacobi.eq47-affine", "curvature.bianchi",
        "curvature.flrw-friedmann", "gravity.einstein-equations", "gravity.eq91-corrected",
        "gravity.gamma-gamma-identity", "holography.entropy-production",
        "reduced_gravity.schwarzschild", "reduced_gravity.flrw-dust"}


@pytest.mark.parametrize(
    "claim_id", [pytest.param(c, marks=pytest.mark.slow) if c in SLOW else c for c in claims.REGISTRY]
)
def test_claim_gives_its_recorded_verdict(claim_id):
    c = claims.REGISTRY[claim_id]
    record, _ = claims.evaluate(c, claims.Context(quick=True))
    assert record["verdict"] == c.expected_verdict, record
    assert record["equations"] and all(e.startswith("(") for e in record["equations"])


def test_verdict_logic():
    assert claims.Result(1.0, 1.0, 0.1).verdict() == "holds"
    assert claims.Result(1.05, 1.0, 0.1, corrected=True).verdict() == "holds-corrected"
    assert claims.Result(1.2, 1.0, 0.1).verdict() == "fails"
    assert claims.Result(float("nan"), 1.0, 0.1).verdict() == "error"


def test_select_by_section_and_id():
    assert {c.section for c in claims.select("§6")} == {"6"}
    assert [c.id for c in claims.select("thermo.virial")] == ["thermo.virial"]
    with pytest.raises(ValueError, match="no claim matches"):
        claims.select("99")


def test_cli_writes_report_atomically(tmp_path, capsys):
    out = tmp_path / "report"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier run")
    assert main(["reproduce", "--quick", "--only", "6", "--out", str(out)]) == 0
    data = json.loads((out / "claims.json").read_text())
    keys = {"id", "section", "equations", "measured", "expected", "tolerance", "verdict", "expected_verdict"}
    assert data["claims"] and all(keys <= set(r) for r in data["claims"])
    assert {r["section"] for r in data["claims"]} == {"6"}
    assert "| thermo.virial |" in (out / "summary.md").read_text()
    assert not (out / "stale.txt").exists()  # replaced whole, not merged
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report-")]  # no temp left
    assert "thermo.eigen-form" in capsys.readouterr().out


def test_cli_exits_nonzero_on_a_verdict_mismatch(tmp_path, monkeypatch):
    c = claims.REGISTRY["thermo.virial"]
    monkeypatch.setitem(claims.REGISTRY, c.id, claims.Claim(c.id, c.section, c.equations, c.statement, "fails", c.compute))
    assert main(["reproduce", "--quick", "--only", "thermo.virial", "--out", str(tmp_path / "r")]) == 1
    assert main(["reproduce", "--only", "nonexistent", "--out", str(tmp_path / "r")]) == 2

