"""The plugin manager and plugin loading.

rubrictest owns one pluggy :class:`~pluggy.PluginManager` (:data:`pm`). Plugins come from the
``rubrictest`` entry-point group, first-party ones (shipped in ``plugins/`` of this
distribution) exactly like third-party ones.

Environment variables:
    RUBRICTEST_LOAD_PLUGINS: comma-separated entry-point names of third-party plugins to
        load; empty loads none. Unset loads all. First-party plugins always load.
    RUBRICTEST_TRACE_PLUGINS: when set, every hook call is printed to stderr.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from importlib import metadata
from typing import TYPE_CHECKING, Any, Literal, overload

import pluggy

from . import hookspecs
from .errors import ConfigError, OptionsError
from .registry import KINDS, Register, Registry

if TYPE_CHECKING:
    from .protocol import ComponentContext, ComponentSpec, Judge, Target

pm = pluggy.PluginManager("rubrictest")
pm.add_hookspecs(hookspecs)

FIRST_PARTY_DIST = "rubrictest"
_loaded = False
_registry_cache: tuple[list[tuple[str, object]], Registry] | None = None
_versions: dict[str, str] = {}


def load_plugins() -> None:
    """Load every plugin from the ``rubrictest`` entry-point group, once.

    Idempotent. Raises :class:`pluggy.PluginValidationError` when a plugin implements a hook
    that does not exist (a misspelt hook name must not be silently ignored).
    """
    global _loaded
    if _loaded:
        return
    _loaded = True
    if os.environ.get("RUBRICTEST_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda msg: sys.stderr.write(msg))
        pm.enable_tracing()
    allowed = os.environ.get("RUBRICTEST_LOAD_PLUGINS")
    allow = None if allowed is None else {n.strip() for n in allowed.split(",") if n.strip()}
    for ep in metadata.entry_points(group="rubrictest"):
        dist = ep.dist.name if ep.dist is not None else ""
        first_party = dist == FIRST_PARTY_DIST
        if not first_party and allow is not None and ep.name not in allow:
            continue
        if pm.get_plugin(ep.name) is not None:
            continue
        module = ep.load()
        pm.register(module, name=ep.name)
        _versions[ep.name] = ep.dist.version if ep.dist is not None else ""
    pm.check_pending()


def plugin_version(name: str) -> str:
    """The version of the distribution that provides plugin ``name`` ('' if unknown)."""
    return _versions.get(name, "")


def registry() -> Registry:
    """The registry of every component the loaded plugins register.

    Rebuilt whenever the set of registered plugins changes (tests register fakes).
    """
    global _registry_cache
    load_plugins()
    # Compared by name *and* identity: a plugin replaced under the same name is a change too.
    # The cache holds the plugin objects themselves, so an id() can never be reused under it.
    current = sorted(((pm.get_name(p) or "", p) for p in pm.get_plugins()), key=lambda np: np[0])
    if (
        _registry_cache is not None
        and len(_registry_cache[0]) == len(current)
        and all(n1 == n2 and p1 is p2 for (n1, p1), (n2, p2) in zip(_registry_cache[0], current, strict=True))
    ):
        return _registry_cache[1]
    reg = Registry()
    for kind in KINDS:
        caller = getattr(pm.hook, f"register_{kind}")
        # Call each implementation with its own Register so every entry knows its plugin.
        for impl in reversed(caller.get_hookimpls()):
            impl.function(register=Register(reg, kind, impl.plugin_name))
    _registry_cache = (current, reg)
    return reg


def list_plugins() -> list[dict[str, Any]]:
    """Every loaded plugin with its version, hooks and registered components."""
    load_plugins()
    reg = registry()
    out = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or repr(plugin)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        components: dict[str, list[str]] = {}
        for entry in reg.by_plugin(name):
            components.setdefault(entry.kind, []).append(entry.name)
        out.append(
            {
                "name": name,
                "version": plugin_version(name),
                "hooks": hooks,
                "registered": {k: sorted(v) for k, v in sorted(components.items())},
            }
        )
    return sorted(out, key=lambda p: p["name"])


@overload
def build_component(kind: Literal["targets"], spec: ComponentSpec, context: ComponentContext) -> Target: ...
@overload
def build_component(kind: Literal["judges"], spec: ComponentSpec, context: ComponentContext) -> Judge: ...
def build_component(
    kind: Literal["targets", "judges"], spec: ComponentSpec, context: ComponentContext
) -> Target | Judge:
    """Build the target or judge ``spec`` names with its plugin's factory.

    Does not call ``check_ready``: the caller decides how a component that is not ready is
    reported. The engine keeps one per spec for a whole run; commands that call judges or
    targets outside pytest (probe, drift, pairwise, generate) use this too.

    Raises:
        ConfigError: no plugin registers ``spec.plugin`` (the message lists the available
            names), or its factory built something else.
    """
    from .protocol import Judge, Target

    entry = registry().get(kind, spec.plugin)
    check_options(entry.factory, spec)
    built = entry.factory(spec, context)
    expected = Target if kind == "targets" else Judge
    if not isinstance(built, expected):
        raise ConfigError(
            f"plugin {entry.plugin!r}: {spec.plugin!r} did not build a {expected.__name__} (got {type(built).__name__})"
        )
    return built


def options_model(factory: Any) -> Any:
    """The pydantic model of a factory's ``options`` (its ``options_model``), or ``None``."""
    from pydantic import BaseModel

    model = getattr(factory, "options_model", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def check_options(factory: Any, spec: ComponentSpec) -> None:
    """Validate ``spec.options`` against the factory's ``options_model`` (if it declares one).

    Raises:
        OptionsError: the options do not validate; it carries every problem's location.
    """
    from pydantic import ValidationError

    model = options_model(factory)
    if model is None:
        return
    try:
        model.model_validate(dict(spec.options))
    except ValidationError as exc:
        raise OptionsError(spec.label, exc, model, dict(spec.options)) from None


def import_callable(ref: str, base_dir: Any = None) -> Callable[..., Any]:
    """Import ``module:function`` for a plugin that calls user code (``python`` targets and checks).

    Args:
        ref: ``module:function``.
        base_dir: searched first (the suite's directory).

    Raises:
        ValueError: malformed reference, import failure or a missing or uncallable attribute,
            with a message naming it.
    """
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ValueError(f"{ref!r} is not of the form module:function")
    added = False
    if base_dir is not None and str(base_dir) not in sys.path:
        sys.path.insert(0, str(base_dir))
        added = True
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ValueError(f"cannot import {module_name!r}: {type(exc).__name__}: {exc}") from None
    except SystemExit as exc:  # a module that exits at import must not end the session
        raise ValueError(f"importing {module_name!r} called sys.exit({exc.code!r})") from None
    finally:
        if added:
            sys.path.remove(str(base_dir))
    try:
        fn = getattr(module, attr)
    except AttributeError:
        raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(fn):
        raise ValueError(f"{ref!r} is not callable")
    return fn  # type: ignore[no-any-return]
