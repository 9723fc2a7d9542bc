"""What ``--rubric-resume`` reads from the store: which run to continue, and what it already has.

A run is resumable when it did not finish (``interrupted``: stopped by Ctrl-C, ``-x`` or a
failure of pytest; ``abandoned``: its process died) and it judged exactly the suites being
collected now (the same fingerprint, see :mod:`rubrictest.adapter.shard`) and the same shard.
Verdicts that a stopped run wrote as placeholders for what it never judged (error
``interrupted``) are removed and judged again; every other stored verdict is kept as it is.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from ..errors import StoreError

if TYPE_CHECKING:
    from .database import Store

UNFINISHED = ("interrupted", "abandoned")
Key = tuple[str, str, str]  # suite, case id, target


def find_run(store: Store, ref: str | None, *, fingerprint: str, suites: list[str], shard: str | None) -> str:
    """The run to resume: ``ref`` (an id, a prefix, ``-N``), or the latest unfinished run of
    ``suites`` (and of this ``shard``).

    Raises:
        StoreError: no such run, or one that cannot be resumed (finished, still running, of
            other suites or criteria, another shard), with the reason.
    """
    if ref:
        run_id = store.resolve_run(ref)
    else:
        marks = ", ".join("?" for _ in UNFINISHED)
        rows = [
            r
            for r in store.db.query(
                f"SELECT id, suites, shard FROM runs WHERE kind = 'pytest' AND status IN ({marks}) "
                "ORDER BY started_at DESC, id DESC",
                list(UNFINISHED),
            )
            if r["suites"] is not None
            and sorted(_json(r["suites"])) == sorted(suites)
            and (r["shard"] or None) == shard
        ]
        if not rows:
            raise StoreError(
                f"--rubric-resume: no interrupted or abandoned run of the suites {', '.join(suites)}"
                + (f" (shard {shard})" if shard else "")
                + f" in {store.path}"
            )
        run_id = str(rows[0]["id"])
    run = store.run(run_id)
    status = run.get("status")
    if status == "running":
        raise StoreError(
            f"--rubric-resume: run {run_id} is still running (if its process died, stop it "
            "and let rubrictest mark it abandoned, or interrupt it with Ctrl-C)"
        )
    if status not in UNFINISHED:
        raise StoreError(
            f"--rubric-resume: run {run_id} finished ({status}); there is nothing to resume: "
            "run the suites again without --rubric-resume"
        )
    if run.get("kind") != "pytest":
        raise StoreError(f"--rubric-resume: run {run_id} is a {run.get('kind')} run, not a suite run")
    if run.get("fingerprint") is None:
        raise StoreError(
            f"--rubric-resume: run {run_id} was stored without a fingerprint of its suites "
            "(by an older rubrictest): it cannot be checked, so it is not resumed"
        )
    if run["fingerprint"] != fingerprint:
        theirs = ", ".join(run.get("suites") or [])
        raise StoreError(
            f"--rubric-resume: run {run_id} judged other suites or criteria (its suites: {theirs}; "
            "cases or criterion hashes differ from the suites collected now)"
        )
    if (run.get("shard") or None) != shard:
        raise StoreError(
            f"--rubric-resume: run {run_id} judged shard {run.get('shard') or 'none'}, "
            f"not {shard or 'every case'}: pass the same --rubric-shard"
        )
    return run_id


def stored_results(
    store: Store, run_id: str, placeholder: str
) -> tuple[dict[Key, dict[str, dict[str, Any]]], dict[Key, dict[str, Any]], dict[Key, dict[str, Any]]]:
    """The verdicts (per case run, per criterion id), case rows and sentinel verdicts already
    stored for ``run_id``, after deleting the verdicts whose error is ``placeholder`` (never
    judged), the rows of the case runs that lost one, and the run's gates."""
    from .database import _decode

    conn = store.db.conn
    with store._lock:  # the store's background flush shares the connection
        store.flush()
        conn.execute("BEGIN IMMEDIATE")
        try:
            _forget_unjudged(store, run_id, placeholder)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    verdicts: dict[Key, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in store.db.query("SELECT * FROM verdicts WHERE run_id = ?", [run_id]):
        verdicts[(row["suite"], row["case_id"], row["target"] or "")][row["criterion_id"]] = _decode("verdicts", row)
    cases = {
        (r["suite"], r["case_id"], r["target"] or ""): r
        for r in store.db.query("SELECT * FROM cases WHERE run_id = ?", [run_id])
    }
    sentinels = {
        (r["suite"], r["case_id"], r["target"] or ""): r
        for r in store.db.query("SELECT * FROM sentinel_verdicts WHERE run_id = ?", [run_id])
    }
    return dict(verdicts), cases, sentinels


def _forget_unjudged(store: Store, run_id: str, placeholder: str) -> None:
    """Delete the placeholder verdicts of what was never judged, the rows of their case runs,
    and the run's gates (decided again over every case when the resumed run ends)."""
    lost = store.db.execute(
        "SELECT DISTINCT suite, case_id, target FROM verdicts WHERE run_id = ? AND outcome = 'error' AND error = ?",
        [run_id, placeholder],
    ).fetchall()
    store.db.execute("DELETE FROM verdicts WHERE run_id = ? AND outcome = 'error' AND error = ?", [run_id, placeholder])
    # decided again over every case once the resumed run ends
    store.db.execute("DELETE FROM gates WHERE run_id = ?", [run_id])
    for suite, case_id, target in lost:
        for table in ("cases", "nodes", "sentinel_verdicts", "repeat_verdicts"):
            store.db.execute(
                f"DELETE FROM {table} WHERE run_id = ? AND suite = ? AND case_id = ? AND target = ?",
                [run_id, suite, case_id, target],
            )


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value
