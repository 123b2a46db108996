"""Claims of the paper recomputed by ``nnworld reproduce``; importing registers them."""

from . import thermodynamics as thermodynamics  # noqa: F401  (registers §2, §3, §6 claims)
from ._registry import (
    REGISTRY as REGISTRY,
    VERDICTS as VERDICTS,
    Claim as Claim,
    Context as Context,
    Result as Result,
    claim as claim,
    evaluate as evaluate,
    select as select,
)
