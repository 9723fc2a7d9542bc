"""Helpers for plugins that call provider SDKs (shared by the openai and anthropic plugins)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from typing import Any


@functools.lru_cache(maxsize=16)
def _parameter_names(function: Any) -> frozenset[str] | None:
    """The keyword names ``function`` takes; ``None`` when it takes any (or is opaque)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return None
    return frozenset(parameters)


def fit_signature(create: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Move parameters that this SDK version's ``create`` does not name into ``extra_body``.

    ``params`` holds whatever the provider (or a compatible server) accepts; an SDK release
    that does not know a field (``top_k``, ``repetition_penalty``...) still sends it this way.
    """
    known = _parameter_names(getattr(create, "__func__", create))
    if known is None:
        return kwargs
    out = {k: v for k, v in kwargs.items() if k in known}
    extra = {k: v for k, v in kwargs.items() if k not in known}
    if extra:
        out["extra_body"] = {**extra, **(kwargs.get("extra_body") or {})}
    return out


def jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)
