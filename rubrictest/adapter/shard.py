"""``--rubric-shard K/N``: a deterministic share of the cases, and the fingerprint of a run's suites.

Every machine of a sharded CI job collects the same suites and must pick disjoint shares
that together cover every case, without talking to the others. The share depends only on
the suites' content: cases are ordered by criterion count (largest first) and then by a
SHA-256 of their suite and case id (never pytest's collection order or ``PYTHONHASHSEED``),
and each goes to the shard that holds the fewest criteria so far (longest-processing-time
first: shards within one case's size of each other). A case is never split: all its targets
and criteria go to one shard, so its score and its contribution to a gate are decided in
one place. Gates are decided by ``rubrictest merge`` over every shard's cases.

The fingerprint hashes every collected case run (suite, case, target, criterion ids and
hashes), before any selection: two runs with one fingerprint judged the same suites, so
``rubrictest merge`` and ``--rubric-resume`` refuse runs whose fingerprints differ.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..suite import CaseRun, Suite

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """``"2/3"`` -> ``Shard(2, 3)``.

        Raises:
            ValueError: not ``K/N`` with ``1 <= K <= N``.
        """
        m = _SHARD.match(text)
        if m is None:
            raise ValueError(f"--rubric-shard {text!r}: expected K/N, e.g. 1/3")
        index, count = int(m.group(1)), int(m.group(2))
        if count < 1 or not 1 <= index <= count:
            raise ValueError(f"--rubric-shard {text!r}: K must be between 1 and N (N >= 1)")
        return cls(index, count)

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def _case_hash(suite: str, case_id: str) -> str:
    return hashlib.sha256(f"{suite}\0{case_id}".encode()).hexdigest()


def assign(weights: Mapping[tuple[str, str], int], count: int) -> dict[tuple[str, str], int]:
    """The shard (1-based) of every case ``(suite, case id)`` given its criterion count."""
    order = sorted(weights, key=lambda c: (-weights[c], _case_hash(*c)))
    loads = [0] * count
    out: dict[tuple[str, str], int] = {}
    for case in order:
        k = min(range(count), key=lambda i: (loads[i], i))
        loads[k] += weights[case]
        out[case] = k + 1
    return out


def select(registered: Mapping[str, tuple[Suite, CaseRun]], shard: Shard) -> set[str]:
    """The unit keys of ``registered`` (every collected case run) that ``shard`` judges."""
    weights: dict[tuple[str, str], int] = {}
    for suite, run in registered.values():
        case = (suite.name, run.case.id)
        weights[case] = weights.get(case, 0) + max(1, len(run.case.criteria))
    owner = assign(weights, shard.count)
    return {key for key, (suite, run) in registered.items() if owner[(suite.name, run.case.id)] == shard.index}


def fingerprint(runs: Iterable[tuple[Suite, CaseRun]]) -> str:
    """A hash of every case run's suite, case, target, criterion ids and criterion hashes, and
    of each suite's gate."""
    runs = list(runs)
    lines = sorted(
        f"{suite.name}\t{run.case.id}\t{run.target_label or (run.target.label if run.target else '')}\t"
        + "\t".join(f"{c.id}={c.hash}" for c in run.case.criteria)
        for suite, run in runs
    )
    gates = {suite.name: suite.gate for suite, _ in runs}
    lines += sorted(
        f"{name}\tgate\t{gate.min_pass_rate}\t{gate.confidence}" for name, gate in gates.items() if gate is not None
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:32]
