"""Registries of named components, filled by the ``register_*`` hooks.

Each registry records which plugin registered each name, so ``rubrictest plugins`` can say
what every plugin contributed and a duplicate name is a clear error naming both plugins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

KINDS = ("targets", "judges", "generators", "aggregators", "importers", "voting_rules")


@dataclass(frozen=True)
class Entry:
    """A registered component factory."""

    kind: str
    name: str
    factory: Callable[..., Any]
    plugin: str
    description: str = ""


class Register:
    """The callback a ``register_*`` hook receives: ``register(name, factory, description=...)``."""

    def __init__(self, registry: Registry, kind: str, plugin: str) -> None:
        self._registry = registry
        self._kind = kind
        self._plugin = plugin

    def __call__(self, name: str, factory: Callable[..., Any], *, description: str = "") -> None:
        """Register ``factory`` under ``name``.

        Args:
            name: the name suites use; letters, digits, ``_`` and ``-``.
            factory: a class or callable that builds the component.
            description: one line shown by ``rubrictest plugins``; defaults to the first
                line of the factory's docstring.
        """
        if not name or not all(ch.isalnum() or ch in "_-" for ch in name):
            raise ConfigError(f"plugin {self._plugin}: invalid {self._kind[:-1]} name {name!r}")
        if not description and factory.__doc__:
            description = factory.__doc__.strip().splitlines()[0]
        self._registry.add(Entry(self._kind, name, factory, self._plugin, description))


class Registry:
    """All registered components, by kind and name."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}

    def add(self, entry: Entry) -> None:
        """Add ``entry``; a second registration of the same kind and name is an error."""
        existing = self._entries[entry.kind].get(entry.name)
        if existing is not None:
            raise ConfigError(
                f"{entry.kind[:-1]} {entry.name!r} is registered twice: by plugin {existing.plugin!r} "
                f"and by plugin {entry.plugin!r}"
            )
        self._entries[entry.kind][entry.name] = entry

    def get(self, kind: str, name: str) -> Entry:
        """The entry for ``name``, or a :class:`ConfigError` that lists the available names."""
        try:
            return self._entries[kind][name]
        except KeyError:
            available = ", ".join(sorted(self._entries[kind])) or "none"
            raise ConfigError(f"unknown {kind[:-1]} {name!r}; available {kind}: {available}") from None

    def names(self, kind: str) -> list[str]:
        """Registered names of ``kind``, sorted."""
        return sorted(self._entries[kind])

    def by_plugin(self, plugin: str) -> Iterator[Entry]:
        """Every entry ``plugin`` registered."""
        for entries in self._entries.values():
            for entry in entries.values():
                if entry.plugin == plugin:
                    yield entry

    def remove_plugin(self, plugin: str) -> None:
        """Forget everything ``plugin`` registered (used when a plugin is unregistered)."""
        for entries in self._entries.values():
            for name in [n for n, e in entries.items() if e.plugin == plugin]:
                del entries[name]
