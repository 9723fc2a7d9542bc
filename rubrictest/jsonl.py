"""Reading JSON and JSONL files (labels, recorded verdicts, outputs, pairs, data sets) with
errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import ConfigError


def read_jsonl(path: str | Path, *, error: type[Exception] = ConfigError) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, row)`` for each non-blank line of a JSONL file of objects.

    A missing or unreadable file, invalid JSON, or a line that is not an object raises
    ``error`` with a message naming the file and line (``path:line: ...``), the form callers
    use for their own messages about a row.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise error(f"{where}: invalid JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise error(f"{where}: expected a JSON object, got {type(row).__name__}")
        yield n, row


def read_json(path: str | Path, *, error: type[Exception] = ConfigError) -> Any:
    """The JSON document in ``path``; an unreadable file or invalid JSON raises ``error``
    with a message naming the file (and the line of a syntax error)."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise error(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
