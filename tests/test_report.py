"""The report of ``nnworld reproduce``: what ``--out`` may replace, ``--only`` merging, exit codes,
progress in a pipe, and the HTML page rendered by a real browser.

Most tests register three tiny claims (``fake.*``, milliseconds each, one with a figure) so the
report machinery is tested without computing physics; one test runs a real claim end to end.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from nnworld_jax import claims
from nnworld_jax.cli import MARKER, main


@pytest.fixture(autouse=True)
def _no_compile_cache(monkeypatch):
    # a user's $NNWORLD_COMPILE_CACHE, or the default one, would turn on JAX's persistent cache for
    # the whole test process (tests/conftest.py sets "off" too: this keeps it so under monkeypatching)
    monkeypatch.setenv("NNWORLD_COMPILE_CACHE", "off")


def _figure(y):
    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([0, 1, 2], [0, y, 2 * y])
    return fig


def _fake(cid, result_fn, expected="holds", section="99"):
    return claims.Claim(cid, section, ("(1)",), f"statement of {cid}", expected, lambda ctx: result_fn())


@pytest.fixture
def fake(monkeypatch):
    """Register fake.a (holds, with a figure), fake.b (fails with a prediction), fake.c (holds);
    ``fake.set(cid, fn, expected)`` swaps one."""
    entries = {
        "fake.a": _fake("fake.a", lambda: claims.Result(1.0, 1.0, 0.1, figure=_figure(1.0), note="a")),
        "fake.b": _fake("fake.b", lambda: claims.Result(2.0, 1.0, 0.1, predicted=2.0, note="b"), "fails", "98"),
        "fake.c": _fake("fake.c", lambda: claims.Result(0.0, 0.0, 0.1, corrected=True, note="c"), "holds-corrected"),
    }
    for cid, c in entries.items():
        monkeypatch.setitem(claims.REGISTRY, cid, c)

    class Fake:
        @staticmethod
        def set(cid, fn, expected="holds"):
            monkeypatch.setitem(claims.REGISTRY, cid, _fake(cid, fn, expected, claims.REGISTRY[cid].section))

    return Fake


def _listing(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if re.match(r"\..*-(tmp|old)-", p.name)]


def test_report_files_permissions_and_marker(tmp_path, fake):
    out = tmp_path / "report"
    assert main(["reproduce", "--only", "fake", "--out", str(out)]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"claims.json", "summary.md", "index.html", "fake.a.png", MARKER} <= names
    assert "conventions.md" in names  # the page links it; it must travel with the report
    marker = json.loads((out / MARKER).read_text())
    assert set(marker["files"]) == names - {MARKER}
    # an ordinary directory (issue #11: it was 0700), readable by others as the umask allows
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    summary = (out / "summary.md").read_text()
    assert "## §98" in summary and "## §99" in summary and "![fake.a](fake.a.png)" in summary
    assert "(conventions.md)" in summary and "/shared" not in summary
    assert not _leftovers(tmp_path)


def test_only_refreshes_claims_and_keeps_the_rest(tmp_path, fake):
    out = tmp_path / "r"
    assert main(["reproduce", "--only", "fake", "--out", str(out)]) == 0
    png = (out / "fake.a.png").read_bytes()
    fake.set("fake.c", lambda: claims.Result(0.05, 0.0, 0.1, corrected=True, note="refreshed"), "holds-corrected")
    assert main(["reproduce", "--only", "fake.c", "--out", str(out)]) == 0
    records = {r["id"]: r for r in json.loads((out / "claims.json").read_text())["claims"]}
    assert set(records) == {"fake.a", "fake.b", "fake.c"}  # nothing deleted
    assert records["fake.c"]["measured"] == 0.05 and records["fake.c"]["note"] == "refreshed"
    assert records["fake.a"]["note"] == "a" and (out / "fake.a.png").read_bytes() == png  # kept as it was
    html = (out / "index.html").read_text()
    assert all(f'id="{cid}"' in html for cid in records)
    assert not _leftovers(tmp_path)


def test_refuses_what_it_did_not_write(tmp_path, fake, monkeypatch):
    """A file, a non-report directory, '.', a report with a user's file: exit 2, untouched, nothing hidden."""
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.csv").write_text("1,2")
    before = _listing(tmp_path)
    monkeypatch.chdir(tmp_path)
    for target in ("notes.txt", "data", ".", str(tmp_path)):
        assert main(["reproduce", "--only", "fake", "--out", target]) == 2, target
    assert _listing(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "notes.txt"]  # no .notes.txt-old-<pid>

    assert main(["reproduce", "--only", "fake", "--out", "r"]) == 0
    (tmp_path / "r" / "my-notes.txt").write_text("added by the user")
    assert main(["reproduce", "--only", "fake", "--out", "r"]) == 2
    assert (tmp_path / "r" / "my-notes.txt").read_text() == "added by the user"


def test_replaces_an_earlier_report_and_accepts_an_empty_directory(tmp_path, fake):
    out = tmp_path / "r"
    out.mkdir()  # empty: accepted
    assert main(["reproduce", "--only", "fake.a", "--out", str(out)]) == 0
    fake.set("fake.a", lambda: claims.Result(1.01, 1.0, 0.1, note="second run"))
    assert main(["reproduce", "--only", "fake", "--out", str(out)]) == 0
    records = json.loads((out / "claims.json").read_text())["claims"]
    assert [r["note"] for r in records if r["id"] == "fake.a"] == ["second run"]
    assert "fake.a.png" not in os.listdir(out)  # the new fake.a has no figure: its old one goes
    assert not _leftovers(tmp_path)


def test_exit_codes_error_beats_mismatch(tmp_path, fake, capsys):
    out = str(tmp_path / "r")
    fake.set("fake.a", lambda: claims.Result(1.5, 1.0, 0.1, note="off"))  # holds expected, reads fails
    assert main(["reproduce", "--only", "fake", "--out", out]) == 1

    def broken():
        raise RuntimeError("boom")

    fake.set("fake.c", broken, "holds-corrected")
    assert main(["reproduce", "--only", "fake", "--out", out]) == 3
    records = {r["id"]: r for r in json.loads((tmp_path / "r" / "claims.json").read_text())["claims"]}
    assert records["fake.c"]["verdict"] == "error" and "boom" in records["fake.c"]["note"]
    fake.set("fake.c", lambda: claims.Result(float("nan"), 0.0, 0.1), "holds-corrected")
    assert main(["reproduce", "--only", "fake.c", "--out", out]) == 3


def test_one_progress_line_per_claim_in_a_pipe(tmp_path, fake, capsys):
    assert main(["reproduce", "--only", "fake", "--out", str(tmp_path / "r")]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[")]
    assert len(lines) == 3
    assert re.match(r"\[1/3\] §98 +fake\.b +fails +\d+\.\d s$", lines[0])  # paper order: §98 before §99


def test_real_claim_end_to_end(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["reproduce", "--quick", "--only", "thermo.virial", "--out", str(out)]) == 0
    data = json.loads((out / "claims.json").read_text())["claims"]
    assert [r["id"] for r in data] == ["thermo.virial"] and data[0]["verdict"] == "holds"
    keys = {"id", "section", "equations", "measured", "expected", "tolerance", "verdict", "expected_verdict",
            "predicted", "precision", "seconds"}
    assert keys <= set(data[0])
    assert "| thermo.virial |" in (out / "summary.md").read_text()
    assert "thermo.virial" in capsys.readouterr().out


# --- the page in a real browser -------------------------------------------------------------------

_CHECK = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  const ids = [...document.querySelectorAll('.claim')].map(d => d.id).join(',');
  const out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = `images=${imgs.length} loaded=${ok} claims=${ids}`;
  document.body.appendChild(out);
});
</script></body>"""


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.slow
def test_index_html_renders_in_a_browser(tmp_path, fake):
    """Open index.html from disk in headless Chromium (no network) and read back, from the live DOM,
    how many images decoded (naturalWidth > 0) and which claims are on the page."""
    browser = _browser()
    if browser is None:
        pytest.skip("no Chromium here: .ci/run installs the Debian package 'chromium' where apt-get works")
    out = tmp_path / "r"
    assert main(["reproduce", "--only", "fake", "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    assert "http://" not in page and "https://" not in page  # nothing to fetch: it opens offline
    probe = out.parent / "probe.html"  # the page plus a script that reports what the browser saw
    probe.write_text(page.replace("</body>", _CHECK))
    proc = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--allow-file-access-from-files", "--virtual-time-budget=5000", "--dump-dom",
                           probe.as_uri()], capture_output=True, text=True, timeout=120)
    match = re.search(r"images=(\d+) loaded=(\d+) claims=([\w.,-]*)", proc.stdout)
    assert match, f"the browser printed no check line: {proc.stderr[-2000:]}"
    n_images, loaded, ids = int(match[1]), int(match[2]), set(match[3].split(","))
    assert n_images == 1 and loaded == n_images  # fake.a's figure, decoded from its data: URI
    assert ids == {"fake.a", "fake.b", "fake.c"}


def test_no_reference_leaves_the_repository():
    """Docstrings, docs, README and notebooks cite docs/conventions.md, never a file beside the repository."""
    root = Path(__file__).resolve().parents[1]
    outside = re.compile("|".join([r"\.\./" + "shared", "/work/" + "shared", "SPEC" + r"\.md"]))
    files = [*root.glob("nnworld_jax/**/*.py"), *root.glob("tests/**/*.py"), *root.glob("docs/**/*.md"),
             *root.glob("notebooks/**/*.ipynb"), *root.glob("benchmarks/**/*.py"), root / "README.md"]
    hits = [f"{p.relative_to(root)}:{i}" for p in files for i, line in enumerate(p.read_text().splitlines(), 1)
            if outside.search(line)]
    assert not hits, hits
    # §1-§9 (§8-§9: the per-neuron metrics of (77)-(83) and the clamped reading of the data)
    assert (root / "docs" / "conventions.md").read_text().count("\n## §") == 9
