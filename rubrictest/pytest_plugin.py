"""The pytest adapter: suite files become test items, verdicts become test outcomes.

Loaded automatically through the ``pytest11`` entry point once rubrictest is installed.
It collects only files matching the ini option ``rubric_files`` (default
``test_*.rubric.yaml test_*.rubric.yml``), so no other YAML file of a project is touched.
Turn it off with ``-p no:rubrictest``.

This module stays light on purpose: a project without suites pays for a few option
definitions and a file-name match. The engine, the store, the plugins and the provider SDKs
load with the first suite file (:mod:`rubrictest.adapter`).

Each criterion is an item (``file::case::criterion``); a scored case adds ``::score`` and a
suite with a gate adds ``::gate``. After collection every needed case is handed to the
engine, which runs all model calls concurrently; each item only waits for its own verdict.

Outcomes: a criterion that passes is PASSED; one that fails is FAILED; a scored-mode miss
is MISSED (reported, does not fail the run); a judge that could not decide is ERROR (shown
as a pytest error, never a failure).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .adapter.session import SESSION_KEY, RubricSession, repeat_options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rubrictest", "rubric-based LLM evaluation")
    group.addoption(
        "--rubric-db",
        metavar="PATH",
        default=None,
        help="results database (default: .rubrictest/rubrictest.db under the rootdir, or $RUBRICTEST_DB)",
    )
    group.addoption(
        "--rubric-cache",
        choices=("use", "refresh", "off"),
        default="use",
        help="model-call cache: use (default), refresh (call again, store), off",
    )
    group.addoption(
        "--rubric-max-cost",
        type=float,
        metavar="USD",
        default=None,
        help="spend at most this many US dollars: each call reserves its worst-case cost before "
        "it is sent, a call the budget cannot hold is not sent (ERROR)",
    )
    group.addoption(
        "--rubric-no-store",
        action="store_true",
        default=False,
        help="do not write results to the database (and do not use the cache)",
    )
    group.addoption(
        "--rubric-shard",
        metavar="K/N",
        default=None,
        help="judge shard K of N: a deterministic share of the cases, balanced by criterion "
        "count; each shard writes its own database (default "
        ".rubrictest/rubrictest-shard-K-of-N.db); gates are decided by `rubrictest merge`",
    )
    group.addoption(
        "--rubric-resume",
        metavar="RUN",
        nargs="?",
        const="",
        default=None,
        help="continue an interrupted or abandoned run (default: the latest one of these suites): "
        "stored verdicts are reused, only missing ones are judged; write --rubric-resume=RUN "
        "to name one",
    )
    group.addoption(
        "--rubric-repeat",
        type=int,
        metavar="K",
        default=None,
        help="judge every criterion K times (distinct samples, each stored); the majority "
        "decides, a tie is ERROR; reports show each criterion's flip rate (ini: rubric_repeat)",
    )
    group.addoption(
        "--rubric-unstable-at",
        type=float,
        metavar="RATE",
        default=None,
        help="with --rubric-repeat: mark a criterion unstable when this share of its repeats "
        "disagree with the majority (default 0.2; ini: rubric_unstable_at)",
    )
    parser.addini("rubric_repeat", default="1", help="judge every criterion this many times (--rubric-repeat)")
    parser.addini(
        "rubric_unstable_at",
        default="0.2",
        help="flip rate from which a repeated criterion is unstable (--rubric-unstable-at)",
    )
    parser.addini(
        "rubric_files",
        type="args",
        default=["test_*.rubric.yaml", "test_*.rubric.yml"],
        help="glob patterns of rubrictest suite files",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rubric: a rubrictest criterion, score or gate item")
    repeat_options(config)  # a bad --rubric-repeat is a usage error before collection
    session = RubricSession(config)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "rubrictest-session")


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.close()
        config.pluginmanager.unregister(session)
        del config.stash[SESSION_KEY]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
    """A rubric item's FAIL or ERROR is already rendered text: report it without pytest
    formatting a traceback that would be thrown away (a set-up ERROR cost ~0.2 s each)."""
    fast = getattr(item, "rubric_report", None)
    return fast(call) if fast is not None else None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    patterns = parent.config.getini("rubric_files")
    if any(file_path.match(p) for p in patterns):
        from .adapter.nodes import SuiteFile  # the first suite file loads the machinery

        return SuiteFile.from_parent(parent, path=file_path)
    return None
