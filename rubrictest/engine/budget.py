"""The cost budget (``--rubric-max-cost`` / ``--max-cost``): reserve a request's worst case
before it is sent, settle with its actual cost after.

A billable request reserves :meth:`~rubrictest.Component.max_request_cost` (its prompt
counted a token per byte, its completion at ``max_tokens``); it is sent only while what was
spent plus what is reserved stays within the budget, and is settled with what it actually
cost once answered. A request that does not fit while others are in flight waits for them to
settle; one that does not fit beside what was spent is refused. So the budget is overshot only
by requests that cost more than their reservation -- at most one in-flight wave's *actual
minus reserved* -- never by the number of requests in flight.

With a results database, the ledger is a row of the ``budgets`` table keyed by run, changed
by single atomic statements: the pytest-xdist workers of a run share one budget. Without
one, it is kept in memory.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import JudgeError

if TYPE_CHECKING:
    from ..store import Store


@dataclass
class Reservation:
    """What one request reserved (USD)."""

    amount: float
    settled: bool = False


class Budget:
    """The budget of one run.

    Args:
        max_cost: USD the run may spend.
        store: the results database shared by the run's processes (``None``: in memory).
        run_id: the run whose ledger row is used.
    """

    def __init__(self, max_cost: float, store: Store | None = None, run_id: str | None = None) -> None:
        self.max_cost = max_cost
        self.store = store if run_id is not None else None
        self.run_id = run_id
        self._spent = 0.0
        self._reserved = 0.0
        self._lock = threading.Lock()
        self._settled = 0

    async def reserve(self, amount: float, what: str, *, wait_at_most: float = 300.0) -> Reservation:
        """Reserve ``amount`` USD for one request of ``what``. While the reservations of
        requests in flight are what leaves no room, wait for them to settle (they may cost
        less); give up at once when what was spent leaves no room, or after ``wait_at_most``
        seconds (a reservation of a process that died is never settled).

        Raises:
            JudgeError: the budget cannot hold it (the request must not be sent).
        """
        deadline = time.monotonic() + wait_at_most
        while True:
            seen = self._settled
            ok, spent, reserved = self._try_reserve(amount)
            if ok:
                return Reservation(amount)
            if spent + amount > self.max_cost + 1e-12 or reserved <= 1e-12 or time.monotonic() > deadline:
                break
            # woken by a settle of this process, or polling for those of other processes
            for _ in range(10):
                await asyncio.sleep(0.02)
                if self._settled != seen:
                    break
        raise JudgeError(
            f"cost budget exceeded: ${spent:.4f} spent and ${reserved:.4f} reserved by calls in flight of the "
            f"${self.max_cost:.4f} budget (--rubric-max-cost / --max-cost); this call of {what} may cost up to "
            f"${amount:.4f}, so it was not sent"
        )

    def _try_reserve(self, amount: float) -> tuple[bool, float, float]:
        if self.store is not None and self.run_id is not None:
            return self.store.budget_reserve(self.run_id, self.max_cost, amount)
        with self._lock:
            spent, reserved = self._spent, self._reserved
            ok = spent + reserved + amount <= self.max_cost + 1e-12
            if ok:
                self._reserved += amount
        return ok, spent, reserved

    def settle(self, reservation: Reservation, actual: float) -> None:
        """Replace ``reservation`` by the ``actual`` cost of its request (once)."""
        if reservation.settled:
            return
        reservation.settled = True
        try:
            if self.store is not None and self.run_id is not None:
                self.store.budget_settle(self.run_id, reservation.amount, actual)
                return
            with self._lock:
                self._reserved -= reservation.amount
                self._spent += actual
        finally:
            self._settled += 1  # wakes the requests of this process waiting for room

    def spent(self) -> float:
        """USD spent by the run so far (every process of it, with a database)."""
        if self.store is not None and self.run_id is not None:
            return self.store.budget_state(self.run_id)[0]
        return self._spent
