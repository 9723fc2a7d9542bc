"""YAML with line numbers: parse a file once, validate it against a model, and turn every
error into one :class:`~rubrictest.SuiteError` naming the file, the line and the key path
(with a "did you mean" hint for a misspelt key)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import SuiteError

Path_ = tuple[str | int, ...]


# libyaml's parser when PyYAML was built with it: ~10x faster on large suites.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str, path: str) -> tuple[Any, dict[Path_, int]]:
    """Parse ``text`` once; return the data and a map from key path to 1-based line.

    Duplicate mapping keys are errors (PyYAML would silently keep the last one).
    """
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SuiteError(f"malformed YAML: {problem}", path=path,
                         line=mark.line + 1 if mark else None) from None
    if node is None:
        raise SuiteError("the file is empty", path=path, line=1)
    lines: dict[Path_, int] = {}
    _walk(node, (), lines, path)
    return data, lines


def _walk(node: yaml.Node, at: Path_, lines: dict[Path_, int], path: str) -> None:
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                raise SuiteError(f"duplicate key {key!r} (first at line {seen[key]})", path=path, line=line,
                                 key=dotted((*at, key)))
            seen[key] = line
            lines[(*at, key)] = line
            _walk(value_node, (*at, key), lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*at, i), lines, path)


def dotted(at: Iterable[str | int]) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _data_path(data: Any, loc: tuple[Any, ...]) -> Path_:
    """Keep the parts of a pydantic error location that exist in the data (drops union tags)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur):
            out.append(part)
            cur = cur[part]
        # anything else is a union tag or a model name that pydantic adds: skip it
    return tuple(out)


def line_for(lines: dict[Path_, int], at: Path_) -> int | None:
    while True:
        if at in lines:
            return lines[at]
        if not at:
            return None
        at = at[:-1]


def validation_error(exc: ValidationError, data: Any, lines: dict[Path_, int], path: str,
                      model: type[BaseModel]) -> SuiteError:
    messages: list[str] = []
    first: tuple[int | None, str] | None = None
    for err in exc.errors():
        loc = tuple(err["loc"])
        at = _data_path(data, loc)
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            line = line_for(lines, at)
            allowed = _allowed_keys(model, at[:-1])
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            msg = f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
            if allowed:
                msg += f"; allowed keys: {', '.join(allowed)}"
        else:
            line = line_for(lines, at)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "missing":
                msg = f"missing required key {loc[-1]!r}"
        where = dotted(at) or "(top level)"
        messages.append(f"line {line}: {where}: {msg}")
        if first is None:
            first = (line, where)
    assert first is not None
    text = messages[0].split(": ", 2)[2] if len(messages) == 1 else \
        f"{len(messages)} errors:\n  " + "\n  ".join(messages)
    return SuiteError(text, path=path, line=first[0], key=first[1])


def _allowed_keys(model: type[BaseModel], at: Path_) -> list[str]:
    """The keys allowed at ``at`` inside ``model`` (for unknown-key hints)."""
    current: Any = model
    for part in at:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        f = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if f is None:
            return []
        current = _inner_model(f.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _inner_model(annotation: Any) -> Any:
    args = getattr(annotation, "__args__", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in args or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def parse_model(model: type[BaseModel], text: str, path: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML ``text`` and validate it against ``model``; errors carry file, line and key."""
    data, lines = _load_yaml(text, path)
    if not isinstance(data, dict):
        raise SuiteError(f"expected a mapping at the top level, got {type(data).__name__}", path=path, line=1)
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        raise validation_error(exc, data, lines, path, model) from None
