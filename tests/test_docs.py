"""The documentation site builds with ``mkdocs build --strict``, fails on a broken reference, and
renders what it promises (a page per module, per notebook; docstring equations intact);
``nnworld --version`` reports the installed version."""

from __future__ import annotations

import html
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _mkdocs(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # mkdocs-material's banner is no warning of ours
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)


def _text(page: Path) -> str:
    """The visible text of one built page's article (tags dropped, entities decoded)."""
    body = page.read_text(encoding="utf-8")
    article = body[body.find("<article"):body.find("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", article))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    proc = _mkdocs(ROOT / "mkdocs.yml", out)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_site_builds_strictly_with_a_page_per_module_and_notebook(site):
    # Every top-level module of the package (private ones aside, _config documented for set_precision)
    # and every notebook has its page; found here by listing files, independently of the docs hook.
    modules = [p.stem for p in (ROOT / "nnworld_jax").glob("*.py") if not p.stem.startswith("_")] + ["_config"]
    missing = [m for m in modules if not (site / "api" / m / "index.html").is_file()]
    assert not missing, f"modules without an API page: {missing}"
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        page = site / "notebooks" / nb.stem / "index.html"
        assert page.is_file(), f"{nb.name} is not rendered"
    for page in ("index.html", "design/index.html", "conventions/index.html"):
        assert (site / page).is_file(), page


def test_api_pages_keep_docstring_equations_and_functions(site):
    # Read as Markdown, the underscores of g_{αβ,μ} would become emphasis and vanish; the page must show
    # the module docstring's curvature formula character for character.
    gravity = _text(site / "api" / "gravity" / "index.html")
    assert "R_{μν} = ∂_αΓ^α_{μν} - ∂_νΓ^α_{μα}" in gravity
    # A public function documented with its equation number (the docstring's summary line).
    assert "functional_derivative" in _text(site / "api" / "grid" / "index.html")
    assert "eq. (89)" in gravity
    # Doctest examples render as code blocks, not as Markdown block quotes.
    raw = (site / "api" / "gravity" / "index.html").read_text(encoding="utf-8")
    assert "<blockquote>" not in raw


def test_notebook_page_holds_the_notebooks_code(site):
    # The rendered page carries each code cell of the notebook (first line of each, as code).
    import json

    nb_path = sorted((ROOT / "notebooks").glob("*.ipynb"))[0]
    cells = json.loads(nb_path.read_text(encoding="utf-8"))["cells"]
    text = _text(site / "notebooks" / nb_path.stem / "index.html")
    firsts = ["".join(c["source"]).strip().splitlines()[0] for c in cells
              if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert firsts and all(line.strip() in text for line in firsts)


def test_strict_build_fails_on_a_broken_reference(tmp_path):
    # The same configuration over a copy of docs/ with one page holding a cross-reference to an API
    # object that does not exist and a link to a missing page: --strict must refuse it and name both.
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    (docs / "broken.md").write_text("# Broken\n\nSee [no such kernel][nnworld_jax.grid.no_such_kernel] "
                                    "and [a missing page](no_such_page.md).\n")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for old, new in [("docs_dir: docs", f"docs_dir: {docs}"),
                     ("- docs/hooks/nnworld_docs.py", f"- {ROOT / 'docs/hooks/nnworld_docs.py'}"),
                     ("paths: [.]", f"paths: [{ROOT}]"),
                     ("  - Home: index.md", "  - Home: index.md\n  - Broken: broken.md")]:
        assert config.count(old) == 1, f"mkdocs.yml no longer holds {old!r}: update this test"
        config = config.replace(old, new)
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    proc = _mkdocs(tmp_path / "mkdocs.yml", tmp_path / "site")
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0, log
    # Exactly the two injected faults, and nothing else, are what fails the copy.
    warnings = [line for line in log.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 2 and all("broken.md" in w for w in warnings), log
    assert "nnworld_jax.grid.no_such_kernel" in log and "no_such_page.md" in log, log


def test_version_matches_the_project_metadata(capsys):
    from nnworld_jax import cli

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    # [project] version of pyproject.toml (read with a pattern: tomllib needs Python 3.11, we support 3.10)
    declared = re.search(r'(?m)^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    import jax

    expected = f"nnworld {declared} (jax {jax.__version__}, Python {platform.python_version()})"
    assert capsys.readouterr().out.strip() == expected
    # The installed metadata is the source's (a stale editable install would differ) and the console
    # script answers the same.
    assert importlib.metadata.version("nnworld_jax") == declared
    script = Path(sys.executable).with_name("nnworld")
    if script.exists():
        out = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == expected, out.stdout + out.stderr


def test_docstring_reader_escapes_prose_only():
    # The griffe extension of the site: Markdown-special characters of prose are escaped; code spans,
    # indented equation blocks, doctests and argument names are left exactly as written.
    sys.path.insert(0, str(ROOT / "docs" / "hooks"))
    try:
        from griffe_docstrings import markdown_docstring
    finally:
        sys.path.remove(str(ROOT / "docs" / "hooks"))
    doc = ("Γ^α_{μν} of a*b, see :func:`~nnworld_jax.grid.integral` and ``x_i``.\n"
           "\n"
           "    R_{μν} = ∂_αΓ^α_{μν}          (96)\n"
           "\n"
           "Arguments:\n"
           "    max_steps: at most n_max.\n"
           "    cg_rtol, cg_max_steps: the <solver> options.\n"
           "\n"
           "* a_i item\n"
           "\n"
           ">>> f(x_1)\n"
           "[0.0, 1.0]\n"
           "\n"
           "Example:\n"
           "    >>> g(y_2)\n")
    assert markdown_docstring(doc).split("\n") == [
        r"Γ^α\_{μν} of a\*b, see `nnworld_jax.grid.integral` and ``x_i``.",
        "",
        "    R_{μν} = ∂_αΓ^α_{μν}          (96)",
        "",
        "Arguments:",
        r"    max_steps: at most n\_max.",
        r"    cg_rtol, cg_max_steps: the &lt;solver> options.",
        "",
        r"* a\_i item",
        "",
        "```pycon",
        ">>> f(x_1)",
        "[0.0, 1.0]",
        "```",
        "",
        "Examples:",
        "    >>> g(y_2)",
        "",
    ]
