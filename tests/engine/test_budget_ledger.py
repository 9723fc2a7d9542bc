"""The budget ledger: a request waits while reservations in flight leave no room, and is
refused at once when what was spent does."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from rubrictest.engine.budget import Budget
from rubrictest.errors import JudgeError
from rubrictest.store import Store


async def _second_waits_for_the_first(budget: Budget) -> tuple[bool, float]:
    first = await budget.reserve(0.006, "a")
    second = asyncio.ensure_future(budget.reserve(0.006, "b"))
    await asyncio.sleep(0.1)
    waiting = not second.done()  # $0.006 reserved + $0.006 > $0.01: it waits
    budget.settle(first, 0.001)  # the first cost less than its worst case
    reservation = await asyncio.wait_for(second, 5)
    budget.settle(reservation, 0.006)
    with pytest.raises(JudgeError, match="cost budget exceeded"):
        await budget.reserve(0.006, "c")  # $0.007 spent: never fits, refused at once
    return waiting, budget.spent()


def test_in_memory() -> None:
    waiting, spent = asyncio.run(_second_waits_for_the_first(Budget(0.01)))
    assert waiting and spent == pytest.approx(0.007)


def test_in_the_database(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "r.db")
    run_id = store.start_run(rootdir=str(tmp_path), argv=[], version="0")
    waiting, spent = asyncio.run(_second_waits_for_the_first(Budget(0.01, store, run_id)))
    assert waiting and spent == pytest.approx(0.007)
    assert store.budget_state(run_id) == pytest.approx((0.007, 0.0))
    store.close()
