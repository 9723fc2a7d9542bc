"""The one-pass event builder reads every YAML document exactly as composing PyYAML's node
graph did: the same data, the same line of every key path, the same errors (issue 15 item 1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rubrictest.errors import SuiteError
from rubrictest.suite.parsing import MAX_ALIAS_NODES, MAX_DEPTH, _compose, _load_yaml, _Loader
from rubrictest.suite.yaml_events import EventBuilder, NotPlain

ROOT = Path(__file__).resolve().parents[2]

DOCUMENTS = {
    "anchors": """
        base: &b {judge: recorded:x.jsonl, tags: [a, b]}
        cases:
          - id: one
            <<: *b
          - &second
            id: two
            criteria: [&c {id: k, text: Is right.}, *c]
          - *second
        """,
    "aliases without merge": """
        defaults: &d {threshold: 0.5, tags: [x]}
        cases: [{id: a, opts: *d}, {id: b, opts: *d, list: [*d, *d]}]
        """,
    "scalars": """
        int: 3
        float: 1.5e3
        bools: [yes, no, true, off]
        null: ~
        date: 2026-12-06
        stamp: 2026-12-06T07:00:00Z
        quoted: "3"
        tagged: !!str 12
        binary: !!binary aGVsbG8=
        1: numeric key
        "quoted key": v
        ? plain explicit key
        : v
        multi: |
          line one
          line two
        folded: >
          a
          b
        """,
    "alias key": "k: &name first\n*name : second\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "complex key": "? [a, b]\n: v\n",
    "undefined alias": "a: *nope\n",
    "duplicate anchor": "a: &x 1\nb: &x 2\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "empty": "# only a comment\n",
    "null document": "---\n",
    "recursive": "a: &r [1, *r]\n",
    "deep": "x: " + "[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2) + "\n",
    "deep alias": "a: &d " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\nb: [[*d]]\n",
    "laughs": "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(6)),
    "unknown tag": "a: !custom 1\n",
    "set": "a: !!set {x, y}\n",
    "omap": "a: !!omap [{x: 1}, {y: 2}]\n",
    "value key": "a: {=: 1}\n",
    "malformed": "a: [1, 2\n",
    "tab": "a:\n\t- 1\n",
}


def _outcome(read: Any) -> tuple[str, Any]:
    try:
        return "ok", read()
    except SuiteError as exc:
        return "SuiteError", str(exc)
    except yaml.YAMLError as exc:
        return "YAMLError", (getattr(exc, "problem", None), str(getattr(exc, "problem_mark", "")))


def _by_events(text: str) -> Any:
    loader = _Loader(text)
    try:
        builder = EventBuilder(loader, "f.yaml", max_alias_nodes=MAX_ALIAS_NODES, max_depth=MAX_DEPTH)
        return builder.load(), builder.lines
    finally:
        loader.dispose()


def _by_graph(text: str) -> Any:
    loader = _Loader(text)
    try:
        return _compose(loader, "f.yaml")
    finally:
        loader.dispose()


def _texts() -> list[tuple[str, str]]:
    import textwrap

    found = [(name, textwrap.dedent(text).lstrip("\n")) for name, text in DOCUMENTS.items()]
    for pattern in ("suites/**/*.yaml", "tests/**/*.yaml", "docs/**/*.yaml"):
        for path in sorted(ROOT.glob(pattern)):
            try:
                found.append((str(path.relative_to(ROOT)), path.read_text(encoding="utf-8")))
            except UnicodeDecodeError:  # the hostile corpus has a file that is not UTF-8
                continue
    return found


@pytest.mark.parametrize(("name", "text"), _texts(), ids=[name for name, _ in _texts()])
def test_the_event_builder_reads_what_the_node_graph_read(name: str, text: str) -> None:
    try:
        events = _outcome(lambda: _by_events(text))
    except NotPlain:  # left to the graph: _load_yaml composes it, tested below
        assert _outcome(lambda: _load_yaml(text, "f.yaml")) == _outcome(lambda: _by_graph(text))
        return
    graph = _outcome(lambda: _by_graph(text))
    assert events[0] == graph[0], (events, graph)
    if events[0] == "ok":
        (data, lines), (graph_data, graph_lines) = events[1], graph[1]
        assert data == graph_data
        assert lines == graph_lines
    elif events[0] == "YAMLError":  # the builder names the alias PyYAML's C composer does not
        assert events[1][0].startswith(graph[1][0]) and events[1][1] == graph[1][1]
    elif name == "deep alias":  # the builder points at the alias that nests too deep
        assert events[1] == "f.yaml:2: b[0][0]: nested more than 100 levels deep"
        assert graph[1].endswith(": nested more than 100 levels deep")
    else:
        assert events[1] == graph[1]


def test_the_corpus_covers_what_it_must() -> None:
    """The comparison above saw anchors, aliases, merges, errors and real suites."""
    texts = _texts()
    assert len(texts) > len(DOCUMENTS) + 20
    outcomes = {name: _outcome(lambda t=text: _load_yaml(t, "f.yaml"))[0] for name, text in texts[: len(DOCUMENTS)]}
    assert outcomes["anchors"] == "ok" and outcomes["laughs"] == "SuiteError"
    assert outcomes["malformed"] == "SuiteError" and outcomes["set"] == "ok"
