"""Secrets never leave the process: the values of API keys and credentials in URLs are
replaced by ``[REDACTED]`` in everything rubrictest stores, prints or writes.

What counts as a secret:

* every value a component read with :func:`rubrictest.require_env` (the API keys of the
  ``openai``, ``anthropic`` and ``vllm`` plugins, and of any plugin that reads its key that
  way);
* every value a plugin registered with :func:`register_secret` (a key read another way, a
  token from a file, a signed URL);
* the values of this process's credential variables: names ending in ``API_KEY``,
  ``_TOKEN``, ``_SECRET`` or ``PASSWORD`` (at least 8 characters long);
* user names and passwords written into URLs (``https://user:pass@host/...``).

:func:`redact` is applied where text leaves a component -- a target's response, a judge's
verdict (rationale, evidence, error, samples), an error message -- and again by the store on
every value it writes, so a server that echoes a key inside a valid answer cannot put it in
the database, the terminal, JUnit XML, a report or a log.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Shorter values would redact ordinary words: a key is never this short.
_MIN_LENGTH = 8
_SECRET_NAMES = re.compile(r"(API_KEY|_TOKEN|_SECRET|PASSWORD)$", re.IGNORECASE)
# scheme://user:password@ or scheme://token@ (the user part alone can be a token)
_URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<cred>[^/\s@:'\"<>]+(?::[^/\s@'\"<>]*)?)@")

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Never store, print or write ``value``: it is redacted from everything rubrictest keeps.

    For plugin authors whose component reads a credential other than through
    :func:`rubrictest.require_env` (which registers what it returns). Values shorter than 8
    characters are ignored (they would redact ordinary words).
    """
    if value and len(value) >= _MIN_LENGTH:
        with _lock:
            _registered.add(value)


def secrets() -> list[str]:
    """Every value redacted now, longest first (a key that contains another is removed whole)."""
    global _cached
    with _lock:
        values = _credential_variables()
        if _cached is None or _cached[0] != values or _cached[1] != _registered:
            _cached = (values, frozenset(_registered), sorted(_registered | set(values), key=len, reverse=True))
        return list(_cached[2])


# (credential values, registered values, the answer): secrets() is asked for every verdict and
# every stored row, and sorting is needed only when either set changed.
_cached: tuple[tuple[str, ...], frozenset[str], list[str]] | None = None
# The credential variable names of the environment, by the environment's set of names: the
# names change rarely (pytest adds and removes PYTEST_CURRENT_TEST around every item), the
# values of the few credential variables are read on every call.
_names_by_keys: dict[frozenset[Any], tuple[Any, ...]] = {}


def _credential_variables() -> tuple[str, ...]:
    data = getattr(os.environ, "_data", None)  # CPython: the raw mapping behind os.environ
    if not isinstance(data, dict):
        return _scan_credential_variables()
    # frozenset() and .get() run in C under the GIL: another thread's setenv cannot tear them
    keys = frozenset(data)
    names = _names_by_keys.get(keys)
    if names is None:
        if len(_names_by_keys) > 8:
            _names_by_keys.clear()
        names = _names_by_keys[keys] = tuple(
            k for k in keys if _SECRET_NAMES.search(k.decode("utf-8", "surrogateescape") if isinstance(k, bytes) else k)
        )
    found = []
    for name in names:
        raw = data.get(name)
        if raw is not None:
            value = raw.decode("utf-8", "surrogateescape") if isinstance(raw, bytes) else raw
            if len(value) >= _MIN_LENGTH:
                found.append(value)
    return tuple(found)


def _scan_credential_variables() -> tuple[str, ...]:
    for _ in range(10):
        try:
            # pytest sets and removes PYTEST_CURRENT_TEST from its thread while the engine's
            # thread reads: a variable may vanish between listing and reading it
            return tuple(v for k, v in list(os.environ.items()) if _SECRET_NAMES.search(k) and len(v) >= _MIN_LENGTH)
        except (KeyError, RuntimeError):
            continue
    return ()


def redact_text(text: str, values: list[str] | None = None) -> str:
    """``text`` with every secret and every credential in a URL replaced by ``[REDACTED]``."""
    for secret in secrets() if values is None else values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "@" in text and "://" in text:
        text = _URL_CREDENTIALS.sub(lambda m: m.group("scheme") + REDACTED + "@", text)
    return text


def redact(value: Any, values: list[str] | None = None) -> Any:
    """``value`` -- a string, or JSON-like lists and mappings of them -- with every secret and
    every credential in a URL replaced by ``[REDACTED]``. Other values are returned as they are."""
    if values is None:
        values = secrets()
    if isinstance(value, str):
        return redact_text(value, values)
    if isinstance(value, Mapping):
        return {redact(k, values): redact(v, values) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, values) for v in value]
    return value


def _text_needs_redaction(text: str, values: list[str]) -> bool:
    return ("@" in text and "://" in text) or any(secret in text for secret in values)


def json_needs_redaction(text: str, values: list[str]) -> bool:
    """Whether JSON ``text`` may hold a secret or a credential in a URL: a secret is looked for
    as written and as JSON escapes it. ``False`` means :func:`redact` of the data it encodes
    would change nothing."""
    if _text_needs_redaction(text, values):
        return True
    escaped = (json.dumps(secret, ensure_ascii=False)[1:-1] for secret in values)
    return any(e in text for e in escaped)


# The field names of each dataclass redact_fields sees (dataclasses.fields() builds a tuple on
# every call; a verdict is redacted several times on its way to the store).
_field_names: dict[type, tuple[str, ...]] = {}


def redact_fields(obj: Any, values: list[str] | None = None) -> Any:
    """A dataclass instance (a verdict, a sample) with :func:`redact` applied to its text
    fields, nested dataclasses included; the same object when there is nothing to redact."""
    import dataclasses

    if values is None:
        values = secrets()
    names = _field_names.get(type(obj))
    if names is None:
        names = _field_names[type(obj)] = tuple(f.name for f in dataclasses.fields(obj))
    # The common case -- only text, numbers and None, none of it secret -- is answered by one
    # search of the text fields joined (a secret never holds the NUL that separates them).
    texts: list[str] | None = []
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            texts.append(value)  # type: ignore[union-attr]
        elif not (value is None or isinstance(value, int | float)):
            texts = None
            break
    if texts is not None and not _text_needs_redaction("\0".join(texts), values):
        return obj
    changes: dict[str, Any] = {}
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, str):
            new: Any = redact_text(value, values)
        elif isinstance(value, list | tuple) and value and dataclasses.is_dataclass(value[0]):
            new = type(value)(redact_fields(v, values) for v in value)
            if all(a is b for a, b in zip(new, value, strict=True)):
                new = value
        elif isinstance(value, Mapping | list):
            new = redact(value, values)
        else:
            continue
        if new != value:
            changes[name] = new
    return dataclasses.replace(obj, **changes) if changes else obj


_log_factory: Any = None


def redact_logs() -> None:
    """Redact every log record made from now on (an SDK that logs a URL with credentials, or a
    plugin that logs a key): the record's message is formatted and redacted when it is made.
    :func:`stop_redacting_logs` undoes it."""
    import logging

    global _log_factory
    if _log_factory is not None:
        return
    previous = _log_factory = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format is the logging module's to report
            return record
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return record

    logging.setLogRecordFactory(factory)


def stop_redacting_logs() -> None:
    """Put back the log record factory :func:`redact_logs` replaced."""
    import logging

    global _log_factory
    if _log_factory is not None:
        logging.setLogRecordFactory(_log_factory)
        _log_factory = None
