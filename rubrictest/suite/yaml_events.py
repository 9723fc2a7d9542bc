"""A suite's YAML read in one pass over libyaml's events: the data, the line of every key path,
and the bounds on aliases and nesting, without building PyYAML's node graph.

Composing the node graph first (``get_single_node``), walking it for lines and bounds, then
constructing the data from it is three passes and a node with two marks for every scalar:
on a 100,000-criterion suite the graph alone held about 400 MB at the peak of collection.
Here each event becomes data at once. What this builder does not construct itself -- merge
keys (``<<``), ``=`` keys and collections with an explicit tag (``!!set``, ``!!omap``, a
custom tag) -- it still reads for lines and bounds, and marks the document not
:attr:`EventBuilder.plain`: the caller then has PyYAML construct that document's data, so those
keep PyYAML's exact semantics, and they are bounded before PyYAML sees them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from yaml.composer import ComposerError
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from ..errors import SuiteError

Path_ = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_PLAIN_MAP = (None, "!", "tag:yaml.org,2002:map")
_PLAIN_SEQ = (None, "!", "tag:yaml.org,2002:seq")
_SPECIAL_KEYS = ("tag:yaml.org,2002:merge", "tag:yaml.org,2002:value")


class _Anchor:
    """An anchored node: its value, its size once expanded, and the lines under it."""

    __slots__ = ("count", "depth", "entries", "mark", "open", "raw", "value")

    def __init__(self, mark: Any) -> None:
        self.mark = mark
        self.open = True  # still being built: an alias to it now is recursive
        self.value: Any = None
        self.raw: str | None = None  # a scalar's text, for an alias used as a mapping key
        self.count = 0
        self.depth = 0
        # (path below the anchor, line, whether it is a key's line): replayed at each alias
        self.entries: list[tuple[Path_, int, bool]] = []


def dotted(at: Iterable[str | int]) -> str:
    """A key path as written in messages: ``cases[2].criteria[0].with``."""
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class EventBuilder:
    """Build one document's data and line map from ``loader``'s events.

    Args:
        loader: a PyYAML loader over the text (``CSafeLoader`` where libyaml is there).
        path: the file, for messages.
        max_alias_nodes: how many nodes aliases may add once expanded.
        max_depth: how deeply mappings and lists may nest.
    """

    def __init__(self, loader: Any, path: str, *, max_alias_nodes: int, max_depth: int) -> None:
        self.loader = loader
        self.path = path
        self.max_alias_nodes = max_alias_nodes
        self.max_depth = max_depth
        self.lines: dict[Path_, int] = {}
        self.anchors: dict[str, _Anchor] = {}
        self.recording: list[tuple[int, _Anchor]] = []  # open anchors: (length of their path, anchor)
        self.extra = 0  # nodes added by expanding aliases
        # False: a feature whose data PyYAML constructs (merge keys, explicit collection tags);
        # the lines and the bounds are this builder's all the same
        self.plain = True

    def load(self) -> Any:
        """The document's data (``lines`` holds its line map; not :attr:`plain`: the data is
        to be constructed by PyYAML).

        Raises:
            SuiteError: an empty file, a recursive or oversized alias, nesting too deep, a
                duplicate or complex key.
            yaml.YAMLError: malformed YAML (the caller words it).
        """
        get = self.loader.get_event
        get()  # stream start
        start = get()
        if isinstance(start, StreamEndEvent):
            raise SuiteError("the file is empty", path=self.path, line=1)
        value, _, _ = self._node(get(), (), 0)
        get()  # document end
        after = get()
        if not isinstance(after, StreamEndEvent):
            raise ComposerError(
                "expected a single document in the stream",
                start.start_mark,
                "but found another document",
                after.start_mark,
            )
        return value

    # ------------------------------------------------------------------ lines

    def _line(self, at: Path_, line: int, key: bool) -> None:
        if key:
            self.lines[at] = line
        else:
            self.lines.setdefault(at, line)
        for length, anchor in self.recording:
            anchor.entries.append((at[length:], line, key))

    # ------------------------------------------------------------------ nodes

    def _node(self, event: Any, at: Path_, depth: int) -> tuple[Any, int, int]:
        """The value of the node ``event`` starts, the nodes it stands for once aliases are
        expanded, and how deep it nests below itself."""
        line = event.start_mark.line + 1
        if depth > self.max_depth:
            raise SuiteError(
                f"nested more than {self.max_depth} levels deep", path=self.path, line=line, key=dotted(at) or None
            )
        if type(event) is AliasEvent:
            return self._alias(event, at, depth, line)
        self._line(at, line, False)
        anchor = None
        if event.anchor is not None:
            if event.anchor in self.anchors:
                first = self.anchors[event.anchor].mark
                raise ComposerError(
                    f"found duplicate anchor {event.anchor!r}; first occurrence",
                    first,
                    "second occurrence",
                    event.start_mark,
                )
            anchor = self.anchors[event.anchor] = _Anchor(event.start_mark)
            self.recording.append((len(at), anchor))
            anchor.entries.append(((), line, False))
        try:
            kind = type(event)
            if kind is ScalarEvent:
                value, count, below = self._scalar(event), 1, 0
            elif kind is SequenceStartEvent:
                value, count, below = self._sequence(event, at, depth)
            elif kind is MappingStartEvent:
                value, count, below = self._mapping(event, at, depth)
            else:  # pragma: no cover - libyaml's parser never emits another event here
                raise TypeError(f"unexpected YAML event {type(event).__name__}")
        finally:
            if anchor is not None:
                self.recording.pop()
        if anchor is not None:
            anchor.open = False
            anchor.value, anchor.count, anchor.depth = value, count, below
            if kind is ScalarEvent:
                anchor.raw = event.value
        return value, count, below

    def _alias(self, event: Any, at: Path_, depth: int, line: int) -> tuple[Any, int, int]:
        anchor = self.anchors.get(event.anchor)
        if anchor is None:
            raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", event.start_mark)
        if anchor.open:
            raise SuiteError(
                "recursive YAML alias (a node that contains itself)", path=self.path, line=line, key=dotted(at) or None
            )
        if depth + anchor.depth > self.max_depth:
            raise SuiteError(
                f"nested more than {self.max_depth} levels deep", path=self.path, line=line, key=dotted(at) or None
            )
        self.extra += anchor.count
        if self.extra > self.max_alias_nodes:
            # named by the top-level key being expanded: the path inside an alias means little
            raise SuiteError(
                f"YAML aliases expand to more than {self.max_alias_nodes:,} extra nodes "
                "(nested aliases: a 'billion laughs' file?)",
                path=self.path,
                line=self.lines.get(at[:1], line),
                key=dotted(at[:1]) or None,
            )
        for below, entry_line, key in anchor.entries:
            self._line((*at, *below), entry_line, key)
        return anchor.value, anchor.count, anchor.depth

    def _scalar(self, event: Any) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
        if tag == _STR:
            return event.value
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        construct = self.loader.yaml_constructors.get(tag)
        if construct is None:  # an unknown tag: PyYAML's own error
            return self.loader.construct_object(node)
        return construct(self.loader, node)

    def _sequence(self, event: Any, at: Path_, depth: int) -> tuple[list[Any], int, int]:
        if event.tag not in _PLAIN_SEQ:
            self.plain = False
        get = self.loader.get_event
        items: list[Any] = []
        count, below = 1, 0
        while type(item := get()) is not SequenceEndEvent:
            value, n, d = self._node(item, (*at, len(items)), depth + 1)
            items.append(value)
            count += n
            below = max(below, d + 1)
        return items, count, below

    def _mapping(self, event: Any, at: Path_, depth: int) -> tuple[dict[Any, Any], int, int]:
        if event.tag not in _PLAIN_MAP:
            self.plain = False
        get = self.loader.get_event
        out: dict[Any, Any] = {}
        seen: dict[str, int] = {}
        count, below = 1, 0
        while type(key_event := get()) is not MappingEndEvent:
            raw, key, line = self._key(key_event, at, key_event.start_mark.line + 1)
            if raw in seen:
                raise SuiteError(
                    f"duplicate key {raw!r} (first at line {seen[raw]})",
                    path=self.path,
                    line=line,
                    key=dotted((*at, raw)),
                )
            seen[raw] = line
            self._line((*at, raw), line, True)
            value, n, d = self._node(get(), (*at, raw), depth + 1)
            out[key] = value
            count += n
            below = max(below, d + 1)
        return out, count, below

    def _key(self, event: Any, at: Path_, line: int) -> tuple[str, Any, int]:
        """A mapping key's text (for lines and duplicates), its value (for the data) and its
        line (an alias key's is its anchor's, as PyYAML's node graph has it)."""
        if type(event) is ScalarEvent:
            tag = event.tag
            if tag is None or tag == "!":
                tag = self.loader.resolve(ScalarNode, event.value, event.implicit)
            if tag in _SPECIAL_KEYS:  # a key like any other for lines and duplicates
                self.plain = False
                return event.value, event.value, line
            if event.anchor is not None:  # an anchored key: built as a node, to be aliased
                return event.value, self._node(event, (), 0)[0], line
            return event.value, event.value if tag == _STR else self._scalar(event), line
        if isinstance(event, AliasEvent):
            anchor = self.anchors.get(event.anchor or "")
            if anchor is not None and not anchor.open and anchor.raw is not None:
                return anchor.raw, anchor.value, anchor.mark.line + 1
            if anchor is None:
                mark: Any = event.start_mark
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}", mark)
        raise SuiteError("a mapping key must be a plain value", path=self.path, line=line, key=dotted(at) or None)
