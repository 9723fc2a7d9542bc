"""Where each criterion's evidence quote occurs in the response, for highlighting it.

Evidence is matched the way :func:`rubrictest.check_evidence` matches it (whitespace,
typographic quotes and case normalised; ``...`` splits a quote into fragments that occur in
order), but here the match is mapped back to positions in the original response so the page
can mark the exact characters. The result is plain data; the template escapes every piece.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u00a0": " "})


def _normalized_with_origins(text: str) -> tuple[str, list[int]]:
    """``text`` normalised like evidence checking, and for each of its characters the index of
    the original character it came from."""
    out: list[str] = []
    origins: list[int] = []
    in_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if not in_space and out:
                out.append(" ")
                origins.append(i)
            in_space = True
            continue
        in_space = False
        piece = unicodedata.normalize("NFKC", ch).translate(_QUOTES).lower()
        for p in piece:
            out.append(p)
            origins.append(i)
    return "".join(out), origins


def _fragments(evidence: str) -> list[str]:
    parts = [_normalized_with_origins(f)[0] for f in re.split(r"\.\.\.|\u2026", evidence)]
    return [p.strip(" \"'") for p in parts if p.strip(" \"'")]


def locate(evidence: str | None, response: str) -> list[tuple[int, int]] | None:
    """Spans ``(start, end)`` of ``response`` that ``evidence`` quotes, or ``None`` when it
    does not occur there (or there is no evidence)."""
    if not evidence or not evidence.strip():
        return None
    haystack, origins = _normalized_with_origins(response)
    fragments = _fragments(evidence)
    if not fragments:
        return None
    spans: list[tuple[int, int]] = []
    pos = 0
    for fragment in fragments:
        found = haystack.find(fragment, pos)
        if found < 0:
            return None
        end = found + len(fragment)
        spans.append((origins[found], origins[end - 1] + 1))
        pos = end
    return spans


@dataclass
class Segment:
    """A piece of the response and the criteria (by their number on the page, from 1) whose evidence covers it."""

    text: str
    marks: list[int] = field(default_factory=list)


def segments(response: str, evidence: list[str | None]) -> tuple[list[Segment], list[bool | None]]:
    """Split ``response`` at the edges of every evidence span.

    Returns the segments, and for each evidence whether it was located (``None``: no evidence).
    """
    located: list[bool | None] = []
    cover: list[tuple[int, int, int]] = []
    for index, quote in enumerate(evidence):
        if not quote or not quote.strip():
            located.append(None)
            continue
        spans = locate(quote, response)
        located.append(spans is not None)
        for start, end in spans or []:
            cover.append((start, end, index + 1))
    edges = sorted({0, len(response), *(s for s, _, _ in cover), *(e for _, e, _ in cover)})
    out: list[Segment] = []
    for start, end in zip(edges, edges[1:], strict=False):
        if start == end:
            continue
        marks = sorted({i for s, e, i in cover if s <= start and end <= e})
        out.append(Segment(response[start:end], marks))
    return out, located


def truncate(segs: list[Segment], limit: int | None) -> tuple[list[Segment], int]:
    """The segments cut after ``limit`` characters, and how many characters were cut."""
    total = sum(len(s.text) for s in segs)
    if limit is None or total <= limit:
        return segs, 0
    out: list[Segment] = []
    left = limit
    for seg in segs:
        if left <= 0:
            break
        out.append(Segment(seg.text[:left], seg.marks))
        left -= len(seg.text)
    return out, total - limit
