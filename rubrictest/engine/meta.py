"""Meta-judge-guided voting (DeepSeek-GRM): a meta judge scores each sampled critique, and
only the best-scored samples vote.

DeepSeek-GRM samples several principle+critique generations in parallel and lets a meta
reward model decide which to count before voting (RESEARCH.md §3.1, §4.7). Here every
sampled answer of every panel member that answered -- its verdict, quote and rationale -- is
written as one criterion for the meta judge: *this critique is sound*. Its id is
``<criterion>#<member>.<sample>`` (both 1-based), so a recorded meta judge can answer it.
The meta judge is asked about the same case and response as the panel, through the one call
path (cached, budgeted, recorded), all critiques of a case in one request when it batches
criteria.

A critique's *meta score* is the meta judge's probability that it is sound: its ``score``
when it gives one, else its confidence in *met* (``1 - confidence`` for *not met*; a judge
without confidence counts 1). The ``top_k`` highest scores vote (default: half of the scored
samples, rounded up; ties keep member and sample order), or, with ``meta_threshold``, every
sample scored at least that. Each chosen sample is one ballot with its member's weight.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..protocol import ComponentSpec, Criterion, Judge, JudgeRequest, Verdict, VerdictSample
from ..protocol.voting import Ballot, PanelSpec, self_agreement
from .calls import ModelCalls

if TYPE_CHECKING:
    from .panel import MemberVerdict

SampleKey = tuple[str, int, int]  # (criterion id, member index, sample index)


@dataclass
class MetaScores:
    """The meta judge's scores of one request's critiques, and why some have none."""

    scores: dict[SampleKey, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def meta_id(criterion_id: str, member: int, sample: int) -> str:
    """The id of the meta judge's criterion about one critique (0-based indexes in, 1-based out)."""
    return f"{criterion_id}#{member + 1}.{sample + 1}"


def critique_text(criterion: Criterion, sample: VerdictSample) -> str:
    """What the meta judge is asked about one sampled critique."""
    conclusion = "MET" if sample.outcome == "met" else "NOT MET"
    quote = f'It quotes the response: "{sample.evidence}".' if sample.evidence else "It quotes nothing."
    return (
        f'This critique of the response is sound. The criterion it judged: "{criterion.description}". '
        f"Its conclusion: the criterion is {conclusion}. {quote} Its reasoning: "
        f"{sample.rationale or '(none given)'} -- Met only when the conclusion is right for this response, "
        "any quote is really in the response, and the reasoning supports the conclusion."
    )


def meta_score(verdict: Verdict) -> float | None:
    """The probability a meta verdict gives to *sound* (``None`` for an error)."""
    if verdict.outcome == "error":
        return None
    if verdict.score is not None:
        return verdict.score
    conf = verdict.confidence if verdict.confidence is not None else 1.0
    return conf if verdict.outcome == "met" else 1.0 - conf


async def score_samples(
    calls: ModelCalls,
    spec: ComponentSpec,
    request: JudgeRequest,
    answers: Sequence[dict[str, MemberVerdict]],
    base_dir: Path,
) -> MetaScores:
    """Ask the meta judge about every sampled critique of every member's answer."""
    from .panel import samples_of

    out = MetaScores()
    keys: dict[str, SampleKey] = {}
    criteria: list[Criterion] = []
    for crit in request.criteria:
        for member in answers:
            m = member[crit.id]
            for s, sample in enumerate(samples_of(m.verdict)):
                mid = meta_id(crit.id, m.index, s)
                keys[mid] = (crit.id, m.index, s)
                criteria.append(Criterion(id=mid, text=critique_text(crit, sample)))
    if not criteria:
        return out
    try:
        judge = calls.pool.component("judges", spec, base_dir)
        assert isinstance(judge, Judge)
    except ConfigError as exc:
        out.errors = {c.id: f"meta judge {spec.label}: {exc}" for c in request.criteria}
        return out
    batches = [tuple(criteria)] if judge.batch_criteria else [(c,) for c in criteria]
    judged = await asyncio.gather(
        *(
            calls.judge(
                judge, JudgeRequest(case=request.case, response=request.response, criteria=b, target=request.target)
            )
            for b in batches
        )
    )
    for result in judged:
        for mid, verdict in result.verdicts.items():
            key = keys[mid]
            score = meta_score(verdict)
            if score is None:
                out.errors.setdefault(key[0], f"meta judge {spec.label}: {verdict.error}")
            else:
                out.scores[key] = score
    return out


def select(
    panel: PanelSpec, crit: Criterion, answered: Sequence[MemberVerdict], scores: MetaScores
) -> tuple[list[Ballot], set[int]] | str:
    """The ballots of the samples that count, and the members they belong to; or why none does.

    Records each sample's meta score and whether it counted in the members' ``samples``.
    """
    from .panel import samples_of

    pool: list[tuple[float, int, MemberVerdict, int, VerdictSample]] = []
    for m in answered:
        for s, sample in enumerate(samples_of(m.verdict)):
            score = scores.scores.get((crit.id, m.index, s))
            m.samples[s].update(meta_score=score, counted=False)
            if score is not None:
                pool.append((score, len(pool), m, s, sample))
    assert panel.meta is not None
    if not pool:
        reason = scores.errors.get(crit.id, "it gave no verdict")
        return f"the meta judge scored no critique: {reason}"
    if panel.meta_threshold is not None:
        chosen = [p for p in pool if p[0] >= panel.meta_threshold]
        if not chosen:
            best = max(p[0] for p in pool)
            return f"no critique reached meta_threshold {panel.meta_threshold:g} (the best scored {best:.3g})"
    else:
        k = panel.top_k or math.ceil(len(pool) / 2)
        chosen = sorted(sorted(pool, key=lambda p: (-p[0], p[1]))[:k], key=lambda p: p[1])
    ballots: list[Ballot] = []
    for score, _, m, s, sample in chosen:
        m.samples[s]["counted"] = True
        ballots.append(
            Ballot(
                f"{m.member}#{s + 1}",
                Verdict(
                    criterion_id=crit.id,
                    outcome=sample.outcome,
                    confidence=sample.confidence,
                    evidence=sample.evidence,
                    evidence_supported=sample.evidence_supported,
                    rationale=sample.rationale,
                ),
                m.weight,
                self_agreement(m.verdict),
                score,
            )
        )
    return ballots, {m.index for _, _, m, _, _ in chosen}
