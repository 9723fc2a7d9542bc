"""Deterministic checks: ``contains``, ``regex``, ``equals``, ``json_schema``, ``python``.

Each is a :class:`rubrictest.Check`, named by ``check:`` in a criterion, with its parameters
under ``with:``. Parameters are validated at collection, so an invalid regex or JSON Schema
is a collection error pointing at the criterion, not a failure at run time.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema

from rubrictest import (
    Check,
    ComponentContext,
    ComponentSpec,
    Criterion,
    JudgeError,
    JudgeRequest,
    Register,
    canonical_json,
    hookimpl,
    import_callable,
)


def _strings(params: Mapping[str, Any], one: str, many: str) -> list[str]:
    if one in params and many in params:
        raise ValueError(f"give `{one}` or `{many}`, not both")
    if one in params:
        value = params[one]
        if not isinstance(value, str):
            raise ValueError(f"`{one}` must be a string")
        return [value]
    if many in params:
        values = params[many]
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise ValueError(f"`{many}` must be a non-empty list of strings")
        return list(values)
    raise ValueError(f"missing parameter `{one}` (or `{many}`)")


def _allowed(params: Mapping[str, Any], *names: str) -> None:
    unknown = sorted(set(params) - set(names))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(names)}")


class Contains(Check):
    """The response contains a string (``value``), or all/any of ``values``.

    Parameters: ``value`` or ``values``; ``mode``: all (default) or any; ``case_sensitive``
    (default false).
    """

    def validate_criterion(self, criterion: Criterion) -> None:
        _allowed(criterion.params, "value", "values", "mode", "case_sensitive")
        _strings(criterion.params, "value", "values")
        if criterion.params.get("mode", "all") not in ("all", "any"):
            raise ValueError("`mode` must be all or any")

    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> tuple[bool, str]:
        needles = _strings(params, "value", "values")
        hay = response if params.get("case_sensitive") else response.lower()
        found = [n for n in needles if (n if params.get("case_sensitive") else n.lower()) in hay]
        missing = [n for n in needles if n not in found]
        met = bool(found) if params.get("mode") == "any" else not missing
        return met, (f"found {found!r}" if met else f"missing {missing!r}")


class Regex(Check):
    """The response matches a regular expression (Python syntax, searched anywhere).

    Parameters: ``pattern``; ``flags``: a string of i, m, s, x; ``fullmatch`` (default false).
    """

    _FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}

    def _compile(self, params: Mapping[str, Any]) -> re.Pattern[str]:
        pattern = params.get("pattern")
        if not isinstance(pattern, str):
            raise ValueError("missing parameter `pattern` (a string)")
        flags = 0
        for ch in str(params.get("flags", "")):
            if ch not in self._FLAGS:
                raise ValueError(f"unknown regex flag {ch!r}; allowed: i, m, s, x")
            flags |= self._FLAGS[ch]
        try:
            return re.compile(pattern, flags)
        except re.error as exc:
            raise ValueError(f"invalid regex {pattern!r}: {exc}") from None

    def validate_criterion(self, criterion: Criterion) -> None:
        _allowed(criterion.params, "pattern", "flags", "fullmatch")
        self._compile(criterion.params)

    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> tuple[bool, str]:
        rx = self._compile(params)
        match = rx.fullmatch(response) if params.get("fullmatch") else rx.search(response)
        return (True, f"matched {match.group(0)[:80]!r}") if match else (False, f"no match for {rx.pattern!r}")


class Equals(Check):
    """The response equals ``value`` (after stripping whitespace; ``case_sensitive`` default true)."""

    def validate_criterion(self, criterion: Criterion) -> None:
        _allowed(criterion.params, "value", "case_sensitive", "strip")
        if not isinstance(criterion.params.get("value"), str):
            raise ValueError("missing parameter `value` (a string)")

    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> tuple[bool, str]:
        got, want = response, str(params["value"])
        if params.get("strip", True):
            got, want = got.strip(), want.strip()
        if not params.get("case_sensitive", True):
            got, want = got.lower(), want.lower()
        return (got == want), ("equal" if got == want else f"expected {want[:80]!r}, got {got[:80]!r}")


class JsonSchema(Check):
    """The response is JSON valid against ``schema`` (a JSON Schema, any draft jsonschema knows)."""

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._checked: set[str] = set()  # suites repeat one schema across many cases

    def validate_criterion(self, criterion: Criterion) -> None:
        _allowed(criterion.params, "schema")
        schema = criterion.params.get("schema")
        if not isinstance(schema, dict):
            raise ValueError("missing parameter `schema` (a mapping)")
        key = canonical_json(schema)
        if key in self._checked:
            return
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"invalid JSON Schema: {exc.message}") from None
        self._checked.add(key)

    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> tuple[bool, str]:
        text = response.strip()
        fence = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.DOTALL)
        if fence:
            text = fence.group(1)
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            return False, f"not JSON: {exc}"
        schema = params["schema"]
        validator = jsonschema.validators.validator_for(schema)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            return False, f"schema violation at {where}: {error.message}"
        return True, "valid"


class PythonCheck(Check):
    """A user function decides: ``with: {function: module:function}``.

    The function is called as ``fn(response, **kwargs)`` where kwargs are the remaining
    parameters, plus ``case`` if it accepts one. It returns a bool or ``(bool, reason)``.
    """

    per_directory = True

    def _fn(self, params: Mapping[str, Any]) -> Callable[..., Any]:
        ref = params.get("function")
        if not isinstance(ref, str):
            raise ValueError("missing parameter `function` (module:function)")
        return import_callable(ref, self.context.base_dir)

    def validate_criterion(self, criterion: Criterion) -> None:
        self._fn(criterion.params)

    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> bool | tuple[bool, str]:
        fn = self._fn(params)
        kwargs = {k: v for k, v in params.items() if k != "function"}
        try:
            sig = inspect.signature(fn)
            if "case" in sig.parameters:
                kwargs["case"] = request.case
        except (TypeError, ValueError):
            pass
        result = fn(response, **kwargs)
        if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], bool):
            return result[0], str(result[1])
        if isinstance(result, bool):
            return result
        raise JudgeError(f"{params['function']} returned {type(result).__name__}; expected bool or (bool, reason)")


@hookimpl
def register_judges(register: Register) -> None:
    register("contains", Contains)
    register("regex", Regex)
    register("equals", Equals)
    register("json_schema", JsonSchema)
    register("python", PythonCheck)
