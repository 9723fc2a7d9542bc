"""The one-pass event reader (``suite/yaml_events.py``) reads every YAML document as PyYAML does:
the same data, with the line of every key path, and the errors and bounds of a suite file
(issue 15 item 1). When it replaced composing PyYAML's node graph and walking it, the two gave
the same data, lines and errors on every document here but two, whose messages improved
(an undefined alias is named; a too-deep alias is reported where it is used)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from rubrictest.errors import SuiteError
from rubrictest.suite.parsing import MAX_DEPTH, _load_yaml, _Loader

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


ERRORS = {
    "duplicate key": "f.yaml:3: a: duplicate key 'a' (first at line 1)",
    "complex key": "f.yaml:1: a mapping key must be a plain value",
    "undefined alias": "f.yaml:1: malformed YAML: found undefined alias 'nope'",
    "duplicate anchor": "f.yaml:2: malformed YAML: second occurrence",
    "two documents": "f.yaml:2: malformed YAML: but found another document",
    "empty": "f.yaml:1: the file is empty",
    "recursive": "f.yaml:1: a[1]: recursive YAML alias (a node that contains itself)",
    "deep": "nested more than 100 levels deep",
    "deep alias": "f.yaml:2: b[0][0]: nested more than 100 levels deep",
    "laughs": "YAML aliases expand to more than 100,000 extra nodes",
    "unknown tag": "malformed YAML: could not determine a constructor for the tag '!custom'",
    "malformed": "malformed YAML:",
    "tab": "malformed YAML:",
}


@pytest.mark.parametrize(("name", "text"), _texts(), ids=[name for name, _ in _texts()])
def test_a_document_reads_as_pyyaml_reads_it_or_fails_with_its_line(name: str, text: str) -> None:
    try:
        expected: Any = yaml.load(text, Loader=_Loader)  # PyYAML's own reading
    except yaml.YAMLError:
        expected = yaml.YAMLError
    try:
        data, lines = _load_yaml(text, "f.yaml")
    except SuiteError as exc:
        if name.startswith("tests/hostile/"):  # each a refusal: its message is tests/hostile's to check
            return
        assert name in ERRORS, f"{name}: {exc}"
        assert ERRORS[name] in str(exc)
        return
    assert name not in ERRORS, name
    assert data == expected
    assert lines[()] >= 1 and all(isinstance(line, int) and line >= 1 for line in lines.values())


def test_lines_of_keys_aliases_and_merges() -> None:
    """Every key path has the line of its key; a path through an alias, its anchor's lines; a
    merge key is a key like any other (its data is PyYAML's)."""
    import textwrap

    data, lines = _load_yaml(textwrap.dedent(DOCUMENTS["anchors"]).lstrip("\n"), "f.yaml")
    assert data["cases"][0] == {"judge": "recorded:x.jsonl", "tags": ["a", "b"], "id": "one"}
    assert lines[("base",)] == 1 and lines[("base", "tags")] == 1 and lines[("cases",)] == 2
    assert lines[("cases", 0, "<<")] == 4 and lines[("cases", 0, "<<", "judge")] == 1
    assert lines[("cases", 1, "criteria", 1)] == 7 and lines[("cases", 1, "criteria", 1, "text")] == 7
    assert lines[("cases", 2)] == 5 and lines[("cases", 2, "criteria")] == 7  # the anchored case, again
    _, alias_key = _load_yaml(DOCUMENTS["alias key"], "f.yaml")
    assert alias_key == {(): 1, ("k",): 1, ("first",): 1}  # an alias key has its anchor's line


def test_the_corpus_covers_what_it_must() -> None:
    """The documents above include real suites, and every error expected of them happens."""
    names = {name for name, _ in _texts()}
    assert len(names) > len(DOCUMENTS) + 20 and set(ERRORS) <= names
