"""The README's two commands are what a newcomer runs; CI must run the same test command, and the
README's API tour must run as written."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_block(heading: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"{heading}.*?```(?:bash|python)\n(.*?)```", text, re.S)
    assert match, f"README has no code block after {heading!r}"
    return match.group(1)


def test_ci_runs_the_readme_test_command():
    ci_lines = [ln for ln in (ROOT / ".ci/run").read_text().splitlines() if ln and not ln.startswith("#")]
    readme_test = _readme_block("Run the tests").strip().splitlines()[-1]
    assert readme_test in ci_lines


def test_readme_api_tour_runs(capsys):
    code = _readme_block("API tour")
    assert len(code.strip().splitlines()) <= 25
    exec(compile(code, "README.md", "exec"), {})
    assert "F =" in capsys.readouterr().out


def test_readme_mechanics_tour_runs(capsys):
    code = _readme_block("Entropic mechanics")
    scope = {}
    exec(compile(code, "README.md", "exec"), scope)
    # the printed constants are SPEC §3's, and Ψ carries the density: |Ψ|² = p
    assert "EffectiveConstants" in capsys.readouterr().out
    import numpy as np

    np.testing.assert_allclose(abs(scope["psi"]) ** 2, scope["p"], rtol=1e-12)
