"""The run lifecycle: one object starts a run, stores it, tells observers, and finishes it.

Every model call belongs to a run -- a suite run under pytest (``kind="pytest"``), the Python
API's process (``evaluate``), or a command (``generate``, ``probe``, ``drift``, ``pairwise``,
``rubric-quality``). :class:`Run` writes the ``runs`` row, fires ``on_run_start``,
``on_verdict`` and ``on_run_end`` exactly once each and in one process (under pytest-xdist:
the controller, from the verdicts the workers send with their reports), and finishes the row
with its status, counts and usage.

Observers run on a thread of their own, never on the engine's event loop: a slow observer
does not slow the calls. An observer that raises does not stop the run; it is reported as a
warning naming the plugin when the run finishes.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..events import RunEnd, RunStart, VerdictEvent
from ..plugins import pm
from ..protocol import Case, ComponentSpec, Criterion, Usage, Verdict
from ..protocol.voting import PanelSpec

if TYPE_CHECKING:  # the store (sqlite-utils, which imports numpy) loads when a run starts
    from ..store import Store
    from ..store.owner import Owner


class ObserverWarning(UserWarning):
    """An observer plugin raised: the run went on without it."""


@dataclass
class _Failure:
    plugin: str
    hook: str
    error: str


@dataclass
class _Observers:
    """Calls observer hooks on a thread of its own, in the order the events came."""

    failures: list[_Failure] = field(default_factory=list)
    _queue: queue.SimpleQueue[tuple[str, Any] | None] = field(default_factory=queue.SimpleQueue)
    _thread: threading.Thread | None = None

    def fire(self, hook: str, event: Any, *, wait: bool = False) -> None:
        if not getattr(pm.hook, hook).get_hookimpls():
            # Nobody observes this hook: no queue entry, no thread woken for each verdict (each
            # wake-up takes the GIL from the event loop and from pytest's thread).
            return
        if wait:
            self.drain()
            self._call(hook, event)
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="rubrictest-observers", daemon=True)
            self._thread.start()
        self._queue.put((hook, event))

    def drain(self) -> None:
        """Wait until every queued event was delivered."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            self._call(*item)

    def _call(self, hook: str, event: Any) -> None:
        caller = getattr(pm.hook, hook)
        if not caller.get_hookimpls():
            return
        # One implementation at a time, so a failure names its plugin and the others still run.
        for impl in caller.get_hookimpls():
            try:
                impl.function(event=event)
            except Exception as exc:  # noqa: BLE001 - an observer must not break the run
                self.failures.append(_Failure(impl.plugin_name, hook, f"{type(exc).__name__}: {exc}"))


class Run:
    """One run of rubrictest: its row in the store (``store`` may be ``None``: nothing is
    stored), its observer events and its end.

    Use :meth:`start`. ``observe=False`` for a process that must not fire events (an xdist
    worker: its controller fires them).
    """

    def __init__(self, store: Store | None, run_id: str, kind: str, *, observe: bool = True) -> None:
        self.store = store
        self.id = run_id
        self.kind = kind
        self.observe = observe
        self.finished = False
        self._announced = False
        self._observers = _Observers()
        self._counts: Counter[str] = Counter()

    @classmethod
    def start(
        cls,
        store: Store | None,
        *,
        kind: str,
        rootdir: str,
        argv: Sequence[str],
        version: str,
        run_id: str | None = None,
        observe: bool = True,
        owner: Owner | None = None,
    ) -> Run:
        """Record a new run (or join ``run_id``, which another process of the run may have
        recorded already). ``owner``: the process that owns it (default: this one)."""
        from ..store import new_run_id

        if store is not None:
            run_id = store.start_run(
                rootdir=rootdir, argv=list(argv), version=version, run_id=run_id, kind=kind, owner=owner
            )
        return cls(store, run_id or new_run_id(), kind, observe=observe)

    def announce(self, suites: Sequence[str], items: int) -> None:
        """Fire ``on_run_start`` (once: later calls do nothing)."""
        if self._announced or not self.observe:
            return
        self._announced = True
        self._observers.fire(
            "on_run_start", RunStart(run_id=self.id, suites=tuple(suites), items=items, kind=self.kind)
        )

    def verdict(self, event: VerdictEvent, status: str) -> None:
        """Fire ``on_verdict`` for a verdict that arrived (on the observer thread)."""
        self._counts[status] += 1
        if self.observe:
            self._observers.fire("on_verdict", event)

    def finish(self, status: str | None, usage: dict[str, Any]) -> dict[str, int]:
        """Store the run's status, counts and usage; fire ``on_run_end``. Returns the counts.

        ``status`` ``None``: ``failed`` when a criterion failed, else ``passed``.

        Warnings name every observer plugin that raised during the run.
        """
        if self.finished:
            return dict(self._counts)
        self.finished = True
        self._observers.drain()
        counts = self.store.status_counts(self.id) if self.store is not None else dict(self._counts)
        status = status or ("failed" if counts.get("FAIL") else "passed")
        if self.store is not None:
            self.store.finish_run(self.id, status=status, counts=counts, usage=usage)
        if self.observe:
            total = usage.get("total", {})
            self._observers.fire(
                "on_run_end",
                RunEnd(
                    run_id=self.id,
                    counts=counts,
                    kind=self.kind,
                    usage=Usage(
                        input_tokens=total.get("input_tokens"),
                        output_tokens=total.get("output_tokens"),
                        cost_usd=total.get("cost_usd"),
                    ),
                ),
                wait=True,
            )
        for failure in self._observers.failures:
            warnings.warn(
                f"rubrictest: observer plugin {failure.plugin!r} raised in {failure.hook}: {failure.error}",
                ObserverWarning,
                stacklevel=2,
            )
        self._observers.failures.clear()
        return counts


def event_to_json(event: VerdictEvent, status: str) -> dict[str, Any]:
    """A verdict event as JSON, for an xdist worker to send to its controller with the report
    (the controller fires ``on_verdict``). The case travels without its other criteria."""
    crit = event.criterion
    case = event.case
    return {
        "status": status,
        "run_id": event.run_id,
        "judge": event.judge,
        "target": event.target,
        "cached": event.cached,
        "verdict": dataclasses.asdict(event.verdict),
        "criterion": {
            f.name: getattr(crit, f.name) for f in dataclasses.fields(crit) if f.name not in ("judge", "panel")
        }
        | {
            "judge": crit.judge.model_dump(mode="json") if crit.judge else None,
            "panel": crit.panel.model_dump(mode="json") if crit.panel else None,
            "params": dict(crit.params),
            "tags": list(crit.tags),
        },
        "case": {
            f.name: getattr(case, f.name)
            for f in dataclasses.fields(case)
            # a rubric tree's inner nodes stay behind: the event's case holds this criterion only
            if f.name not in ("criteria", "messages", "metadata", "tags", "nodes", "top_level")
        }
        | {
            "messages": [dict(m) for m in case.messages] if case.messages is not None else None,
            "metadata": dict(case.metadata),
            "tags": list(case.tags),
        },
    }


def event_from_json(data: dict[str, Any]) -> tuple[VerdictEvent, str]:
    """The inverse of :func:`event_to_json`: the event (its case holding only this criterion)
    and the report status."""
    c = dict(data["criterion"])
    c["judge"] = ComponentSpec.model_validate(c["judge"]) if c["judge"] is not None else None
    c["panel"] = PanelSpec.model_validate(c["panel"]) if c.get("panel") is not None else None
    c["tags"] = tuple(c["tags"])
    criterion = Criterion(**c)
    k = dict(data["case"])
    k["messages"] = tuple(k["messages"]) if k["messages"] is not None else None
    k["tags"] = tuple(k["tags"])
    case = Case(**k, criteria=(criterion,))
    event = VerdictEvent(
        run_id=data["run_id"],
        case=case,
        criterion=criterion,
        verdict=Verdict(**data["verdict"]),
        judge=data["judge"],
        target=data["target"],
        cached=data["cached"],
    )
    return event, data["status"]
