"""The garbage collector around collection: paused while suites are collected, then one
collection and a freeze.

Collecting a large suite builds hundreds of thousands of long-lived objects (YAML nodes,
the suite, pytest's nodes and items). Each automatic full collection during that build walks
all of them again, and there are several: on the 10,000-criterion core benchmark the collector
took about 1 s of its ``--collect-only`` (``bench/bench_pieces.py``). So, from the first suite
file on, automatic collection is paused; when collection ends one ``gc.collect()`` frees whatever cyclic garbage
it made (so nothing is frozen that should have been freed) and ``gc.freeze()`` moves the
survivors, alive for the whole session, out of the collector's reach. Garbage made during the
run is collected as usual.

At the end of the session, pytest collects garbage once more (frozen objects are skipped).
When this pytest session runs inside another one in the same process (``pytester``'s in-process
runs, ``pytest.main()`` from a test), a config cleanup unfreezes the objects, so the outer
process frees them as before. The outermost session leaves them frozen: the interpreter usually
exits next, and its shutdown collection would otherwise walk them all again (a large part of a
second on the 10,000-criterion benchmark, as long as plain pytest's whole collection). A
process that runs pytest again after that (ipytest in a notebook, a script calling
``pytest.main()`` twice) unfreezes them when the next session starts, so one session's objects
at most wait for the exit.
"""

from __future__ import annotations

import gc

import pytest

_sessions = 0
"""pytest sessions alive in this process that loaded rubrictest (more than one: nested)."""
_left_frozen = False
"""An outermost session ended and left its objects frozen (unfrozen by the next session)."""


class CollectionGC:
    """Pause automatic garbage collection while suites are collected; settle it after."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.paused = False  # automatic collection was on and this object turned it off
        self.frozen = False
        global _sessions, _left_frozen
        if _left_frozen:  # a process that runs pytest again (ipytest, a script): the last run's
            _left_frozen = False  # objects are garbage now, collected as usual
            gc.unfreeze()
        _sessions += 1
        # Registered now, before pytest's own cleanups (its unraisable-exception plugin
        # collects garbage in one): cleanups run last-registered first, so this runs after it.
        config.add_cleanup(self._end)

    def pause(self) -> None:
        """At the first suite file: no automatic collection until :meth:`settle`."""
        if self.paused or self.frozen or not gc.isenabled():
            return  # already paused, already settled, or switched off by someone else
        gc.disable()
        self.paused = True

    def settle(self) -> None:
        """At the end of collection: free collection's garbage, freeze the rest, resume."""
        if not self.paused:
            return
        gc.collect()
        self.freeze()
        self._resume()

    def freeze(self) -> None:
        """Move every object alive now out of the collector's reach until the session ends."""
        gc.freeze()
        self.frozen = True

    def _end(self) -> None:
        global _sessions, _left_frozen
        _sessions -= 1
        self._resume()  # whatever happened to collection
        if self.frozen and _sessions > 0:  # nested: the outer session's process goes on
            self.frozen = False
            gc.unfreeze()
        elif self.frozen:
            _left_frozen = True

    def _resume(self) -> None:
        if self.paused:
            self.paused = False
            gc.enable()
