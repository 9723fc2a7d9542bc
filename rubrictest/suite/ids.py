"""Identifiers: suite, case, criterion and target ids are short, printable and unambiguous.

An id is made of ASCII letters, digits, ``.``, ``_`` and ``-`` (at most :data:`MAX_ID_LENGTH`
characters): it goes into pytest node ids (``file::case::criterion[target]``), ``-k``
expressions, JUnit names and the results database, where ``::``, brackets, ``/``, whitespace,
control, invisible (zero-width) or right-to-left characters would make one id look like
another or break the selection. Ids that rubrictest makes up (a criterion's slug, ``case-N``,
a suite name from its file name, a target label) are slugged to the same alphabet.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

MAX_ID_LENGTH = 128
_ID = re.compile(r"[A-Za-z0-9._-]+")
_NOT_ID = re.compile(r"[^A-Za-z0-9._-]+")


def _describe(char: str) -> str:
    if char.isprintable() and not char.isspace() and unicodedata.category(char) not in ("Cf", "Mn"):
        return repr(char)
    return f"U+{ord(char):04X} ({unicodedata.name(char, 'unnamed character')})"


def id_problem(value: str) -> str | None:
    """Why ``value`` is not a valid id, or ``None`` when it is."""
    if not value:
        return "an id cannot be empty"
    if len(value) > MAX_ID_LENGTH:
        return f"an id has at most {MAX_ID_LENGTH} characters (this one has {len(value)})"
    if _ID.fullmatch(value):
        return None
    bad = next(ch for ch in value if not _ID.fullmatch(ch))
    return f"ids use letters, digits, '.', '_' and '-' only; found {_describe(bad)}"


def show_id(value: str) -> str:
    """``value`` quoted for a message, with invisible and control characters escaped."""
    return ascii(value)


ID_LIMIT = 60
"""Generated criterion ids are cut to this many characters (at a word boundary)."""


def slugify(text: str, limit: int = ID_LIMIT) -> str:
    """A criterion id from its text: lower-case words joined by ``-``."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug or "criterion"


def slug_id(text: str) -> str:
    """``text`` with every run of characters an id may not hold replaced by ``-`` (case kept):
    ``openai:gpt-4o`` -> ``openai-gpt-4o``."""
    return _NOT_ID.sub("-", text).strip("-")[:MAX_ID_LENGTH] or "x"


def suite_name_from_path(path: Path) -> str:
    """``test_support.rubric.yaml`` -> ``support``."""
    name = path.name.split(".", 1)[0]
    return slug_id(name.removeprefix("test_") or name)
