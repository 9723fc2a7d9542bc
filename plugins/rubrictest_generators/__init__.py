"""First-party rubric generators: ``checklist``, ``scoring``, ``contrastive``, ``decompose``, ``retrieve``.

Each is a :class:`rubrictest.generation.Generator` run by ``rubrictest generate``; see the
module of each for the method it implements and its options, and docs/generators.md.
"""

from __future__ import annotations

from rubrictest import Register, hookimpl

from .checklist import ChecklistGenerator
from .contrastive import ContrastiveGenerator
from .decompose import DecomposeGenerator
from .retrieve import RetrieveGenerator
from .scoring import ScoringGenerator

__all__ = ["ChecklistGenerator", "ContrastiveGenerator", "DecomposeGenerator", "RetrieveGenerator", "ScoringGenerator"]


@hookimpl
def register_generators(register: Register) -> None:
    register("checklist", ChecklistGenerator)
    register("scoring", ScoringGenerator)
    register("contrastive", ContrastiveGenerator)
    register("decompose", DecomposeGenerator)
    register("retrieve", RetrieveGenerator)
