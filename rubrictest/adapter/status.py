"""The status line: the run's call progress, tokens and cost, drawn while pytest waits.

:class:`StatusLine` draws the counts of :class:`~rubrictest.engine.progress.CallProgress`,
with the tokens and cost so far, at the end of the terminal's current line while pytest is
blocked waiting for a verdict, and erases them before pytest writes the item's result.

The line is drawn only on a terminal and never with ``-q``: a log file or CI output gets
nothing extra. Drawing goes through the terminal reporter's own writer, with capture
suspended the way pytest's live logging does it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from ..engine.progress import CallProgress

# ANSI: save the cursor, restore it, erase to the end of the line.
_SAVE, _RESTORE, _ERASE = "\x1b7", "\x1b8", "\x1b[K"


def _si(n: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def status_text(progress: CallProgress, usage_total: dict[str, Any], width: int) -> str:
    """The status for ``width`` columns: the full form, a short one, or ``""`` when neither fits."""
    tokens = (usage_total.get("input_tokens") or 0) + (usage_total.get("output_tokens") or 0)
    cost = usage_total.get("cost_usd") or 0.0
    cached = usage_total.get("cache_hits") or 0
    full = (
        f"[calls: {progress.done} done, {progress.in_flight} in flight, {progress.queued} queued"
        + (f", {cached} cached" if cached else "")
        + f" | {_si(tokens)} tokens | ${cost:.4f}]"
    )
    if len(full) <= width:
        return full
    short = f"[{progress.done} done, {progress.in_flight} in flight, {progress.queued} queued, ${cost:.2f}]"
    return short if len(short) <= width else ""


class StatusLine:
    """Draws the call progress while pytest's thread waits for a verdict.

    Args:
        writer: pytest's terminal writer (``config.get_terminal_writer()``).
        suspend_capture: a context manager factory that suspends output capture (the capture
            manager's ``global_and_fixture_disabled``), so the drawing reaches the terminal.
        text: returns the status for a given number of free columns.
        delay: seconds of waiting before anything is drawn (short waits stay silent).
    """

    def __init__(
        self,
        writer: Any,
        suspend_capture: Callable[[], contextlib.AbstractContextManager[Any]],
        text: Callable[[int], str],
        delay: float = 0.5,
        interval: float = 0.25,
    ) -> None:
        self.writer = writer
        self.suspend_capture = suspend_capture
        self.text = text
        self.delay = delay
        self.interval = interval
        self._drawn = False

    def wait(self, ready: Callable[[float], bool]) -> None:
        """Block until ``ready(timeout)`` returns true, redrawing the status between tries."""
        if ready(0):
            return
        started = time.monotonic()
        try:
            while not ready(self.interval):
                if time.monotonic() - started >= self.delay:
                    self._draw()
        finally:
            self._erase()

    def _free_columns(self) -> int:
        return int(self.writer.fullwidth) - int(self.writer.width_of_current_line) - 2

    def _draw(self) -> None:
        text = self.text(self._free_columns())
        if not text and not self._drawn:
            return
        with self.suspend_capture():
            self.writer.flush()  # what pytest wrote on this line must be out before the cursor is saved
            prefix = _RESTORE if self._drawn else _SAVE
            self.writer.write_raw(f"{prefix} {text}{_ERASE}", flush=True)
        self._drawn = True

    def _erase(self) -> None:
        if not self._drawn:
            return
        with self.suspend_capture():
            self.writer.write_raw(_RESTORE + _ERASE, flush=True)
        self._drawn = False
