"""No secret is stored, printed or written: a key that the servers echo inside valid answers
(rationale, evidence, a target's response) and inside error bodies, for both providers, and a
password in a ``base_url``, are found in no artefact of the run."""

from __future__ import annotations

import socket
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from rubrictest.cli import build_cli
from rubrictest.secrets import REDACTED, redact_text, register_secret

from ..helpers.remote import SENTINEL_KEY
from .fake_provider import FakeProvider, Step

URL_PASSWORD = "url-pass-SENTINEL-4e1d"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _suite(name: str, judge: str, judge_url: str, target: str, target_url: str, closed: int) -> str:
    retry = "{retry: {base_delay: 0.01, max_delay: 0.05, max_attempts: 2}}"
    return textwrap.dedent(f"""\
        version: 1
        suite: {name}
        judge: {{plugin: {judge}, model: judge-model, base_url: "{judge_url}", options: {retry}}}
        cases:
          - id: generated
            input: What is the capital of France?
            target: {{plugin: {target}, model: target-model, base_url: "{target_url}", options: {retry}}}
            criteria: [Names the capital of France., Is polite.]
          - id: fixed
            input: q
            output: Paris is the capital.
            criteria: [Is fine.]
          - id: unauthorised
            input: q
            output: BAD-KEY in this response
            criteria: [Is fine.]
          - id: url-credentials
            input: q
            output: Paris.
            criteria:
              - text: Is fine.
                judge: {{plugin: {judge}, model: judge-model, base_url: "http://rt-user:{URL_PASSWORD}@127.0.0.1:{closed}/v1",
                        timeout: 2, options: {retry}}}
        """)


def test_an_echoed_key_is_in_no_artefact(pytester: pytest.Pytester, provider: FakeProvider, api_keys: str) -> None:
    provider.echo = f" (your key is {SENTINEL_KEY})"
    provider.by_marker = {
        "BAD-KEY": Step(
            "status", status=401, body={"error": {"message": f"Incorrect API key provided: {SENTINEL_KEY}"}}
        )
    }
    closed = _closed_port()
    pytester.makefile(
        ".rubric.yaml",
        test_openai=_suite("openai-judged", "openai", provider.openai_url, "anthropic", provider.anthropic_url, closed),
    )
    pytester.makefile(
        ".rubric.yaml",
        test_anthropic=_suite(
            "anthropic-judged", "anthropic", provider.anthropic_url, "openai", provider.openai_url, closed
        ),
    )
    db = pytester.path / "r.db"
    junit = pytester.path / "junit.xml"
    log = pytester.path / "log.txt"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--rubric-db={db}",
        "-v",
        "-rA",
        f"--junitxml={junit}",
        f"--log-file={log}",
        "--log-file-level=DEBUG",
    )
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == 1, out  # the 401 and the closed port are ERROR items
    assert "HTTP 401" in out and REDACTED in out
    assert provider.count("/chat/completions") and provider.count("/v1/messages")

    html = pytester.path / "report.html"
    reports = [
        CliRunner().invoke(build_cli(), ["report", "--db", str(db), *fmt])
        for fmt in ([], ["--json"], ["--format", "markdown"], ["--format", "github"], ["--html", str(html), "--full"])
    ]
    assert all(r.exit_code == 0 for r in reports), [r.output for r in reports]
    artefacts = {
        "database": db.read_bytes(),
        "database -wal": (pytester.path / "r.db-wal").read_bytes() if (pytester.path / "r.db-wal").exists() else b"",
        "junit": junit.read_bytes(),
        "log file": log.read_bytes(),
        "terminal": out.encode(),
        "reports": "\n".join(r.output for r in reports).encode(),
        "html report": html.read_bytes(),
    }
    # what the servers echoed did arrive, redacted
    assert REDACTED.encode() in artefacts["database"]
    for where, data in artefacts.items():
        assert SENTINEL_KEY.encode() not in data, f"the API key leaked into the {where}"
        assert URL_PASSWORD.encode() not in data, f"the base_url password leaked into the {where}"


def test_redaction_of_registered_values_and_url_credentials() -> None:
    register_secret("plugin-token-0123456789")
    assert redact_text("token plugin-token-0123456789 here") == f"token {REDACTED} here"
    assert redact_text("GET https://me:p4ss@example.com/v1 failed") == f"GET https://{REDACTED}@example.com/v1 failed"
    assert (
        redact_text("mail me@example.com, see https://example.com/a@b")
        == "mail me@example.com, see https://example.com/a@b"
    )
    register_secret("short")  # too short to be a key: ordinary words stay
    assert redact_text("a short answer") == "a short answer"


def test_a_plugin_key_read_by_require_env_is_redacted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rubrictest import require_env

    monkeypatch.setenv("MY_PROVIDER_KEY", "value-of-my-provider-key")  # a name no pattern matches
    require_env("MY_PROVIDER_KEY", what="API key")
    assert redact_text("echo value-of-my-provider-key") == f"echo {REDACTED}"


def test_credential_variables_are_read_as_they_are_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment's credential names are cached by its set of names and their values read
    on every call: a variable set, changed or removed after a first redaction counts at once."""
    monkeypatch.delenv("LATE_API_KEY", raising=False)
    assert redact_text("late-key-1234567") == "late-key-1234567"
    monkeypatch.setenv("LATE_API_KEY", "late-key-1234567")
    assert redact_text("x late-key-1234567 y") == f"x {REDACTED} y"
    monkeypatch.setenv("LATE_API_KEY", "changed-key-7654321")  # the same names, another value
    assert redact_text("late-key-1234567 changed-key-7654321") == f"late-key-1234567 {REDACTED}"
    monkeypatch.setenv("PYTEST_CURRENT_TEST", "toggles the set of names")
    assert redact_text("changed-key-7654321") == REDACTED
    monkeypatch.delenv("LATE_API_KEY")
    assert redact_text("changed-key-7654321") == "changed-key-7654321"
    register_secret("registered-later-0001")
    assert redact_text("registered-later-0001") == REDACTED


def test_the_store_redacts_json_columns_however_the_secret_is_written(tmp_path: Path) -> None:
    """A request or answer is stored as JSON text searched once for secrets (a walk only when one
    is there): a key that JSON escapes, one in a mapping key or a tuple, one in a URL, and data
    that is not plain JSON are redacted all the same."""
    import json

    from rubrictest.store import Store

    escaped = 'quote"and\\back-0001'
    register_secret(escaped)
    register_secret("plain-key-in-a-key-0002")
    values = [
        {"messages": [{"role": "user", "content": f"echo {escaped} please"}]},
        {"plain-key-in-a-key-0002": 1, "odd": ("tuple", "plain-key-in-a-key-0002")},
        {"url": "https://me:hunter2-pass@example.com/v1"},
        {"messages": [{"role": "user", "content": "nothing secret"}], "n": 2},
        {"set": {3}},
    ]
    store = Store.open(tmp_path / "r.db")
    try:
        for i, value in enumerate(values):
            row = {"run_id": "r", "kind": "judge", "component": "c", "plugin": "p", "request": value}
            store.insert_now("judge_calls", {**row, "created_at": str(i)})
        rows = [r["request"] for r in store.db.query("select request from judge_calls order by created_at")]
    finally:
        store.close()
    assert json.loads(rows[0]) == {"messages": [{"role": "user", "content": f"echo {REDACTED} please"}]}
    assert json.loads(rows[1]) == {REDACTED: 1, "odd": ["tuple", REDACTED]}
    assert json.loads(rows[2]) == {"url": f"https://{REDACTED}@example.com/v1"}
    assert json.loads(rows[3]) == values[3]  # nothing to redact: stored as it came
    assert json.loads(rows[4]) == {"set": "{3}"}  # not plain JSON: walked, then written as before


def test_redact_fields_finds_a_secret_in_any_text_field_and_keeps_a_clean_verdict_as_it_is() -> None:
    from rubrictest import Verdict
    from rubrictest.protocol.records import VerdictSample
    from rubrictest.secrets import redact_fields

    register_secret("verdict-field-key-0003")
    clean = Verdict("c1", "met", confidence=0.9, evidence="Paris", rationale="says Paris", score=1.0)
    assert redact_fields(clean) is clean
    leaky = Verdict("c1", "error", error="GET https://me:pw-0003@example.com failed", rationale="ok")
    assert redact_fields(leaky).error == f"GET https://{REDACTED}@example.com failed"
    echoed = Verdict("c1", "met", evidence="the key is verdict-field-key-0003", votes=["met", "met"])
    assert redact_fields(echoed).evidence == f"the key is {REDACTED}"
    nested = Verdict("c1", "met", samples=[VerdictSample("met", rationale="verdict-field-key-0003")])
    assert redact_fields(nested).samples[0].rationale == REDACTED


def test_a_call_is_encoded_once_and_the_store_still_searches_its_text(tmp_path: Path) -> None:
    """The AttemptLog encodes a request and an answer once, to search them for the component's
    key; the store writes that text as it is -- after its own search for every secret it knows,
    which may be more than the component's."""
    import json

    from rubrictest.judging import REDACTED as LOG_REDACTED
    from rubrictest.judging import AttemptLog
    from rubrictest.store import Store

    log = AttemptLog("m", secrets=["component-key-0004"])
    log.sent({"messages": [{"role": "user", "content": "hello"}], "stop": ("a", "b"), "opaque": {1, 2}})
    log.received({"choices": [{"message": {"content": "echo component-key-0004"}}]}, input_tokens=3)
    call = log.record()
    # Data that is not JSON (a set) is kept as its repr; the text is the value's own encoding.
    assert call.request == {"messages": [{"role": "user", "content": "hello"}], "stop": ["a", "b"], "opaque": "{1, 2}"}
    assert call.request_json is not None and json.loads(call.request_json) == call.request
    assert call.response == {"choices": [{"message": {"content": f"echo {LOG_REDACTED}"}}]}
    assert call.response_json is not None and "component-key-0004" not in call.response_json
    log.received({"next": "https://me:pw-0006@example.com/v1"})  # a URL credential, as the store scrubs it
    assert log.record().response == {"next": f"https://{LOG_REDACTED}@example.com/v1"}
    assert "pw-0006" not in (log.record().response_json or "pw-0006")

    register_secret("store-only-key-0005")  # a secret the component never heard of
    log = AttemptLog("m", secrets=["component-key-0004"])
    log.sent({"messages": [{"role": "user", "content": "pass store-only-key-0005 on"}]})
    leaky = log.record()
    assert leaky.request_json is not None and "store-only-key-0005" in leaky.request_json

    store = Store.open(tmp_path / "r.db")
    try:
        store.record_calls(
            "run-1",
            kind="judge",
            component="c",
            plugin="p",
            model="m",
            calls=[call, leaky],
            cache_key=None,
            result=None,
        )
        store.flush()
        # the last call's row is written at once, the others buffered: not in rowid order
        rows = list(store.db.query("select request, response from judge_calls order by response is null"))
    finally:
        store.close()
    assert json.loads(rows[0]["request"]) == call.request and json.loads(rows[0]["response"]) == call.response
    assert json.loads(rows[1]["request"]) == {"messages": [{"role": "user", "content": f"pass {REDACTED} on"}]}
