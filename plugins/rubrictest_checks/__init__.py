"""Deterministic checks: ``contains``, ``regex``, ``equals``, ``json_schema``, ``python``.

Each is a :class:`rubrictest.Check`, named by ``check:`` in a criterion, with its parameters
under ``with:``. Parameters are validated at collection, so an invalid regex or JSON Schema
is a collection error pointing at the criterion, not a failure at run time.

Nothing a check runs can hang the run: regular expressions (``regex``, and ``pattern`` in a
JSON Schema) are matched by the ``regex`` package with a time bound (catastrophic
backtracking is an ERROR saying so), and a ``python`` check's function runs on a thread of
its own, bounded by ``with: {timeout: SECONDS}`` (default 30): a function that hangs or calls
``sys.exit()`` is an ERROR for its criterion while every other case goes on.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import regex

if TYPE_CHECKING:
    import jsonschema

from rubrictest import (
    Check,
    CheckTimedOut,
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


REGEX_TIMEOUT = 2.0
"""CPU seconds one regular expression may take on one response (``with: {timeout: ...}``; the
``regex`` package counts the process's CPU time, so on a busy machine it lasts longer)."""


def _timeout(params: Mapping[str, Any], default: float) -> float:
    value = params.get("timeout", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < float("inf"):
        raise ValueError(f"`timeout` must be a positive number of seconds, not {value!r}")
    return float(value)


INLINE_TIMEOUT = 0.005
"""CPU seconds a regular expression may take in the quick try on the engine's loop (see
:attr:`rubrictest.Check.inline_bytes`); past it, the check runs again on a thread with its
full ``timeout``."""


def _inline(params: Mapping[str, Any], default: float) -> Mapping[str, Any] | None:
    """``params`` with the regex time bound cut for a quick try (``None``: the bound is already
    that short, so the try would be the check itself, run on a thread as before)."""
    if _timeout(params, default) <= INLINE_TIMEOUT:
        return None
    return {**params, "timeout": INLINE_TIMEOUT}


def _search(rx: regex.Pattern[str], text: str, timeout: float, *, full: bool = False) -> regex.Match[str] | None:
    """``rx`` searched in (or matched against) ``text``, or :class:`CheckTimedOut` after ``timeout`` s."""
    try:
        return rx.fullmatch(text, timeout=timeout) if full else rx.search(text, timeout=timeout)
    except TimeoutError:
        raise CheckTimedOut(
            f"the regular expression {rx.pattern!r} took more than {timeout:g} s on the response "
            "(catastrophic backtracking?)"
        ) from None


class Contains(Check):
    """The response contains a string (``value``), or all/any of ``values``.

    Parameters: ``value`` or ``values``; ``mode``: all (default) or any; ``case_sensitive``
    (default false).
    """

    isolated = False  # a substring test cannot hang

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

    Parameters: ``pattern``; ``flags``: a string of i, m, s, x; ``fullmatch`` (default false);
    ``timeout``: CPU seconds the match may take (default 2; longer is an ERROR).
    """

    _FLAGS = {"i": regex.IGNORECASE, "m": regex.MULTILINE, "s": regex.DOTALL, "x": regex.VERBOSE}

    def _compile(self, params: Mapping[str, Any]) -> regex.Pattern[str]:
        pattern = params.get("pattern")
        if not isinstance(pattern, str):
            raise ValueError("missing parameter `pattern` (a string)")
        flags = 0
        for ch in str(params.get("flags", "")):
            if ch not in self._FLAGS:
                raise ValueError(f"unknown regex flag {ch!r}; allowed: i, m, s, x")
            flags |= self._FLAGS[ch]
        try:
            # `regex` matches like `re`, and can be stopped after a timeout
            return regex.compile(pattern, flags)
        except regex.error as exc:
            raise ValueError(f"invalid regex {pattern!r}: {exc}") from None

    def validate_criterion(self, criterion: Criterion) -> None:
        _allowed(criterion.params, "pattern", "flags", "fullmatch", "timeout")
        self._compile(criterion.params)
        _timeout(criterion.params, REGEX_TIMEOUT)

    inline_bytes = 100_000  # a search bounded at a few milliseconds, on the loop

    def timeout_for(self, criterion: Criterion) -> float:
        # the regex's own (CPU time) bound stops it first; this one only if that fails
        return 10 * _timeout(criterion.params, REGEX_TIMEOUT) + 5.0

    def inline_params(self, criterion: Criterion) -> Mapping[str, Any] | None:
        return _inline(criterion.params, REGEX_TIMEOUT)

    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> tuple[bool, str]:
        rx = self._compile(params)
        match = _search(rx, response, _timeout(params, REGEX_TIMEOUT), full=bool(params.get("fullmatch")))
        return (True, f"matched {match.group(0)[:80]!r}") if match else (False, f"no match for {rx.pattern!r}")


class Equals(Check):
    """The response equals ``value`` (after stripping whitespace; ``case_sensitive`` default true)."""

    isolated = False  # a comparison cannot hang

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


_BOUNDED: dict[tuple[type[Any], float], type[Any]] = {}
_BOUNDED_LOCK = threading.Lock()


def _bounded_validator(cls: type[Any], timeout: float) -> type[Any]:
    """``cls`` with JSON Schema ``pattern`` matched under a time bound (jsonschema's own uses
    ``re``, which a catastrophic pattern holds forever)."""
    import jsonschema  # on first use: every run loads this plugin, few have a json_schema check

    def pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[jsonschema.ValidationError]:
        if validator.is_type(instance, "string") and not _search(regex.compile(pattern), instance, timeout):
            yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")

    with _BOUNDED_LOCK:
        if (cls, timeout) not in _BOUNDED:
            _BOUNDED[(cls, timeout)] = jsonschema.validators.extend(cls, {"pattern": pattern})
        return _BOUNDED[(cls, timeout)]


class JsonSchema(Check):
    """The response is JSON valid against ``schema`` (a JSON Schema, any draft jsonschema knows).

    ``timeout``: CPU seconds a ``pattern`` of the schema may take on a string (default 2).
    """

    # Patterns are bounded, the rest of validation is not: only small documents on the loop.
    inline_bytes = 8_192

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._checked: set[str] = set()  # suites repeat one schema across many cases

    def inline_params(self, criterion: Criterion) -> Mapping[str, Any] | None:
        return _inline(criterion.params, REGEX_TIMEOUT)

    def validate_criterion(self, criterion: Criterion) -> None:
        _allowed(criterion.params, "schema", "timeout")
        _timeout(criterion.params, REGEX_TIMEOUT)
        schema = criterion.params.get("schema")
        if not isinstance(schema, dict):
            raise ValueError("missing parameter `schema` (a mapping)")
        key = canonical_json(schema)
        if key in self._checked:
            return
        import jsonschema

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
        import jsonschema

        schema = params["schema"]
        validator = _bounded_validator(jsonschema.validators.validator_for(schema), _timeout(params, REGEX_TIMEOUT))(
            schema
        )
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            return False, f"schema violation at {where}: {error.message}"
        return True, "valid"


class PythonCheck(Check):
    """A user function decides: ``with: {function: module:function}``.

    The function is called as ``fn(response, **kwargs)`` where kwargs are the remaining
    parameters, plus ``case`` if it accepts one. It returns a bool or ``(bool, reason)``.
    ``timeout`` (seconds, default 30) bounds each call and is not passed to the function.
    """

    per_directory = True

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._fns: dict[str, Callable[..., Any]] = {}
        self._import_lock = threading.Lock()  # imports change sys.path: one at a time

    def _fn(self, params: Mapping[str, Any]) -> Callable[..., Any]:
        ref = params.get("function")
        if not isinstance(ref, str):
            raise ValueError("missing parameter `function` (module:function)")
        with self._import_lock:
            if ref not in self._fns:
                self._fns[ref] = import_callable(ref, self.context.base_dir)
            return self._fns[ref]

    def validate_criterion(self, criterion: Criterion) -> None:
        self._fn(criterion.params)
        _timeout(criterion.params, self.default_timeout)

    def timeout_for(self, criterion: Criterion) -> float:
        return _timeout(criterion.params, self.default_timeout)

    def check(self, response: str, params: Mapping[str, Any], request: JudgeRequest) -> bool | tuple[bool, str]:
        fn = self._fn(params)
        kwargs = {k: v for k, v in params.items() if k not in ("function", "timeout")}
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
