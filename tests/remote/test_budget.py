"""``--rubric-max-cost`` bounds spending: each call reserves its worst case before it is sent,
the pytest-xdist workers of a run share one budget, and a billable model without a price is a
collection error under a budget."""

from __future__ import annotations

import sqlite3
import textwrap

import pytest

from .fake_provider import FakeProvider

BUDGET = 0.01
# Every call's worst case is what it costs: 20 completion tokens (max_tokens: 20, which the
# fake server answers) at $40 per million, no charge for the prompt: $0.0008. So $0.01 holds
# exactly 12 calls, however many are in flight.
PER_CALL = 20 * 40.0 / 1e6
CALLS_IN_BUDGET = int(BUDGET / PER_CALL + 1e-9)


def _suite(
    provider: FakeProvider, cases: int, *, price: str = "price: {input: 0, output: 40}", model: str = "judge-model"
) -> str:
    body = "\n".join(
        f"  - {{id: c{i}, input: 'q{i}', output: 'answer {i}', criteria: [Is fine.]}}" for i in range(cases)
    )
    return (
        textwrap.dedent(f"""\
        version: 1
        judge:
          plugin: openai
          model: {model}
          base_url: {provider.openai_url}
          concurrency: 32
          params: {{max_tokens: 20}}
          options: {{{price}, retry: {{base_delay: 0.01, max_delay: 0.05}}}}
        cases:
        """)
        + body
        + "\n"
    )


def _spent(pytester: pytest.Pytester) -> float:
    conn = sqlite3.connect(pytester.path / "r.db")
    try:
        return float(conn.execute("SELECT coalesce(sum(cost_usd), 0) FROM judge_calls").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_a_budget_at_concurrency_32_spends_at_most_the_budget(
    pytester: pytest.Pytester, api_keys: str, xdist: list[str]
) -> None:
    provider = FakeProvider(latency=0.2).start()  # calls overlap: 32 in flight
    try:
        pytester.makefile(".rubric.yaml", test_paid=_suite(provider, 60))
        result = pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", f"--rubric-db={pytester.path / 'r.db'}", f"--rubric-max-cost={BUDGET}", *xdist
        )
        out = result.stdout.str()
        sent = provider.count("/chat/completions")
    finally:
        provider.stop()
    assert result.ret == 1, out  # the refused calls are ERROR items
    assert "cost budget exceeded" in out
    # one budget for the run, both workers included: at most what it holds, never a wave more
    assert sent == CALLS_IN_BUDGET, out
    assert _spent(pytester) == pytest.approx(CALLS_IN_BUDGET * PER_CALL)
    assert _spent(pytester) <= BUDGET
    assert result.parseoutcomes().get("passed") == CALLS_IN_BUDGET


def test_a_model_without_a_price_is_a_collection_error_under_a_budget(
    pytester: pytest.Pytester, provider: FakeProvider, api_keys: str
) -> None:
    pytester.makefile(".rubric.yaml", test_local=_suite(provider, 3, price="no_api_key: false", model="my-local-model"))
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--rubric-db={pytester.path / 'r.db'}", "--rubric-max-cost=0.01"
    )
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.INTERRUPTED, out  # collection errors stop the session
    assert "no price for model my-local-model: give options.price or drop the budget" in out
    assert "test_local.rubric.yaml" in out
    assert provider.count("/chat/completions") == 0
    # without a budget the same suite runs
    assert pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--rubric-db={pytester.path / 'r.db'}").ret == 0
