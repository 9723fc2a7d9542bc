"""YAML with line numbers: parse a file once, validate it against a model, and turn every
error into one :class:`~rubrictest.SuiteError` naming the file, the line and the key path
(with a "did you mean" hint for a misspelt key)."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import SuiteError
from .yaml_events import EventBuilder
from .yaml_events import Path_ as Path_
from .yaml_events import dotted as dotted

# libyaml's parser when PyYAML was built with it: ~10x faster on large suites.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_YAML_BYTES = 20_000_000
"""The largest suite or companion file read (a dataset belongs in a ``cases_file``)."""
MAX_ALIAS_NODES = 100_000
"""How many nodes aliases (``*name``) may add to a document once expanded: reuse of an
anchor is fine, a "billion laughs" file (nested aliases that expand exponentially) is not."""
MAX_DEPTH = 100
"""How deeply mappings and lists may nest."""


def _load_yaml(text: str, path: str) -> tuple[Any, dict[Path_, int]]:
    """Parse ``text`` once; return the data and a map from key path to 1-based line.

    Duplicate mapping keys are errors (PyYAML would silently keep the last one), and so are
    files over :data:`MAX_YAML_BYTES`, aliases that expand past :data:`MAX_ALIAS_NODES`,
    recursive aliases and nesting deeper than :data:`MAX_DEPTH`. The data is built in one pass
    over libyaml's events (:mod:`.yaml_events`), an alias reusing its anchor's object rather
    than copying it, so a file that aliases its way to a billion nodes is refused after building
    no more than the file itself holds. The data of a document with merge keys or explicit
    collection tags is PyYAML's, constructed once the events have bounded the document.
    """
    if len(text) > MAX_YAML_BYTES:
        raise SuiteError(
            f"the file has {len(text):,} characters; suite files are limited to "
            f"{MAX_YAML_BYTES:,} (put large datasets in a `cases_file` JSONL)",
            path=path,
        )
    try:
        loader = _Loader(text)
        try:
            builder = EventBuilder(loader, path, max_alias_nodes=MAX_ALIAS_NODES, max_depth=MAX_DEPTH)
            data, lines = builder.load(), builder.lines
        finally:
            loader.dispose()
        if not builder.plain:  # merge keys, explicit collection tags: PyYAML's data, bounded above
            data = yaml.load(text, Loader=_Loader)  # the safe loader (CSafeLoader or SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise SuiteError(f"malformed YAML: {problem}", path=path, line=mark.line + 1 if mark else None) from None
    return data, lines


def read_text(path: Path, shown: str, *, named_at: tuple[str, int | None, str] | None = None) -> str:
    """The text of a suite or companion file, or a :class:`SuiteError`: unreadable, too large
    (:data:`MAX_YAML_BYTES`), or not UTF-8 (naming the line of the first bad byte).

    ``named_at`` (file, line, key) is where the file is named, for the error about a file
    that cannot be read (an ``include`` of a suite)."""
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise SuiteError(
                f"the file has {size:,} bytes; suite files are limited to {MAX_YAML_BYTES:,} "
                "(put large datasets in a `cases_file` JSONL)",
                path=shown,
            )
        raw = path.read_bytes()
    except OSError as exc:
        if named_at is None:
            raise SuiteError(f"cannot read the file: {exc.strerror or exc}", path=shown) from None
        raise SuiteError(
            f"cannot read included file {shown!r}: {exc.strerror or exc}",
            path=named_at[0],
            line=named_at[1],
            key=named_at[2],
        ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw.count(b"\n", 0, exc.start) + 1
        raise SuiteError(
            f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
            path=shown,
            line=bad_line,
        ) from None


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


def _relevant(exc: ValidationError, data: Any) -> list[tuple[Any, Path_]]:
    """pydantic's errors with their paths in the data, less the noise of unions: where one
    branch of a union got into a value (an error deeper down), the other branches' complaints
    about its type ("should be a valid list") say nothing to the user."""
    found = [(err, _data_path(data, tuple(err["loc"]))) for err in exc.errors()]
    deeper = [at for _, at in found]
    return [
        (err, at)
        for err, at in found
        if not (str(err["type"]).endswith("_type") and any(len(o) > len(at) and o[: len(at)] == at for o in deeper))
    ] or found


def line_for(lines: dict[Path_, int], at: Path_) -> int | None:
    while True:
        if at in lines:
            return lines[at]
        if not at:
            return None
        at = at[:-1]


def validation_error(
    exc: ValidationError, data: Any, lines: dict[Path_, int], path: str, model: type[BaseModel], prefix: Path_ = ()
) -> SuiteError:
    """One :class:`SuiteError` for every problem pydantic found in ``data`` (validated against
    ``model``), naming the line and key path of each; ``prefix`` is where ``data`` sits in the
    file (``("judge", "options")`` for a plugin's options)."""
    messages: list[str] = []
    first: tuple[int | None, str] | None = None
    for err, inner in _relevant(exc, data):
        loc = tuple(err["loc"])
        at = (*prefix, *inner)
        if err["type"] == "extra_forbidden":
            key = loc[-1]
            line = line_for(lines, at)
            allowed = _allowed_keys(model, inner[:-1], _value_at(data, inner[:-1]))
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
    text = (
        messages[0].split(": ", 2)[2] if len(messages) == 1 else f"{len(messages)} errors:\n  " + "\n  ".join(messages)
    )
    return SuiteError(text, path=path, line=first[0], key=first[1])


def _value_at(data: Any, at: Path_) -> Any:
    for part in at:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _allowed_keys(model: type[BaseModel], at: Path_, value: Any = None) -> list[str]:
    """The keys allowed at ``at`` inside ``model`` (for unknown-key hints). Where a field
    accepts several models (one judge or a judge panel), the one sharing most keys with
    ``value``, the mapping written there, is meant."""
    current: Any = model
    for i, part in enumerate(at):
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        f = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if f is None:
            return []
        candidates = _inner_models(f.annotation)
        current = candidates[0] if candidates else None
        if len(candidates) > 1 and i == len(at) - 1 and isinstance(value, dict):
            current = max(candidates, key=lambda m: len(set(value) & {g.alias or n for n, g in m.model_fields.items()}))
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _inner_models(annotation: Any) -> list[Any]:
    """Every pydantic model inside a (possibly nested, annotated or union) annotation, in order."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[Any] = []
    for arg in getattr(annotation, "__args__", None) or ():
        found += [m for m in _inner_models(arg) if m not in found]
    return found


def parse_model(model: type[BaseModel], text: str, path: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML ``text`` and validate it against ``model``; errors carry file, line and key."""
    data, lines = _load_yaml(text, path)
    if not isinstance(data, dict):
        raise SuiteError(f"expected a mapping at the top level, got {type(data).__name__}", path=path, line=1)
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        raise validation_error(exc, data, lines, path, model) from None
