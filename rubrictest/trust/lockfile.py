"""Locked rubrics: a lockfile of criterion content hashes per suite.

A judge's verdicts are only comparable across runs while the rubric stays the same, and a
harmless-looking rubric edit can move a judge a long way. ``rubrictest lock`` records the
content hash (:attr:`rubrictest.Criterion.hash`: text, check, params, points, must) of every
criterion of every suite; ``rubrictest lock --check`` fails, naming each criterion, when one
changed, appeared or disappeared without re-locking. The lockfile is JSON, diff-friendly::

    {
      "version": 1,
      "suites": {
        "suites/test_support.rubric.yaml": {
          "suite": "support",
          "criteria": {"refund-window::states-window": "3f2a9c0d1e2b4a5f"}
        }
      }
    }

Suite paths are relative to the lockfile's folder, with ``/`` separators.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import RubricTestError
from ..suite import load_suite

LOCK_VERSION = 1
DEFAULT_LOCKFILE = "rubrictest.lock"
SUITE_PATTERNS = ("test_*.rubric.yaml", "test_*.rubric.yml")
_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".rubrictest"}


class LockfileError(RubricTestError):
    """A lockfile that cannot be read or does not follow the format."""


@dataclass(frozen=True)
class SuiteLock:
    """The locked criteria of one suite: ``case::criterion`` -> content hash."""

    suite: str
    criteria: dict[str, str]


@dataclass(frozen=True)
class Change:
    """One difference between the lockfile and the suites.

    Attributes:
        kind: ``changed``, ``added`` or ``removed``.
        path: the suite file, relative to the lockfile.
        criterion: ``case::criterion``.
        old: the locked hash (``None`` for added).
        new: the current hash (``None`` for removed).
    """

    kind: str
    path: str
    criterion: str
    old: str | None
    new: str | None

    @property
    def node(self) -> str:
        """The criterion as a pytest-style node id: ``path::case::criterion``."""
        return f"{self.path}::{self.criterion}"


def discover(paths: Iterable[Path]) -> list[Path]:
    """Suite files named by ``paths``: files as given, folders searched recursively."""
    found: list[Path] = []
    for path in paths:
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for pattern in SUITE_PATTERNS:
                found.extend(
                    p for p in path.rglob(pattern) if not _SKIP_DIRS.intersection(p.relative_to(path).parts[:-1])
                )
        else:
            raise LockfileError(f"{path}: no such file or directory")
    return sorted(set(found))


def lock_suite(path: Path, display: str | None = None) -> SuiteLock:
    """Load ``path`` and hash its criteria (each case's criteria once, whatever its targets)."""
    suite = load_suite(path, display_path=display)
    criteria: dict[str, str] = {}
    for run in suite.runs:
        for crit in run.case.criteria:
            criteria[f"{run.case.id}::{crit.id}"] = crit.hash
    return SuiteLock(suite=suite.name, criteria=dict(sorted(criteria.items())))


def relative_key(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` with ``/`` separators (absolute when outside it)."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(base.resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def read_lockfile(path: Path) -> dict[str, SuiteLock]:
    """Read and validate a lockfile; every problem is a :class:`LockfileError` naming it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LockfileError(f"{path}: no lockfile (create it with `rubrictest lock`)") from None
    except OSError as exc:
        raise LockfileError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise LockfileError(f"{path}:{exc.lineno}: not a valid lockfile: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("version") != LOCK_VERSION:
        raise LockfileError(f'{path}: not a valid lockfile: expected an object with "version": {LOCK_VERSION}')
    suites = data.get("suites")
    if not isinstance(suites, dict):
        raise LockfileError(f'{path}: not a valid lockfile: "suites" must be an object')
    out: dict[str, SuiteLock] = {}
    for key, entry in suites.items():
        where = f"{path}: suites.{key}"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("suite"), str)
            or not isinstance(entry.get("criteria"), dict)
        ):
            raise LockfileError(f'{where}: expected {{"suite": name, "criteria": {{...}}}}')
        for crit, digest in entry["criteria"].items():
            if not isinstance(digest, str) or "::" not in crit:
                raise LockfileError(f'{where}.criteria.{crit}: expected "case::criterion": "hash"')
        out[key] = SuiteLock(entry["suite"], dict(entry["criteria"]))
    return out


def render(locks: dict[str, SuiteLock]) -> str:
    """The lockfile's text: sorted, indented JSON with a final newline."""
    data: dict[str, Any] = {
        "version": LOCK_VERSION,
        "suites": {
            key: {"suite": lock.suite, "criteria": dict(sorted(lock.criteria.items()))}
            for key, lock in sorted(locks.items())
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_lockfile(path: Path, locks: dict[str, SuiteLock]) -> None:
    """Write atomically: a temporary file beside ``path`` replaces it in one step."""
    text = render(locks)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def in_scope(key: str, base: Path, paths: Sequence[Path]) -> bool:
    """Whether the locked suite ``key`` is one of ``paths`` or lies below one of them."""
    target = (base / key).resolve()
    for p in paths:
        rp = p.resolve()
        if target == rp or rp in target.parents:
            return True
    return False


def current_locks(paths: Sequence[Path], base: Path) -> dict[str, SuiteLock]:
    """Hash every suite named by ``paths``, keyed relative to ``base``."""
    return {relative_key(p, base): lock_suite(p, display=relative_key(p, base)) for p in discover(paths)}


def compare(
    locked: dict[str, SuiteLock], current: dict[str, SuiteLock], base: Path, paths: Sequence[Path]
) -> list[Change]:
    """Differences between the lockfile and the current suites within ``paths``."""
    changes: list[Change] = []
    keys = set(current) | {k for k in locked if in_scope(k, base, paths)}
    for key in sorted(keys):
        old = locked[key].criteria if key in locked else {}
        new = current[key].criteria if key in current else {}
        for crit in sorted(set(old) | set(new)):
            if crit not in new:
                changes.append(Change("removed", key, crit, old[crit], None))
            elif crit not in old:
                changes.append(Change("added", key, crit, None, new[crit]))
            elif old[crit] != new[crit]:
                changes.append(Change("changed", key, crit, old[crit], new[crit]))
    return changes


def update(
    locked: dict[str, SuiteLock], current: dict[str, SuiteLock], base: Path, paths: Sequence[Path]
) -> dict[str, SuiteLock]:
    """The lockfile after re-locking ``paths``: their suites replaced, the others kept."""
    kept = {k: v for k, v in locked.items() if not in_scope(k, base, paths)}
    return {**kept, **current}
