"""mkdocs hook: the pages of the site that are generated rather than written.

* API reference: one page ``api/<module>.md`` holding ``::: nnworld_jax.<module>`` for every module
  of the package (subpackages included, the claims registry excluded), found from the files so a
  new module gets its page without editing anything. A hand-written ``docs/api/<module>.md`` wins.
* Notebooks: ``notebooks/*.ipynb`` of the repository, each rendered as a page of its markdown
  cells and its code cells (as Python blocks); links to ``../docs/<page>.md`` point at the page.
  The notebooks are committed without outputs (tests/test_notebooks.py), so a rendering without
  execution shows all they hold.
* Experiments: ``docs/experiments/*.md`` in the nav when present at build time (the three
  write-ups expected first, in this order, then any other page there).

The nav of mkdocs.yml holds the hand-written pages; this hook appends the three sections.
"""

from __future__ import annotations

import json
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]  # the repository: notebooks/ and nnworld_jax/ live here
PACKAGE = "nnworld_jax"
# Subpackages whose modules are not API: the claims are run by `nnworld reproduce` and documented by
# the report it writes.
SKIP_SUBPACKAGES = ("claims",)
# Private modules with public, re-exported functions (nw.set_precision, nw.rtol, nw.default_dtype).
PRIVATE_DOCUMENTED = ("_config",)
EXPERIMENTS_FIRST = ("learning_fokker_planck.md", "learning_laws_ensemble.md", "permutation_waves.md")


def api_modules(root: Path = ROOT) -> list[str]:
    """Dotted names (below ``nnworld_jax``) of the modules that get an API page: top-level modules
    first, then subpackages', each group sorted. Found from the files, without importing anything."""
    out = []
    for path in (root / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(root / PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" or parts[0] in SKIP_SUBPACKAGES:
            continue
        if not (path.parent / "__init__.py").exists():
            continue  # a stray file in a folder that is not a package
        name = ".".join(parts)
        if any(p.startswith("_") for p in parts) and name not in PRIVATE_DOCUMENTED:
            continue
        out.append(name)
    return sorted(out, key=lambda n: (n.count("."), n))


def notebook_markdown(path: Path) -> tuple[str, str]:
    """(title, page) of one notebook: markdown cells as they are, code cells as Python blocks."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    title, parts = path.stem, []
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if not source.strip():
            continue
        if cell["cell_type"] == "markdown":
            # A notebook links the docs as ../docs/<page>.md; on the site its page sits in notebooks/.
            source = source.replace("](../docs/", "](../")
            if title == path.stem:
                heading = next((ln for ln in source.splitlines() if ln.startswith("# ")), None)
                title = heading[2:].strip() if heading else title
            parts.append(source.strip())
        elif cell["cell_type"] == "code":
            parts.append("```python\n" + source.rstrip() + "\n```")
    note = (f"!!! note \"Rendered from `notebooks/{path.name}`\"\n"
            "    Markdown and code of the notebook as committed (it is kept without outputs). Run it with\n"
            "    Jupyter in the project's environment to see the figures and printed values.")
    body = "\n\n".join(parts)
    # The note goes after the notebook's own title so the page keeps one h1.
    if body.startswith("# "):
        first, _, rest = body.partition("\n")
        return title, f"{first}\n\n{note}\n\n{rest.lstrip()}\n"
    return title, f"# {title}\n\n{note}\n\n{body}\n"


def _notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def _experiment_pages(docs_dir: Path) -> list[str]:
    folder = docs_dir / "experiments"
    present = sorted(p.name for p in folder.glob("*.md")) if folder.is_dir() else []
    ordered = [n for n in EXPERIMENTS_FIRST if n in present] + [n for n in present if n not in EXPERIMENTS_FIRST]
    return [f"experiments/{n}" for n in ordered]


def on_config(config):
    nav = list(config["nav"] or [])
    experiments = _experiment_pages(Path(config["docs_dir"]))
    if experiments:
        nav.append({"Experiments": experiments})
    notebooks = [{notebook_markdown(p)[0]: f"notebooks/{p.stem}.md"} for p in _notebooks()]
    if notebooks:
        nav.append({"Notebooks": notebooks})
    api = [{f"{PACKAGE}.{m}": f"api/{m}.md"} for m in api_modules()]
    nav.append({"API reference": [{"Overview": "api/index.md"}, *api]})
    config["nav"] = nav
    return config


def on_files(files, config):
    for path in _notebooks():
        _, page = notebook_markdown(path)
        files.append(File.generated(config, f"notebooks/{path.stem}.md", content=page))
    for module in api_modules():
        uri = f"api/{module}.md"
        if files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, content=f"::: {PACKAGE}.{module}\n"))
    return files
