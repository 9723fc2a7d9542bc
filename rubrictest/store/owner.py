"""Who owns a running run: the process that started it, so that the next open of the store
can tell a run that is still going from one whose process was killed (``abandoned``).

A process is named by its pid, its host and (where the system says it, as Linux's
``/proc`` does) its start time, so that a pid reused by a later process is not mistaken for
the owner. Only processes on the same host are judged: another host's run may be alive.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (Linux), else ``None``."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces; field 22 is the start time
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class Owner:
    """The process that owns a run."""

    pid: int
    host: str
    started: str | None

    @classmethod
    def current(cls) -> Owner:
        """This process."""
        return cls.of(os.getpid())

    @classmethod
    def of(cls, pid: int) -> Owner:
        """Process ``pid`` on this host."""
        return cls(pid, socket.gethostname(), _start_time(pid))

    def gone(self) -> bool:
        """Whether this owner certainly no longer runs: on this host, and its pid is free or
        taken by a process that started at another time. Another host's process is never
        judged gone."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:  # another user's process holds the pid: alive, maybe reused
            pass
        except OSError:
            return False
        if self.started is not None:
            now = _start_time(self.pid)
            return now is not None and now != self.started
        return False

    def to_json(self) -> dict[str, object]:
        """As passed to xdist workers (which record their controller as the owner)."""
        return {"pid": self.pid, "host": self.host, "started": self.started}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Owner:
        """The inverse of :meth:`to_json`."""
        started = data.get("started")
        return cls(int(str(data["pid"])), str(data["host"]), str(started) if started is not None else None)
