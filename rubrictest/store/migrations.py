"""Numbered migrations of the results database.

Each migration runs once, in its own transaction, and is recorded in ``_sqlite_migrations``.
A released migration is never edited: a change to the schema is a new function below, with
a comment saying why it exists.
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("rubrictest")


@migrations()
def m001_initial(db: Database) -> None:
    """The four tables of the store contract: runs, cases, verdicts, judge_calls."""
    db.table("runs").create(
        {
            "id": str,  # e.g. 20261121T235959Z-3f2a
            "started_at": str,
            "finished_at": str,
            "status": str,  # running | passed | failed | interrupted | error (| abandoned, m009)
            "rootdir": str,
            "argv": str,  # JSON list, secrets never included
            "version": str,  # rubrictest version
            "counts": str,  # JSON {PASS: n, FAIL: n, MISSED: n, ERROR: n}
            "usage": str,  # JSON totals: tokens, cost, calls, cache hits
        },
        pk="id",
    )
    db.table("cases").create(
        {
            "id": int,
            "run_id": str,
            "suite": str,
            "suite_path": str,
            "case_id": str,
            "position": int,  # order in the suites as collected
            "target": str,  # target label ('' for fixed outputs)
            "input": str,
            "reference": str,
            "response": str,
            "response_hash": str,
            "score": float,
            "outcome": str,  # passed | failed | error
            "reason": str,
            "tags": str,  # JSON list
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("judge_calls").create(
        {
            "id": int,
            "run_id": str,
            "kind": str,  # judge | target
            "component": str,  # label, e.g. openai:gpt-4.1
            "plugin": str,
            "model": str,
            "cache_key": str,
            "request": str,  # JSON of what was sent (never a secret)
            "response": str,  # JSON or text of what came back
            "result": str,  # JSON of the parsed result (verdicts, or the target text)
            "error": str,
            "input_tokens": int,
            "output_tokens": int,
            "cost_usd": float,
            "latency_s": float,
            "attempts": int,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("verdicts").create(
        {
            "id": int,
            "run_id": str,
            "suite": str,
            "case_id": str,
            "target": str,
            "criterion_id": str,
            "position": int,  # order in the suites as collected (verdicts arrive in any order)
            "criterion_hash": str,
            "criterion_text": str,
            "check_name": str,
            "points": float,
            "must": int,
            "judge": str,  # judge label
            "outcome": str,  # met | not_met | error
            "status": str,  # PASS | FAIL | MISSED | ERROR
            "confidence": float,
            "evidence": str,
            "evidence_supported": int,
            "rationale": str,
            "error": str,
            "score": float,
            "votes": str,  # JSON list or null
            "cached": int,  # 1 when the verdict came from the cache
            "judge_call_id": int,
            "tags": str,  # JSON list
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id"), ("judge_call_id", "judge_calls", "id")],
    )
    db.table("judge_calls").create_index(["cache_key"])
    # One verdict per criterion per case run: pytest-xdist workers that judge the same case
    # (a gate needs every case) must not store it twice.
    db.table("verdicts").create_index(["run_id", "suite", "case_id", "target", "criterion_id"], unique=True)
    db.table("verdicts").create_index(["criterion_hash"])
    db.table("cases").create_index(["run_id", "suite", "case_id", "target"], unique=True)


@migrations()
def m002_read_indexes(db: Database) -> None:
    """Indexes for reading large runs (``rubrictest view``, reports): a run's verdicts and cases
    in suite order without sorting every row, and a run's model calls without scanning all calls."""
    db.table("verdicts").create_index(["run_id", "position"], if_not_exists=True)
    db.table("cases").create_index(["run_id", "position"], if_not_exists=True)
    db.table("judge_calls").create_index(["run_id"], if_not_exists=True)
    db.table("runs").create_index(["started_at"], if_not_exists=True)


@migrations()
def m003_run_kind(db: Database) -> None:
    """What made a run: ``pytest`` (a suite run), ``evaluate`` (the Python API), or the command
    whose model calls it holds (``generate``, ``probe``, ``drift``, ``pairwise``...). Every model
    call is recorded under a run, so commands need runs too, told apart from suite runs."""
    db.table("runs").add_column("kind", str, not_null_default="pytest")


@migrations()
def m004_view_covering_index(db: Database) -> None:
    """A covering index for ``rubrictest view``: a run's verdicts in suite order with what its
    summaries group by (suite, target, criterion, status, judge, tags), so a run's page reads
    the index alone instead of the wide verdict rows (rationale, evidence). It replaces the
    narrower (run_id, position) index of m002, and is kept in the order verdicts are written,
    so storing a verdict costs little more than before."""
    db.table("verdicts").create_index(
        ["run_id", "position", "suite", "target", "criterion_id", "criterion_hash", "status", "judge", "tags"],
        index_name="idx_verdicts_run_summary",
        if_not_exists=True,
    )
    db.execute("DROP INDEX IF EXISTS idx_verdicts_run_id_position")


@migrations()
def m005_calibrations(db: Database) -> None:
    """Calibrations of a stored run's judge against gold labels (``rubrictest calibrate``), so
    ``rubrictest view`` can show a judge's agreement (kappa, accuracy), its calibration error and
    reliability diagram over time."""
    db.table("calibrations").create(
        {
            "id": int,
            "created_at": str,
            "run_id": str,  # the run whose verdicts were calibrated
            "judge": str,  # judge label
            "labels": str,  # the gold labels file
            "n": int,  # labelled verdicts
            "accuracy": float,
            "kappa": float,
            "ece": float,
            "reliability": str,  # JSON [{bin, n, mean_confidence, accuracy}]
            "result": str,  # JSON: the whole summary calibrate printed
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("calibrations").create_index(["judge", "created_at"])


@migrations()
def m006_member_verdicts(db: Database) -> None:
    """Judge panels (issue 14): each member's verdict on a criterion, beside the panel's verdict
    in ``verdicts`` (whose ``judge`` is the panel's label and ``votes`` the members' outcomes).
    ``samples`` holds a member's sampled answers with, under meta-judge voting, each one's meta
    score and whether it counted."""
    db.table("member_verdicts").create(
        {
            "id": int,
            "run_id": str,
            "suite": str,
            "case_id": str,
            "target": str,
            "criterion_id": str,
            "criterion_hash": str,
            "member": str,  # the member judge's label
            "member_index": int,  # its position in the panel
            "outcome": str,  # met | not_met | error
            "confidence": float,
            "evidence": str,
            "evidence_supported": int,
            "rationale": str,
            "error": str,
            "votes": str,  # JSON: its own samples' outcomes, or null
            "samples": str,  # JSON: [{outcome, confidence, evidence, rationale, meta_score?, counted?}]
            "weight": float,  # its static weight
            "counted": int,  # 1 when its vote (or one of its samples) counted
            "cached": int,
            "judge_call_id": int,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id"), ("judge_call_id", "judge_calls", "id")],
    )
    db.table("member_verdicts").create_index(
        ["run_id", "suite", "case_id", "target", "criterion_id", "member"], unique=True
    )


@migrations()
def m007_rubric_trees(db: Database) -> None:
    """Rubric trees: the score of every inner node of a case's rubric (``nodes``), and the parent
    node of each judged leaf (``verdicts.parent_id``). A leaf's id carries its path already;
    the parent is stored so that reading a tree does not depend on parsing ids."""
    db.table("verdicts").add_column("parent_id", str)
    db.table("nodes").create(
        {
            "id": int,
            "run_id": str,
            "suite": str,
            "case_id": str,
            "target": str,  # target label ('' for fixed outputs), as in cases
            "node_id": str,  # its path: paper.method
            "parent_id": str,  # null at the top level
            "depth": int,  # 0 at the top level
            "position": int,  # tree order, shared with the verdicts of its leaves
            "text": str,
            "weight": float,
            "must": int,
            "threshold": float,
            "score": float,  # null when a leaf under it has no verdict
            "outcome": str,  # passed | failed | error
            "leaves": int,
            "detail": str,  # JSON an aggregator adds (e.g. the raw scores of a relative one)
            "tags": str,  # JSON list
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("nodes").create_index(["run_id", "suite", "case_id", "target", "node_id"], unique=True)
    db.table("nodes").create_index(["run_id", "position"])


@migrations()
def m008_scale_levels(db: Database) -> None:
    """Graded scales (:mod:`rubrictest.protocol.scale`): the level a judge gave a criterion graded on a
    scale, beside its normalised ``score`` (``calibrate`` compares levels, not scores)."""
    db.table("verdicts").add_column("level", float)


@migrations()
def m009_run_owner(db: Database) -> None:
    """The process that owns a run (issue 10): its pid, host and start time. A run still
    ``running`` whose owner on this host is gone (killed, crashed) is marked ``abandoned`` by
    the next open of the store; under pytest-xdist the controller owns the run."""
    db.table("runs").add_column("owner_pid", int)
    db.table("runs").add_column("owner_host", str)
    db.table("runs").add_column("owner_started", str)


@migrations()
def m010_sentinel_verdicts(db: Database) -> None:
    """Rubric-free sentinel judges (issue 14, :mod:`rubrictest.protocol.sentinel`): one row per case run
    with the sentinel's holistic verdict and score beside the rubric's score, and whether the
    two disagree (``rubric_only``: the rubric passes what the sentinel fails -- reward hacking;
    ``holistic_only``: the reverse). Kept apart from ``verdicts``: it is no criterion of the
    case and never a test item."""
    db.table("sentinel_verdicts").create(
        {
            "id": int,
            "run_id": str,
            "suite": str,
            "case_id": str,
            "target": str,  # target label ('' for fixed outputs), as in cases
            "judge": str,  # the sentinel's label
            "outcome": str,  # met | not_met | error
            "confidence": float,
            "score": float,  # the sentinel's score in [0, 1]; null on error
            "rubric_score": float,  # the case's rubric score; null when it has none
            "disagreement": str,  # rubric_only | holistic_only | null
            "evidence": str,
            "evidence_supported": int,
            "rationale": str,
            "error": str,
            "cached": int,
            "judge_call_id": int,
            "tags": str,  # JSON list: the case's tags
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id"), ("judge_call_id", "judge_calls", "id")],
    )
    db.table("sentinel_verdicts").create_index(["run_id", "suite", "case_id", "target"], unique=True)


@migrations()
def m011_gates(db: Database) -> None:
    """Release gates (issue 11): each suite's gate outcome per target, so ``report`` and
    ``compare`` can say whether a release passed without re-running anything. ``status`` is
    PASS, FAIL or ERROR (a case had no verdict: the gate could not see every case)."""
    db.table("gates").create(
        {
            "id": int,
            "run_id": str,
            "suite": str,
            "suite_path": str,
            "target": str,  # target label ('' for fixed outputs), as in cases
            "status": str,  # PASS | FAIL | ERROR
            "passes": int,  # cases that passed
            "total": int,  # cases the gate counts
            "pass_rate": float,
            "lower_bound": float,  # Wilson lower bound of the pass rate at `confidence` (null on ERROR)
            "min_pass_rate": float,
            "confidence": float,
            "errors": str,  # JSON list of the case ids without a verdict
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db.table("gates").create_index(["run_id", "suite", "target"], unique=True)


@migrations()
def m012_gate_disagreement(db: Database) -> None:
    """A gate on rubric-holistic disagreements (issue 14, ``gate: {max_disagreement}`` with a
    ``sentinel``), stored in the suite's gate row beside the pass-rate gate: the bound, the
    cases the rubric and the sentinel disagreed on, their share. A gate row's ``status`` is
    the gate's as a whole (FAIL when either bound fails, ERROR when either is undecided);
    ``min_pass_rate`` is null for a gate on disagreements alone."""
    db.table("gates").add_column("max_disagreement", float)
    db.table("gates").add_column("disagreements", str)  # JSON list of the case ids flagged
    db.table("gates").add_column("disagreement_rate", float)


@migrations()
def m013_repeat_verdicts(db: Database) -> None:
    """Repeated judging (``--rubric-repeat K``, issue 11): each repeat's verdict on a criterion
    (``repeat_verdicts``), and on the criterion's verdict in ``verdicts`` -- the majority -- the
    number of repeats, the flip rate (share of the answered repeats against the majority) and
    whether the run marked it unstable. Null on verdicts of runs without repeats."""
    db.table("verdicts").add_column("repeats", int)
    db.table("verdicts").add_column("flip_rate", float)
    db.table("verdicts").add_column("unstable", int)
    db.table("repeat_verdicts").create(
        {
            "id": int,
            "run_id": str,
            "suite": str,
            "case_id": str,
            "target": str,  # target label ('' for fixed outputs), as in verdicts
            "criterion_id": str,
            "criterion_hash": str,
            "repeat": int,  # 0-based; repeat 0 shares the cache entry of a run without repeats
            "judge": str,
            "outcome": str,  # met | not_met | error
            "confidence": float,
            "level": float,
            "evidence": str,
            "evidence_supported": int,
            "rationale": str,
            "error": str,
            "votes": str,  # JSON: the repeat's own samples' outcomes (or panel members'), or null
            "cached": int,
            "judge_call_id": int,
            "created_at": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id"), ("judge_call_id", "judge_calls", "id")],
    )
    db.table("repeat_verdicts").create_index(
        ["run_id", "suite", "case_id", "target", "criterion_id", "repeat"], unique=True
    )


@migrations()
def m014_shards(db: Database) -> None:
    """Shards and resume (issue 15). ``runs.shard`` is ``K/N`` for a run that judged one shard of
    the cases (``--rubric-shard``); ``runs.fingerprint`` hashes every collected case run's suite,
    case, target, criterion ids and hashes and each suite's gate, so that ``rubrictest merge``
    and ``--rubric-resume`` refuse runs of other suites; ``runs.suites`` names them. A shard
    stores its gates as ``DEFERRED`` (with the number of case runs they count): ``merge``
    decides them over every shard's cases."""
    db.table("runs").add_column("shard", str)
    db.table("runs").add_column("fingerprint", str)
    db.table("runs").add_column("suites", str)  # JSON list of suite names


@migrations()
def m015_budgets(db: Database) -> None:
    """The cost budget of a run (issue 10): what its calls spent and what the calls in flight
    reserved, changed by single atomic statements so that the pytest-xdist workers of a run
    share one ``--rubric-max-cost``."""
    db.table("budgets").create(
        {
            "run_id": str,
            "max_cost": float,  # USD
            "spent": float,  # USD, settled calls
            "reserved": float,  # USD, worst cases of the calls in flight
        },
        pk="run_id",
        foreign_keys=[("run_id", "runs", "id")],
    )
