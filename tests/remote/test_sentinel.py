"""The rubric-free sentinel over the wire: an OpenAI-compatible judge behind the local server.

The crafted case games its checklist: the response lists every keyword the criteria look
for and answers nothing. The rubric's judge (``keywords``) meets each criterion when its
keywords appear; the sentinel (``holistic``) fails a response that is only a keyword list.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from rubrictest.protocol.sentinel import HOLISTIC_TEXT, SENTINEL_ID

from ..helpers.remote import FAST_RETRY
from .fake_provider import FakeProvider
from .test_panels import judge_suite, member

GAMING = "Keywords: Rayleigh scattering, short wavelengths, atmosphere, blue light. Cause: scattering."
ANSWER = (
    "Air molecules scatter short (blue) wavelengths of sunlight far more than long ones, so blue light "
    "reaches us from all over the sky: Rayleigh scattering in the atmosphere."
)


def _keywords(cid: str, response: str) -> tuple[bool, str]:
    return True, " ".join(response.split()[:3])


def _holistic(cid: str, response: str) -> tuple[bool, str]:
    assert cid == SENTINEL_ID
    good = not response.startswith("Keywords:")
    return good, " ".join(response.split()[:4]) if good else "Keywords: Rayleigh scattering"


@pytest.fixture
def server(provider: FakeProvider, api_keys: str) -> FakeProvider:
    provider.by_model = {"keywords": [_keywords], "holistic": [_holistic]}
    return provider


def sky_suite(server: FakeProvider, **extra: Any) -> dict[str, Any]:
    criteria = [
        {"id": "names-rayleigh", "text": "Names Rayleigh scattering."},
        {"id": "mentions-wavelength", "text": "Says that short wavelengths scatter more."},
    ]
    return {
        "version": 1,
        "suite": "sky",
        "judge": member(server, "keywords"),
        "threshold": 0.5,
        "sentinel": member(server, "holistic"),
        **extra,
        "cases": [
            {
                "id": "gamed",
                "input": "Why is the sky blue?",
                "output": GAMING,
                "criteria": criteria,
                "reference": "Rayleigh scattering of short wavelengths.",
            },
            {"id": "answered", "input": "Why is the sky blue?", "output": ANSWER, "criteria": criteria},
        ],
    }


def test_a_checklist_gaming_response_passes_the_rubric_and_fails_the_sentinel(
    server: FakeProvider, tmp_path: Path
) -> None:
    db = tmp_path / "r.db"
    (gamed, answered), calls = judge_suite(tmp_path, sky_suite(server), db=db)
    assert gamed.passed is True and gamed.score is not None and gamed.score.score == 1.0  # the rubric is fooled
    assert gamed.sentinel is not None and gamed.sentinel.verdict.outcome == "not_met"
    assert gamed.sentinel.disagreement == "rubric_only"
    assert answered.sentinel is not None and answered.sentinel.verdict.outcome == "met"
    assert answered.sentinel.disagreement is None
    # the sentinel saw the task and the response, never the rubric or the reference
    asked = [json.loads(json.dumps(r.body)) for r in server.requests if r.body.get("model") == "holistic"]
    assert len(asked) == 2
    for body in asked:
        text = json.dumps(body)
        assert HOLISTIC_TEXT.split(":")[0] in text and "Why is the sky blue?" in text
        assert "Names Rayleigh scattering" not in text and "short wavelengths scatter more" not in text
        assert "Rayleigh scattering of short wavelengths" not in text
    # one call path: the sentinel's calls are counted and recorded like any judge's
    assert calls.usage_summary()["components"]["holistic"]["calls"] == 2
    with sqlite3.connect(db) as con:
        rows = con.execute(
            "SELECT case_id, judge, outcome, score, rubric_score, disagreement, judge_call_id "
            "FROM sentinel_verdicts ORDER BY case_id"
        ).fetchall()
        assert [(r[0], r[1], r[2], r[5]) for r in rows] == [
            ("answered", "holistic", "met", None),
            ("gamed", "holistic", "not_met", "rubric_only"),
        ]
        assert rows[1][4] == 1.0 and rows[1][3] is not None and rows[1][3] <= 0.3
        recorded = con.execute(
            "SELECT count(*) FROM judge_calls WHERE component = 'holistic' AND request IS NOT NULL"
        ).fetchone()[0]
        assert recorded == 2 and all(r[6] is not None for r in rows)


def test_the_sentinel_is_cached_like_any_judge(server: FakeProvider, tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    judge_suite(tmp_path, sky_suite(server), db=db)
    before = len(server.requests)
    (gamed, _), _ = judge_suite(tmp_path, sky_suite(server), db=db)
    assert len(server.requests) == before  # every call answered from the cache, the sentinel's too
    assert gamed.sentinel is not None and gamed.sentinel.cached and gamed.sentinel.disagreement == "rubric_only"


def test_the_budget_stops_the_sentinel_with_an_error_not_a_verdict(server: FakeProvider, tmp_path: Path) -> None:
    (gamed, _), _ = judge_suite(tmp_path, sky_suite(server), max_cost=0.0)
    assert gamed.sentinel is not None and gamed.sentinel.verdict.outcome == "error"
    assert gamed.sentinel.score is None and gamed.sentinel.disagreement is None
    assert "budget" in (gamed.sentinel.verdict.error or "")


def test_the_reverse_disagreement_and_thresholds(server: FakeProvider, tmp_path: Path) -> None:
    server.by_model["strict"] = [lambda c, r: (False, "")]
    data = sky_suite(
        server, judge=member(server, "strict"), sentinel={"judge": member(server, "holistic"), "high": 0.9, "low": 0.1}
    )
    (gamed, answered), _ = judge_suite(tmp_path, data)
    assert answered.score is not None and answered.score.score == 0.0
    assert answered.sentinel is not None and answered.sentinel.disagreement == "holistic_only"
    assert gamed.sentinel is not None and gamed.sentinel.disagreement is None  # both low: they agree


def test_an_anthropic_sentinel_over_the_messages_wire(server: FakeProvider, tmp_path: Path) -> None:
    sentinel = {
        "plugin": "anthropic",
        "model": "holistic",
        "name": "holistic",
        "base_url": server.anthropic_url,
        "options": {"retry": dict(FAST_RETRY)},
    }
    (gamed, answered), calls = judge_suite(tmp_path, sky_suite(server, sentinel=sentinel))
    assert gamed.sentinel is not None and gamed.sentinel.verdict.outcome == "not_met"
    assert gamed.sentinel.disagreement == "rubric_only"
    assert answered.sentinel is not None and answered.sentinel.disagreement is None
    asked = [r for r in server.requests if r.path.endswith("/messages")]
    assert len(asked) == 2 and all("Names Rayleigh scattering" not in json.dumps(r.body) for r in asked)
    assert calls.usage_summary()["components"]["holistic"]["calls"] == 2
