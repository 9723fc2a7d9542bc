"""The suite file format (internal): models, YAML with line numbers, resolution.

* :mod:`.models` -- the pydantic models (``rubrictest schema`` prints their JSON Schema);
* :mod:`.parsing` -- YAML parsed once, with the line of every key, and errors that name the
  file, the line and the key path;
* :mod:`.resolve` -- :func:`load_suite`: a validated file becomes a :class:`Suite` of
  :class:`CaseRun` (a case bound to a target), what the engine and the adapter use.
"""

from .ids import ID_LIMIT, id_problem, slug_id, slugify, suite_name_from_path
from .models import (
    SCHEMA_VERSION,
    CaseModel,
    CompanionModel,
    CriterionModel,
    GateModel,
    SuiteModel,
    json_schema,
)
from .parsing import Path_, parse_model
from .resolve import (
    CaseRun,
    Suite,
    TruncatedId,
    load_suite,
    missing_env,
    read_suite_model,
    resolve_model,
    target_id,
)

__all__ = [
    "ID_LIMIT",
    "SCHEMA_VERSION",
    "CaseModel",
    "CaseRun",
    "CompanionModel",
    "CriterionModel",
    "GateModel",
    "Path_",
    "Suite",
    "SuiteModel",
    "TruncatedId",
    "id_problem",
    "json_schema",
    "load_suite",
    "missing_env",
    "parse_model",
    "read_suite_model",
    "resolve_model",
    "slug_id",
    "slugify",
    "suite_name_from_path",
    "target_id",
]
