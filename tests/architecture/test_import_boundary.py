"""The public API is a boundary: plugins use only what rubrictest declares public.

First-party plugins are the worked example for third-party authors, so they may import only
``rubrictest``, ``rubrictest.judging`` and ``rubrictest.generation`` -- and only names those
modules list in ``__all__`` -- or the public exports (``__all__``) of another plugin package
they build on. The core never imports a plugin.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PUBLIC = {"rubrictest", "rubrictest.judging", "rubrictest.generation"}
PLUGIN_DIRS = [p for p in sorted((REPO / "plugins").iterdir()) if (p / "__init__.py").exists()]
PLUGIN_DIRS += [REPO / "tests" / "fake_plugin" / "rubrictest_fake"]
PLUGIN_FILES = [REPO / "tests" / "gen" / "rubrictest_gen_fakes.py"]


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every absolute import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def _plugin_files() -> list[Path]:
    files = [f for d in PLUGIN_DIRS for f in sorted(d.rglob("*.py"))] + PLUGIN_FILES
    assert len(files) > 20, "the walk found no plugin modules"
    return files


def _violations(path: Path, own_package: str, root: Path = REPO) -> list[str]:
    found = []
    for line, module, names in _imports(path):
        top = module.split(".")[0]
        where = f"{path.relative_to(root)}:{line}"
        if top == "rubrictest":
            if module not in PUBLIC:
                found.append(f"{where}: imports {module}, which is not public API")
                continue
            exported = set(importlib.import_module(module).__all__)
            found += [f"{where}: {module}.{n} is not in its __all__" for n in names if n not in exported]
        elif top.startswith("rubrictest_") and top != own_package:
            if module != top:
                found.append(f"{where}: imports {module}, inside another plugin")
                continue
            exported = set(getattr(importlib.import_module(top), "__all__", ()))
            found += [
                f"{where}: {top}.{n} is not a public export of that plugin (its __all__)"
                for n in names
                if n not in exported
            ]
    return found


def test_plugins_import_only_the_public_api() -> None:
    violations: list[str] = []
    for path in _plugin_files():
        package = next((d.name for d in PLUGIN_DIRS if d in path.parents), path.stem)
        violations += _violations(path, package)
    assert violations == []


def test_the_check_catches_an_internal_import(tmp_path: Path) -> None:
    bad = tmp_path / "rubrictest_bad.py"
    bad.write_text(
        "from rubrictest.engine import Engine\nfrom rubrictest import Criterion, _LAZY\n"
        "from rubrictest_checks import _allowed\n"
    )
    found = _violations(bad, "rubrictest_bad", root=tmp_path)
    assert [f.split(": ", 1)[1] for f in found] == [
        "imports rubrictest.engine, which is not public API",
        "rubrictest._LAZY is not in its __all__",
        "rubrictest_checks._allowed is not a public export of that plugin (its __all__)",
    ]


def test_public_names_resolve() -> None:
    for module in PUBLIC:
        mod = importlib.import_module(module)
        for name in mod.__all__:
            assert getattr(mod, name) is not None, f"{module}.{name}"


def test_the_core_never_imports_a_plugin() -> None:
    offenders = [
        f"{p.relative_to(REPO)}:{line}: {module}"
        for p in sorted((REPO / "rubrictest").rglob("*.py"))
        for line, module, _ in _imports(p)
        if module.split(".")[0].startswith("rubrictest_")
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "old, name",
    [
        ("rubrictest.sdk", "ProviderComponent"),
        ("rubrictest.judge_protocol", "parse_verdicts"),
        ("rubrictest.calibration", "Importer"),
    ],
)
def test_old_import_paths_work_with_a_deprecation_warning(old: str, name: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=old.replace(".", r"\.") + " is deprecated"):
        module = importlib.import_module(old)
    assert getattr(module, name) is not None
