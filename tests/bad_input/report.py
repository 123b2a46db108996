"""nnworld_jax.report renders the records that ``nnworld reproduce`` builds itself; users reach it
only through the CLI, whose bad input is covered in ``cli.py``."""

CASES = []
_WHY = "renders claim records built by nnworld reproduce (covered through the CLI cases), not a user kernel"
EXEMPT = {f"report.{name}": _WHY for name in ("figure_name", "why", "counts", "summary_markdown", "render_html")}
