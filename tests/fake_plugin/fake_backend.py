"""A minimal PEP 517 build backend for the fake plugin: it writes a pure-Python wheel.

It exists so the fake plugin installs with ``pip install --no-build-isolation`` without
network access and without ``setuptools``/``wheel`` in the environment. It reads the name,
version and entry points from ``pyproject.toml`` and packs ``rubrictest_fake/``.
"""

from __future__ import annotations

import base64
import hashlib
import tomllib
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PACKAGE = "rubrictest_fake"


def _project() -> dict[str, Any]:
    data = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))
    project: dict[str, Any] = data["project"]
    return project


def _record_line(path: str, content: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(content)}"


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    """No build requirements: everything here is the standard library."""
    return []


def build_wheel(
    wheel_directory: str, config_settings: dict[str, Any] | None = None, metadata_directory: str | None = None
) -> str:
    """Write ``<name>-<version>-py3-none-any.whl`` into ``wheel_directory``; return its name."""
    project = _project()
    dist = project["name"].replace("-", "_")
    version = project["version"]
    dist_info = f"{dist}-{version}.dist-info"
    files: dict[str, bytes] = {}
    for source in sorted((HERE / PACKAGE).rglob("*.py")):
        files[source.relative_to(HERE).as_posix()] = source.read_bytes()
    files[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {version}\n"
        f"Summary: {project.get('description', '')}\n"
    ).encode()
    entry_points = ""
    for group, entries in project.get("entry-points", {}).items():
        entry_points += f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in entries.items()) + "\n"
    files[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: fake_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = [_record_line(path, content) for path, content in files.items()]
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    name = f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(Path(wheel_directory) / name, "w", zipfile.ZIP_DEFLATED) as whl:
        for path, content in files.items():
            whl.writestr(path, content)
    return name
