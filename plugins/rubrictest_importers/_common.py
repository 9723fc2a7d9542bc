"""Reading benchmark files: typed field access with errors that name the file, line and key.

Every benchmark reader in this package goes through these helpers, so a reader pointed at the
wrong directory, a truncated file or a row of the wrong shape fails with one
:class:`ImporterError` whose message says where (``path:line: key``) and what was expected.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rubrictest import ImporterError

__all__ = [
    "ImporterError",
    "get_dict",
    "get_list",
    "get_number",
    "get_str",
    "load_json",
    "load_jsonl",
    "require_dir",
    "require_file",
]


def load_json(path: Path) -> Any:
    """The JSON document in ``path``.

    Raises:
        ImporterError: the file is missing or unreadable, or is not valid JSON; a document that
            ends early says the file looks truncated.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImporterError(f"{path}: file not found") from None
    except OSError as exc:
        raise ImporterError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (the file ends early: truncated?)" if _ends_open(text) or exc.pos >= len(text.rstrip()) else ""
        raise ImporterError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}{hint}") from None


def _ends_open(text: str) -> bool:
    """Whether a JSON object or array document stops before its closing bracket."""
    body = text.strip()
    return body[:1] in ("{", "[") and body[-1:] not in ("}", "]")


def load_jsonl(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, row)`` for every non-blank line of a JSONL file of objects; ``where`` is
    ``path:line``, the prefix of every message about that row.

    Raises:
        ImporterError: the file is missing or unreadable, a line is not valid JSON (a last line
            cut short says the file looks truncated), or a line is not an object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImporterError(f"{path}: file not found") from None
    except OSError as exc:
        raise ImporterError(f"{path}: cannot read: {exc.strerror}") from None
    lines = text.splitlines()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            last = n == len(lines) and not text.endswith("\n")
            hint = " (the last line is cut short: truncated file?)" if last else ""
            raise ImporterError(f"{where}: invalid JSON: {exc.msg}{hint}") from None
        if not isinstance(row, dict):
            raise ImporterError(f"{where}: expected a JSON object, got {type(row).__name__}")
        yield where, row


def require_dir(path: Path, what: str) -> Path:
    """``path`` if it is a directory, else an :class:`ImporterError` saying what was expected."""
    if not path.is_dir():
        state = "does not exist" if not path.exists() else "is not a directory"
        raise ImporterError(f"{path}: {state}; expected {what}")
    return path


def require_file(root: Path, relative: str, what: str) -> Path:
    """``root / relative`` if it is a file; otherwise an error saying ``root`` is not ``what``."""
    path = root / relative
    if not path.is_file():
        raise ImporterError(f"{root}: not {what}: {relative} not found")
    return path


def _field(row: dict[str, Any], key: str, where: str) -> Any:
    if key not in row:
        raise ImporterError(f"{where}: missing key {key!r}")
    return row[key]


def get_str(row: dict[str, Any], key: str, where: str, *, empty: bool = False) -> str:
    """``row[key]`` as a string (non-empty unless ``empty``)."""
    value = _field(row, key, where)
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise ImporterError(f"{where}: {key}: expected a {'' if empty else 'non-empty '}string, got {value!r:.60}")
    return value


def get_number(row: dict[str, Any], key: str, where: str) -> float:
    """``row[key]`` as a float (an int or a float; a bool is not a number)."""
    value = _field(row, key, where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ImporterError(f"{where}: {key}: expected a number, got {value!r:.60}")
    return float(value)


def get_list(row: dict[str, Any], key: str, where: str) -> list[Any]:
    """``row[key]`` as a list."""
    value = _field(row, key, where)
    if not isinstance(value, list):
        raise ImporterError(f"{where}: {key}: expected a list, got {type(value).__name__}")
    return value


def get_dict(row: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    """``row[key]`` as an object."""
    value = _field(row, key, where)
    if not isinstance(value, dict):
        raise ImporterError(f"{where}: {key}: expected an object, got {type(value).__name__}")
    return value
