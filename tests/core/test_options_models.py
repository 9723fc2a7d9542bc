"""Plugin options are validated (issue 10, "Strictness"): a component declares its ``options``
as a pydantic model (``options_model``); a misspelt or mistyped option is a collection error
naming file, line and key, and ``rubrictest schema`` includes every plugin's model."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict, Field

from rubrictest import Judge, JudgeRequest, JudgeResult, Register, Verdict, hookimpl
from rubrictest.cli import build_cli

from ..helpers.pytester import outcomes


class ToneOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strictness: int = Field(1, ge=1, le=3)


class ToneJudge(Judge):
    """A third-party judge that declares its options."""

    options_model = ToneOptions
    billable = False

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        return JudgeResult([Verdict(c.id, "met", confidence=1.0) for c in request.criteria])


class _Plugin:
    @hookimpl
    def register_judges(self, register: Register) -> None:
        register("tone", ToneJudge)


SUITE = """
    judge:
      plugin: tone
      options: {OPTIONS}
    cases:
      - id: c1
        output: hello
        criteria: [Is friendly.]
"""


@pytest.fixture
def tone(register_plugin: Callable[[Any, str], Any]) -> None:
    register_plugin(_Plugin(), "test-tone")


def test_a_third_party_options_model_is_checked_at_collection(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], tone: None
) -> None:
    write_suite(SUITE.replace("{OPTIONS}", "{strictnes: 2}"))
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "test_s.rubric.yaml:3: judge.options.strictnes: unknown key 'strictnes' "
            "(did you mean 'strictness'?); allowed keys: strictness"
        ]
    )


def test_a_value_outside_the_model_is_refused(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], tone: None
) -> None:
    write_suite(SUITE.replace("{OPTIONS}", "{strictness: 9}"))
    pytester.runpytest().stdout.fnmatch_lines(
        ["test_s.rubric.yaml:3: judge.options.strictness: Input should be less than or equal to 3"]
    )


def test_valid_options_run(pytester: pytest.Pytester, write_suite: Callable[..., Path], tone: None) -> None:
    write_suite(SUITE.replace("{OPTIONS}", "{strictness: 2}"))
    assert outcomes(pytester.runpytest()) == {"passed": 1}


def _schema(tone: None) -> dict[str, Any]:
    result = CliRunner().invoke(build_cli(), ["schema"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("options", "valid"),
    [
        ({"evidence_policy": "flag", "retry": {"max_attempts": 2}, "price": {"input": 1, "output": 2}}, True),
        ({"evidence_polcy": "flag"}, False),
        ({"price": "cheap"}, False),
        ({"retry": {"max_attemps": 2}}, False),
    ],
)
def test_the_schema_holds_each_plugins_options(options: dict[str, Any], valid: bool, tone: None) -> None:
    schema = _schema(tone)
    suite = {
        "judge": {"plugin": "openai", "model": "gpt-4.1", "options": options},
        "cases": [{"id": "c", "output": "x", "criteria": ["Is short."]}],
    }
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(suite))
    assert (not errors) == valid, errors


def test_the_schema_holds_third_party_options_and_tells_targets_from_judges(tone: None) -> None:
    schema = _schema(tone)
    validator = jsonschema.Draft202012Validator(schema)
    judged = yaml.safe_load(SUITE.replace("{OPTIONS}", "{strictnes: 2}").replace("\n    ", "\n"))
    assert list(validator.iter_errors(judged)), "a third-party plugin's options are in the schema"
    # `evidence_policy` is an option of the openai judge, not of the openai target
    as_target = {
        "target": {"plugin": "openai", "model": "m", "options": {"evidence_policy": "flag"}},
        "cases": [{"id": "c", "input": "q", "criteria": [{"check": "contains", "with": {"value": "a"}}]}],
    }
    assert list(validator.iter_errors(as_target))


PANEL_SUITE = """
    judge:
      panel:
        - {plugin: tone, name: a}
        - plugin: tone
          name: b
          options: {strictnes: 2}
    cases:
      - id: c1
        output: hello
        criteria: [Is friendly.]
"""


def test_a_panel_members_options_are_checked_at_collection(
    pytester: pytest.Pytester, write_suite: Callable[..., Path], tone: None
) -> None:
    write_suite(PANEL_SUITE)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "test_s.rubric.yaml:6: judge.panel[[]1].options.strictnes: unknown key 'strictnes' "
            "(did you mean 'strictness'?); allowed keys: strictness"
        ]
    )


def test_the_schema_holds_panel_members_options(tone: None) -> None:
    validator = jsonschema.Draft202012Validator(_schema(tone))
    suite = yaml.safe_load(PANEL_SUITE.replace("\n    ", "\n"))
    assert list(validator.iter_errors(suite)), "a panel member's options are in the schema"
    suite["judge"]["panel"][1]["options"] = {"strictness": 2}
    assert not list(validator.iter_errors(suite))
    listed = {**suite, "judge": ["tone", {"plugin": "tone", "name": "b", "options": {"strictnes": 2}}]}
    assert list(validator.iter_errors(listed)), "a panel written as a list is checked too"
