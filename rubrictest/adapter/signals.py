"""SIGTERM ends a pytest session as Ctrl-C does; a second Ctrl-C (or SIGTERM) exits at once.

A CI runner that cancels a job sends SIGTERM, then SIGKILL after a grace period: handled as
Ctrl-C, the session cancels what is in flight, keeps every verdict received, marks the run
``interrupted`` with its counts and closes its components (servers it started included)
within a couple of seconds. A second signal, while that happens, exits at once with pytest's
``INTERRUPTED`` status and one line, never a traceback; rows buffered less than the store's
flush interval ago may then be lost.

Installed only from the main thread, and only over the default handlers: a handler the user
or another plugin installed is left alone.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

import pytest

_SIGNALS = ("SIGINT", "SIGTERM")


class Interrupts:
    """The session's SIGINT and SIGTERM handlers (:meth:`install`, then :meth:`restore`)."""

    def __init__(self) -> None:
        self.received = 0
        self._saved: dict[int, Any] = {}

    def install(self) -> None:
        """Handle SIGINT and SIGTERM where they have their default action."""
        if threading.current_thread() is not threading.main_thread():
            return
        for name in _SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:  # no SIGTERM handling on this platform
                continue
            current = signal.getsignal(signum)
            if current not in (signal.SIG_DFL, signal.default_int_handler):
                continue
            self._saved[signum] = signal.signal(signum, self._on_signal)

    def restore(self) -> None:
        """Put back the handlers :meth:`install` replaced."""
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in self._saved.items():
            if signal.getsignal(signum) == self._on_signal:
                signal.signal(signum, handler)
        self._saved.clear()

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.received += 1
        if self.received > 1:
            name = signal.Signals(signum).name
            os.write(2, f"\nrubrictest: {name} again: exiting now (verdicts stored so far are kept)\n".encode())
            os._exit(int(pytest.ExitCode.INTERRUPTED))
        raise KeyboardInterrupt
