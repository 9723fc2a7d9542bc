"""Evidence checking: is a judge's quoted evidence really in the response?

Judges are asked for a verbatim quote. A quote that cannot be found in the response
(after normalising whitespace, quotes and case) is *unsupported*: the judge may be
hallucinating. What an unsupported quote does to the verdict is the judge's evidence policy.
"""

from __future__ import annotations

import re
import unicodedata

_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u00a0": " "})


def normalize_whitespace(text: str) -> str:
    """Collapse runs of whitespace to one space, unify typographic quotes, lower-case."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip().lower()


def check_evidence(evidence: str | None, response: str) -> bool | None:
    """Whether ``evidence`` occurs in ``response``.

    Returns ``None`` when there is no evidence to check. An ellipsis (``...``) in the quote
    splits it into fragments that must each occur, in order.
    """
    if evidence is None or not evidence.strip():
        return None
    haystack = normalize_whitespace(response)
    fragments = [normalize_whitespace(f) for f in re.split(r"\.\.\.|\u2026", evidence)]
    fragments = [f.strip(" \"'") for f in fragments if f.strip(" \"'")]
    if not fragments:
        return None
    pos = 0
    for fragment in fragments:
        found = haystack.find(fragment, pos)
        if found < 0:
            return False
        pos = found + len(fragment)
    return True
