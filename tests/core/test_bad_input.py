"""Bad input (issue 2, "Bad input"): one clear message naming file, line and key; nothing
half-written; ERROR (never FAIL) when a response or verdict cannot be had."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from rubrictest.errors import StoreError, SuiteError
from rubrictest.store import Store
from rubrictest.suite import load_suite

from ..helpers.fakes import FakeJudgeState
from ..helpers.pytester import assert_no_traceback, db_path, failure_text, outcomes


def _collect_error(pytester: pytest.Pytester) -> pytest.RunResult:
    """Run pytest; assert exactly one collection error, no test run and no database written."""
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert outcomes(result) == {"errors": 1}
    assert not db_path(pytester).exists(), "a suite that does not load must write nothing"
    assert_no_traceback(failure_text(result))
    return result


def test_malformed_yaml_names_file_and_line(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite("""
        cases:
          - id: c1
            output: "unterminated
            criteria: [x]
    """)
    result = _collect_error(pytester)
    result.stdout.fnmatch_lines(["test_s.rubric.yaml:*: malformed YAML: *"])


def test_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text(
        "cases:\n  - id: c1\n    output: a\n    output: b\n    criteria: [{check: contains, with: {value: a}}]\n"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert (info.value.line, info.value.key) == (4, "cases[0].output")
    assert "duplicate key 'output' (first at line 3)" in str(info.value)


def test_schema_violation_names_file_line_and_key(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite("""
        cases:
          - id: c1
            output: a
            threshold: 1.5
            criteria: [{check: contains, with: {value: a}}]
    """)
    result = _collect_error(pytester)
    result.stdout.fnmatch_lines(["test_s.rubric.yaml:4: cases[[]0[]].threshold: *less than or equal to 1*"])


def test_wrong_type_deep_in_a_criterion(tmp_path: Path) -> None:
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text(
        "cases:\n  - id: c1\n    output: a\n    criteria:\n      - {check: contains, with: {value: a}}\n"
        "      - id: two\n        check: contains\n        points: lots\n"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert (info.value.line, info.value.key) == (8, "cases[0].criteria[1].points")


def test_unknown_key_is_named_with_a_suggestion(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite("""
        cases:
          - id: c1
            output: a
            critera:
              - {check: contains, with: {value: a}}
    """)
    result = _collect_error(pytester)
    result.stdout.fnmatch_lines(
        ["test_s.rubric.yaml:4: cases[[]0[]].critera: unknown key 'critera' (did you mean 'criteria'?)*"]
    )


def test_unknown_key_inside_a_criterion_and_at_top_level(tmp_path: Path) -> None:
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text(
        "treshold: 0.5\ncases:\n  - id: c1\n    output: a\n    criteria:\n"
        "      - {check: contains, whith: {value: a}}\n"
    )
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert "2 errors" in message
    assert "line 1: treshold: unknown key 'treshold' (did you mean 'threshold'?)" in message
    assert "line 6: cases[0].criteria[0].whith: unknown key 'whith' (did you mean 'with'?)" in message


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "cases:\n  - {id: c1, output: a, criteria: [{check: equals, with: {value: a}}]}\n"
            "  - {id: c1, output: b, criteria: [{check: equals, with: {value: b}}]}\n",
            3,
            "duplicate case id 'c1' (first at line 2)",
        ),
        (
            "cases:\n  - id: c1\n    output: a\n    criteria:\n"
            "      - {id: k, check: equals, with: {value: a}}\n"
            "      - {id: k, check: contains, with: {value: a}}\n",
            6,
            "duplicate criterion id 'k' in case 'c1'",
        ),
        (
            "judge: recorded:x.jsonl\ncases:\n  - id: c1\n    output: a\n    criteria:\n      - Is polite.\n"
            "      - Is polite!\n",
            7,
            "duplicate criterion id 'is-polite' in case 'c1'*give one an `id`",
        ),
    ],
)
def test_duplicate_ids(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], text: str, line: int, message: str
) -> None:
    write_suite(text)
    result = _collect_error(pytester)
    result.stdout.fnmatch_lines([f"test_s.rubric.yaml:{line}: *{message}*"])


@pytest.mark.parametrize("text", ["cases: []\n", "suite: empty\n"])
def test_a_suite_with_no_cases(pytester: pytest.Pytester, write_suite: Callable[..., Path], text: str) -> None:
    write_suite(text)
    result = _collect_error(pytester)
    result.stdout.fnmatch_lines(["test_s.rubric.yaml:1: *cases*"])


def test_an_empty_file(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite("# nothing here\n")
    _collect_error(pytester).stdout.fnmatch_lines(["test_s.rubric.yaml:1: the file is empty*"])


def test_invalid_regex_is_a_collection_error_at_the_criterion(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        cases:
          - id: c1
            output: a
            criteria:
              - {id: fine, check: contains, with: {value: a}}
              - {id: broken, check: regex, with: {pattern: "([a-z"}}
    """)
    result = _collect_error(pytester)
    result.stdout.fnmatch_lines(["test_s.rubric.yaml:6*criterion 'broken': invalid regex '([a-z': *"])


def test_invalid_json_schema_is_a_collection_error_at_the_criterion(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        cases:
          - id: c1
            output: "{}"
            criteria:
              - id: shape
                check: json_schema
                with: {schema: {type: objekt}}
    """)
    result = _collect_error(pytester)
    result.stdout.fnmatch_lines(["test_s.rubric.yaml:5*criterion 'shape': invalid JSON Schema: *objekt*"])


def test_check_parameters_are_validated_at_collection(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("cases:\n  - {id: c1, output: a, criteria: [{id: k, check: contains, with: {valeu: a}}]}\n")
    _collect_error(pytester).stdout.fnmatch_lines(["*criterion 'k': unknown parameter(s) valeu*"])


def test_unknown_target_points_at_the_target_key(pytester: pytest.Pytester, write_suite: Callable[..., Path]) -> None:
    write_suite("""
        suite: s
        target: nosuch:model
        cases:
          - {id: c1, input: a, criteria: [{check: equals, with: {value: a}}]}
    """)
    _collect_error(pytester).stdout.fnmatch_lines(["test_s.rubric.yaml:2: target: unknown target 'nosuch'*"])


# ------------------------------------------------------------------ responses and checks at run time


JSONL_SUITE = """
    target: jsonl:outputs.jsonl
    gate: {min_pass_rate: 0.0}
    cases:
      - {id: present, input: q1, criteria: [{id: k, check: contains, with: {value: hello}}]}
      - {id: absent, input: q2, criteria: [{id: k, check: contains, with: {value: hello}}]}
"""


def test_jsonl_target_lacking_a_case_errors_that_case_only(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    (pytester.path / "outputs.jsonl").write_text('{"id": "present", "output": "hello"}\n')
    write_suite(JSONL_SUITE)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(
        [
            "*::present::k PASSED*",
            "*::absent::k ERROR*",
            "*::gate ERROR*",
            "*reason*outputs.jsonl has no output for case 'absent'*",
        ]
    )
    assert outcomes(result) == {"passed": 1, "errors": 2}


def test_jsonl_target_whose_file_is_missing_errors_every_item(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(JSONL_SUITE)
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"errors": 3}
    result.stdout.fnmatch_lines(["*reason*file not found*outputs.jsonl*"])


def test_header_names_targets_database_and_components_that_are_not_ready(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(JSONL_SUITE)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(
        [
            "rubrictest *: 3 rubric items, 2 case runs",
            "  targets: jsonl:outputs.jsonl",
            "  results: *rubrictest.db (run *)",
            "*NOT READY jsonl:outputs.jsonl: jsonl target: file not found: *outputs.jsonl*",
        ]
    )


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        (None, "cannot import 'answers': ModuleNotFoundError*"),
        (
            "import nonexistent_dependency_xyz\n",
            "cannot import 'answers': ModuleNotFoundError*nonexistent_dependency_xyz*",
        ),
        ("def other(text):\n    return text\n", "module 'answers' has no attribute 'reply'"),
    ],
)
def test_python_target_that_cannot_be_imported_is_a_collection_error(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], module: str | None, reason: str
) -> None:
    """The module is imported at collection (as pytest imports a conftest.py)."""
    if module is not None:
        (pytester.path / "answers.py").write_text(module)
    write_suite("""
        target: python:answers:reply
        cases:
          - {id: c1, input: q, criteria: [{id: k, check: contains, with: {value: a}}]}
    """)
    _collect_error(pytester).stdout.fnmatch_lines([f"test_s.rubric.yaml:1: target: python target: {reason}"])


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        (
            "def reply(text):\n    raise ValueError('model server down')\n",
            "answers:reply raised ValueError: model server down",
        ),
        ("async def reply(text):\n    return 42\n", "answers:reply returned int; expected a string"),
    ],
)
def test_python_target_that_raises_errors_its_items(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], module: str, reason: str
) -> None:
    (pytester.path / "answers.py").write_text(module)
    write_suite("""
        target: python:answers:reply
        cases:
          - {id: c1, input: q, criteria: [{id: k, check: contains, with: {value: a}}]}
    """)
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"errors": 1}
    result.stdout.fnmatch_lines([f"*reason*{reason}*"])


def test_python_check_that_cannot_be_imported_is_a_collection_error(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        cases:
          - id: c1
            output: a
            criteria:
              - {id: custom, check: python, with: {function: "mychecks:nope"}}
    """)
    _collect_error(pytester).stdout.fnmatch_lines(
        ["test_s.rubric.yaml:5*criterion 'custom': cannot import 'mychecks': ModuleNotFoundError*"]
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("    raise KeyError('boom')\n", "KeyError: 'boom'"),
        ("    return 'maybe'\n", "returned str; expected bool or (bool, reason)"),
    ],
)
def test_python_check_that_raises_or_returns_garbage_is_an_error(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], body: str, reason: str
) -> None:
    (pytester.path / "mychecks.py").write_text(
        "def good(response, case):\n    return ('a' in response, 'saw ' + case.id)\n\n" + "def bad(response):\n" + body
    )
    write_suite("""
        cases:
          - id: c1
            output: a
            criteria:
              - {id: good, check: python, with: {function: "mychecks:good"}}
              - {id: bad, check: python, with: {function: "mychecks:bad"}}
    """)
    result = pytester.runpytest("-v")
    assert outcomes(result) == {"passed": 1, "errors": 1}
    result.stdout.fnmatch_lines(["*::c1::good PASSED*", "*::c1::bad ERROR*", f"*reason*{reason}*"])


def test_a_broken_suite_next_to_a_good_one_writes_nothing(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(
        "cases:\n  - {id: c1, output: a, criteria: [{check: equals, with: {value: a}}]}\n",
        name="test_good.rubric.yaml",
    )
    write_suite("cases:\n  - {id: c1, output: a, critera: []}\n", name="test_bad.rubric.yaml")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*test_bad.rubric.yaml:2: cases[[]0[]].critera: unknown key*"])


def test_a_collection_error_makes_no_model_calls(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], fake_judge: FakeJudgeState
) -> None:
    write_suite("judge: fake:m\ncases:\n  - {id: c1, output: a, criteria: ['yes']}\n", name="test_good.rubric.yaml")
    write_suite("cases:\n  - {id: c1, output: a, critera: []}\n", name="test_bad.rubric.yaml")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert fake_judge.calls == []
    assert not db_path(pytester).exists()


# ------------------------------------------------------------------ the database


GOOD = "cases:\n  - {id: c1, output: a, criteria: [{check: equals, with: {value: a}}]}\n"


def test_a_database_that_is_not_sqlite_is_refused_and_left_untouched(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(GOOD)
    bogus = pytester.path / "results.db"
    bogus.write_text("these are my notes, not a database\n" * 10)
    before = bogus.read_bytes()
    result = pytester.runpytest("--rubric-db", str(bogus))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*results.db is not a SQLite database*"])
    assert bogus.read_bytes() == before


def test_a_database_from_a_newer_rubrictest_is_refused(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite(GOOD)
    db = pytester.path / "results.db"
    Store.open(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES ('rubrictest', 'm999_from_the_future', '2030-01-01')"
        )
    result = pytester.runpytest("--rubric-db", str(db))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*results.db was written by a newer rubrictest (unknown migrations: m999_from_the_future)*"]
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM runs").fetchone() == (0,)


@pytest.fixture
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make the store give up on a lock after 0.2 s instead of 30 s (to keep the test fast)."""
    real_connect = sqlite3.connect

    class QuickConnection(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql.strip().upper().startswith("PRAGMA BUSY_TIMEOUT"):
                sql = "PRAGMA busy_timeout = 200"
            return super().execute(sql, *args)

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs["timeout"] = 0.2
        kwargs["factory"] = QuickConnection
        conn: sqlite3.Connection = real_connect(database, *args, **kwargs)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    yield


def test_a_locked_database_is_a_clear_error(tmp_path: Path, short_busy_timeout: None) -> None:
    db = tmp_path / "locked.db"
    # sqlite3.Connection() itself bypasses the patched sqlite3.connect
    lock = sqlite3.Connection(str(db), isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    lock.execute("CREATE TABLE t (x)")  # uncommitted: another application's table is refused
    try:
        with pytest.raises(StoreError, match="locked.db is locked by another process"):
            Store.open(db)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    Store.open(db).close()  # once released, it opens


def test_the_store_waits_for_a_briefly_held_lock(tmp_path: Path) -> None:
    """The busy timeout lets concurrent writers (xdist workers) queue instead of failing."""
    import threading
    import time

    db = tmp_path / "shared.db"
    Store.open(db).close()
    lock = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    lock.execute("BEGIN IMMEDIATE")

    def release() -> None:
        lock.execute("COMMIT")
        lock.close()

    threading.Timer(0.3, release).start()
    store = Store.open(db)
    started = time.perf_counter()
    store.start_run(rootdir=".", argv=[], version="test")  # a write: waits for the lock
    assert time.perf_counter() - started < 10
    assert len(store.runs()) == 1
    store.close()


def test_a_missing_include_file_names_the_include_key(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    write_suite("""
        include:
          - rubrics/missing.yaml
        cases:
          - {id: c1, output: a, criteria: [{check: equals, with: {value: a}}]}
    """)
    _collect_error(pytester).stdout.fnmatch_lines(
        ["test_s.rubric.yaml:2: include[[]0[]]: cannot read included file 'rubrics/missing.yaml'*"]
    )


def test_an_invalid_companion_file_is_named_with_its_own_line(
    pytester: pytest.Pytester, write_suite: Callable[..., Path]
) -> None:
    (pytester.path / "extra.yaml").write_text("version: 1\ncases:\n  c1:\n    - {check: equals, wiht: {value: a}}\n")
    write_suite("""
        include: [extra.yaml]
        cases:
          - {id: c1, output: a, criteria: [{check: contains, with: {value: a}}]}
    """)
    _collect_error(pytester).stdout.fnmatch_lines(["extra.yaml:4: cases.c1[[]0[]].wiht: unknown key 'wiht'*"])


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "cases:\n  - id: c1\n    input: q\n    messages: [{role: user, content: q}]\n"
            "    output: a\n    criteria: [{check: equals, with: {value: a}}]\n",
            2,
            "give `input` or `messages`, not both",
        ),
        (
            "judge: recorded:x.jsonl\ncases:\n  - id: c1\n    output: a\n    criteria:\n"
            "      - {text: polite, with: {value: a}}\n",
            6,
            "`with` gives parameters to a `check`; this criterion has none",
        ),
        (
            "cases:\n  - id: c1\n    output: a\n    criteria:\n      - {id: k, points: 2}\n",
            5,
            "a criterion needs `text` (for a judge) or `check` (deterministic)",
        ),
        (
            "cases:\n  - id: c1\n    output: a\n    criteria:\n      - polite\n",
            5,
            "criterion 'polite' needs a judge",
        ),
        (
            "cases:\n  - id: c1\n    input: q\n    criteria: [{check: equals, with: {value: a}}]\n",
            2,
            "case 'c1' has no `output` and the suite names no `target`",
        ),
        (
            "cases:\n  - id: 'has space'\n    output: a\n    criteria: [{check: equals, with: {value: a}}]\n",
            2,
            "case id 'has space' is not a valid id: ids use letters, digits",
        ),
        (
            "cases:\n  - id: c1\n    output: a\n    rubric: [tone]\n",
            4,
            "unknown rubric 'tone'; defined rubrics: none",
        ),
    ],
)
def test_other_suite_errors_name_the_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "test_s.rubric.yaml"
    path.write_text(text)
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    assert info.value.line == line, str(info.value)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "gate: {min_pass_rate: 0.5}\ncases:\n"
            "  - {id: gate, output: a, criteria: [{check: equals, with: {value: a}}]}\n",
            "*case id 'gate' is reserved*",
        ),
        (
            "threshold: 0.5\ncases:\n"
            "  - {id: c1, output: a, criteria: [{id: score, check: equals, with: {value: a}}]}\n",
            "*criterion id 'score' is reserved in scored mode*",
        ),
    ],
)
def test_reserved_ids(pytester: pytest.Pytester, write_suite: Callable[..., Path], text: str, message: str) -> None:
    write_suite(text)
    _collect_error(pytester).stdout.fnmatch_lines([message])
