"""The ``hf`` judge: an in-process transformers model judging every pending request at once.

Modes (``options.mode``):

* ``logprob`` (default): one forward pass per criterion and no generation. The model is asked
  whether the response meets the criterion, and the probabilities of "yes" and "no" as the
  next token(s) give the outcome (the likelier one) and the confidence (its share of
  P(yes) + P(no)). The verdict's ``score`` is P(yes); its rationale gives both
  probabilities and how much of the next-token mass they held.

  A criterion graded on a scale (:class:`rubrictest.Scale`) is asked for its level instead:
  the probability of each level's token(s) (:class:`~rubrictest_hf.answers.LevelTokens`),
  normalised over the levels, is a distribution; the verdict's level is the level nearest
  the expected level Σ p·level (the probability-weighted grade of G-Eval, kept on the scale),
  met from the scale's ``pass_at`` up, and its confidence is the probability of that outcome
  (the levels on its side of ``pass_at``). The rationale and the stored call give the
  distribution and the expected level.
* ``generate``: the remote judges' protocol (:mod:`rubrictest.judging`): one
  generation per request answering all its criteria as JSON with evidence, rationale and
  ``met``; the confidence is P(``true``) at the ``met`` value, read from the generation's
  logits; a malformed answer is retried once with the parser's feedback, then is an ERROR.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

from rubrictest import (
    BatchJudge,
    CallRecord,
    ComponentContext,
    ComponentSpec,
    ConfigError,
    Criterion,
    JudgeRequest,
    JudgeResult,
    Usage,
    Verdict,
)
from rubrictest.judging import (
    PROMPT_VERSION,
    MalformedOutput,
    SampleVerdict,
    attach_probabilities,
    build_messages,
    combine_samples,
    met_probabilities,
    parse_verdicts,
)

from .answers import AnswerTokens, LevelTokens, _Sequences
from .component import LocalModel, encode_prompt, render_chat
from .generation import Generator, generation_kwargs
from .loading import LoadedModel
from .prompts import JudgePrompt, PromptBuilder, fit
from .scoring import Logprobs, Score, ScoreItem, Scorer

LOGPROB_PROMPT_VERSION = "hf-yesno/1"
_TOP_ALTERNATIVES = 8


class HFJudge(LocalModel, BatchJudge):
    """In-process transformers judge (yes/no log-probabilities, or generated JSON verdicts)."""

    what = "hf judge"
    version = "1"

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._init_local()
        self.policy: Any = self.options.evidence_policy
        if self.options.mode == "logprob" and spec.samples > 1:
            raise ConfigError(
                "hf judge: logprob mode is deterministic; samples > 1 needs mode: generate with params.temperature > 0"
            )
        if self.options.mode == "generate":
            try:
                self._gen_kwargs = generation_kwargs(spec.params, self.options.max_new_tokens)
            except ValueError as exc:
                raise ConfigError(f"hf judge: {exc}") from None
            if spec.samples > 1 and not self._gen_kwargs["do_sample"]:
                raise ConfigError(
                    "hf judge: samples > 1 needs params.temperature > 0 (greedy decoding "
                    "gives the same answer every time)"
                )
        elif spec.params:
            raise ConfigError(f"hf judge: params {sorted(spec.params)} only apply to mode: generate")
        self.answers: AnswerTokens | None = None
        # Each scale's level tokens (or why the tokenizer cannot spell its levels), by levels.
        self._levels: dict[tuple[float, ...], LevelTokens | str] = {}

    @property
    def prompt_version(self) -> str:  # type: ignore[override]
        """The yes/no prompt's version, or the shared judge protocol's in generate mode."""
        return LOGPROB_PROMPT_VERSION if self.options.mode == "logprob" else PROMPT_VERSION

    def cache_identity(self) -> dict[str, Any]:
        return {**super().cache_identity(), **self.local_identity()}

    def validate_criterion(self, criterion: Criterion) -> None:
        if not criterion.text:
            raise ValueError("the hf judge answers text criteria; this criterion has no text")

    def _check_tokenizer(self, tokenizer: Any) -> None:
        if self.options.mode == "logprob":
            self.answers = AnswerTokens.build(tokenizer, self.options.yes_words, self.options.no_words, what=self.what)

    def judge_batch(self, requests: Sequence[JudgeRequest]) -> list[JudgeResult]:
        """Answer every request (in a worker thread), batching all their criteria."""
        loaded = self._loaded_or_judge_error()
        with loaded.lock:
            if self.options.mode == "logprob":
                return self._logprob(loaded, requests)
            return self._generate(loaded, requests)

    # -- logprob mode -------------------------------------------------------------------

    def _level_tokens(self, tokenizer: Any, criterion: Criterion) -> LevelTokens | str:
        """The level tokens of ``criterion``'s scale, or why its levels cannot be read."""
        assert criterion.scale is not None
        key = criterion.scale.levels
        if key not in self._levels:
            try:
                self._levels[key] = LevelTokens.build(tokenizer, key, what=self.what)
            except ConfigError as exc:
                self._levels[key] = str(exc)
        return self._levels[key]

    def _logprob(self, loaded: LoadedModel, requests: Sequence[JudgeRequest]) -> list[JudgeResult]:
        assert self.answers is not None
        started = time.perf_counter()
        answer_sets, unreadable = self._answer_sets(loaded, requests)
        builder = PromptBuilder(
            loaded.tokenizer,
            max_length=self.max_length,
            truncation=self.options.truncation,
            mode="logprob",
            answer_room=max(a.longest for a in answer_sets.values()) - 1,
        )
        scorer = Scorer(
            loaded,
            max_batch_tokens=self.options.batch_tokens(loaded.device),
            max_cache_tokens=self.options.cache_tokens(loaded.device),
            prefix_cache=self.options.prefix_cache,
            stats=self.stats,
        )
        items: dict[tuple[float, ...] | None, list[ScoreItem]] = {key: [] for key in answer_sets}
        where: dict[tuple[float, ...] | None, list[tuple[int, int]]] = {key: [] for key in answer_sets}
        details: dict[tuple[int, int], dict[str, Any]] = {}
        verdicts: list[list[Verdict | None]] = []
        notes: list[str | None] = []
        tokens: list[int] = []
        shown: list[dict[str, Any] | None] = []
        for r, request in enumerate(requests):
            slots: list[Verdict | None] = [None] * len(request.criteria)
            verdicts.append(slots)
            built = builder.build(request)
            notes.append(None if isinstance(built, str) else built[0].note if built else None)
            tokens.append(0)
            shown.append(_shown_prompt(loaded.tokenizer, request, built))
            if isinstance(built, str):
                for c, criterion in enumerate(request.criteria):
                    slots[c] = Verdict.failed(criterion.id, built)
                continue
            for c, prompt in enumerate(built):
                criterion = request.criteria[c]
                if (r, c) in unreadable:
                    slots[c] = Verdict.failed(criterion.id, unreadable[(r, c)])
                    continue
                key = criterion.scale.levels if criterion.scale is not None else None
                items[key].append(ScoreItem(tuple(prompt.prefix), tuple(prompt.suffix)))
                where[key].append((r, c))
                tokens[r] += len(prompt)
        for key, answers in answer_sets.items():
            if not items[key]:
                continue
            if isinstance(answers, AnswerTokens):
                scores = scorer.score(items[key], answers)
                for (r, c), score in zip(where[key], scores, strict=True):
                    verdicts[r][c] = _verdict(requests[r].criteria[c], score, notes[r])
                continue
            assert isinstance(answers, LevelTokens)
            logprobs = scorer.sequence_logprobs(items[key], answers)
            for (r, c), logp in zip(where[key], logprobs, strict=True):
                verdicts[r][c], details[(r, c)] = _level_verdict(requests[r].criteria[c], answers, logp, notes[r])
        elapsed = time.perf_counter() - started
        total = sum(tokens) or 1
        results = []
        for r, request in enumerate(requests):
            final = [v for v in verdicts[r] if v is not None]
            response = {
                v.criterion_id: details.get((r, c)) or {"outcome": v.outcome, "p_yes": v.score, "error": v.error}
                for c, v in enumerate(final)
            }
            call = CallRecord(
                request={
                    "mode": "logprob",
                    "prompt_version": LOGPROB_PROMPT_VERSION,
                    "criteria": [c.id for c in request.criteria],
                    "truncation": notes[r],
                    "prompt": shown[r],
                },
                response=response,
                model=loaded.location,
                usage=Usage(input_tokens=tokens[r], output_tokens=0, latency_s=elapsed * tokens[r] / total),
            )
            results.append(JudgeResult(final, [call]))
        return results

    def _answer_sets(
        self, loaded: LoadedModel, requests: Sequence[JudgeRequest]
    ) -> tuple[dict[tuple[float, ...] | None, _Sequences], dict[tuple[int, int], str]]:
        """The answers each criterion is scored on -- yes/no (key ``None``) or its scale's
        levels (key: the levels) -- and the reason for each (request, criterion) whose scale
        the tokenizer cannot spell."""
        assert self.answers is not None
        answer_sets: dict[tuple[float, ...] | None, _Sequences] = {None: self.answers}
        unreadable: dict[tuple[int, int], str] = {}
        for r, request in enumerate(requests):
            for c, criterion in enumerate(request.criteria):
                if criterion.scale is not None:
                    levels = self._level_tokens(loaded.tokenizer, criterion)
                    if isinstance(levels, str):
                        unreadable[(r, c)] = levels
                    else:
                        answer_sets[criterion.scale.levels] = levels
        return answer_sets, unreadable

    # -- generate mode ------------------------------------------------------------------

    def _generate(self, loaded: LoadedModel, requests: Sequence[JudgeRequest]) -> list[JudgeResult]:
        started = time.perf_counter()
        generator = Generator(
            loaded,
            max_batch_tokens=self.options.batch_tokens(loaded.device),
            stats=self.stats,
            top_logprobs=_TOP_ALTERNATIVES,
        )
        new_tokens = self._gen_kwargs["max_new_tokens"]
        samples = self.spec.samples
        parsed: list[list[list[SampleVerdict]]] = [[] for _ in requests]
        failures: list[str | None] = [None] * len(requests)
        usage = [Usage(input_tokens=0, output_tokens=0) for _ in requests]
        notes: list[str | None] = [None] * len(requests)
        raw: list[list[str]] = [[] for _ in requests]
        feedback: list[str | None] = [None] * len(requests)
        pending = list(range(len(requests)))
        for _attempt in range(2):
            prompts: list[list[int]] = []
            owner: list[int] = []
            for r in pending:
                built = self._generate_prompt(requests[r], feedback[r], new_tokens)
                if isinstance(built, str):
                    failures[r] = built
                    continue
                ids, notes[r] = built
                for _ in range(samples - len(parsed[r])):
                    prompts.append(ids)
                    owner.append(r)
            outputs = generator.generate(prompts, self.spec.params, self.options.max_new_tokens)
            retry: list[int] = []
            for r, out in zip(owner, outputs, strict=True):
                if isinstance(out, str):
                    failures[r] = out
                    continue
                usage[r] = usage[r] + Usage(input_tokens=out.prompt_tokens, output_tokens=len(out.ids))
                raw[r].append(out.text)
                try:
                    sample = parse_verdicts(out.text, requests[r].criteria)
                except MalformedOutput as exc:
                    feedback[r] = exc.feedback
                    failures[r] = f"malformed answer ({exc.kind}): {exc.feedback}"
                    if r not in retry:
                        retry.append(r)
                    continue
                attach_probabilities(sample, met_probabilities(out.logprobs or []))
                parsed[r].append(sample)
            pending = [r for r in retry if len(parsed[r]) < samples]
            for r in range(len(requests)):
                if len(parsed[r]) >= samples:
                    failures[r] = None
            if not pending:
                break
        latency = (time.perf_counter() - started) / max(1, len(requests))
        return [
            self._generated_result(
                loaded,
                request,
                parsed[r],
                failures[r],
                notes[r],
                raw[r],
                dataclasses.replace(usage[r], latency_s=latency),
            )
            for r, request in enumerate(requests)
        ]

    def _generated_result(
        self,
        loaded: LoadedModel,
        request: JudgeRequest,
        parsed: list[list[SampleVerdict]],
        failure: str | None,
        note: str | None,
        raw: list[str],
        usage: Usage,
    ) -> JudgeResult:
        """One request's verdicts (its samples combined, or ERROR with the last failure) and
        the call record of its generations."""
        if parsed:
            verdicts = combine_samples(request, parsed, self.policy)
            if note:
                verdicts = [dataclasses.replace(v, rationale=f"{note} {v.rationale or ''}".strip()) for v in verdicts]
        else:
            reason = failure or "the judge produced no answer"
            verdicts = [Verdict.failed(c.id, reason) for c in request.criteria]
        call = CallRecord(
            request={
                "mode": "generate",
                "prompt_version": PROMPT_VERSION,
                "messages": build_messages(request),
                "truncation": note,
            },
            response={"texts": raw},
            model=loaded.location,
            error=failure if not parsed else None,
            attempts=max(1, len(raw)),
            usage=usage,
        )
        return JudgeResult(verdicts, [call])

    def _generate_prompt(
        self, request: JudgeRequest, feedback: str | None, new_tokens: int
    ) -> tuple[list[int], str | None] | str:
        tok = self.loaded.tokenizer

        def ids_for(input_text: str, response: str) -> list[int]:
            case = dataclasses.replace(request.case, input=input_text, messages=None)
            trimmed = dataclasses.replace(request, case=case, response=response)
            text = render_chat(tok, build_messages(trimmed, feedback), plain_suffix="\n\nJSON answer:", thinking=False)
            return encode_prompt(tok, text)

        fitted = fit(
            lambda i, r: len(ids_for(i, r)) + new_tokens,
            request.case.prompt,
            request.response,
            max_length=self.max_length,
            truncation=self.options.truncation,
            encode=lambda t: list(tok.encode(t, add_special_tokens=False)),
            decode=tok.decode,
        )
        if isinstance(fitted, str):
            return fitted
        input_text, response, note = fitted
        return ids_for(input_text, response), note


def _shown_prompt(tokenizer: Any, request: JudgeRequest, built: Sequence[JudgePrompt] | str) -> dict[str, Any] | None:
    """What the model saw, as text, for the stored call: the shared prefix once, then each
    criterion's suffix (decoded from the ids, so special tokens and cuts are visible)."""
    if isinstance(built, str) or not built:
        return None
    return {
        "prefix": tokenizer.decode(built[0].prefix),
        "suffixes": {c.id: tokenizer.decode(p.suffix) for c, p in zip(request.criteria, built, strict=True)},
    }


def _verdict(criterion: Criterion, score: Score | str, note: str | None) -> Verdict:
    if isinstance(score, str):
        return Verdict.failed(criterion.id, score)
    p_yes = score.p_positive
    rationale = (
        f"P(yes) = {p_yes:.3f}, P(no) = {1 - p_yes:.3f} (yes and no held {score.mass:.1%} of "
        "the next-token probability)"
    )
    if note:
        rationale = f"{note} {rationale}"
    return Verdict(
        criterion_id=criterion.id,
        outcome="met" if score.positive else "not_met",
        confidence=score.confidence,
        rationale=rationale,
        score=min(1.0, max(0.0, p_yes)),
    )


def _level_verdict(
    criterion: Criterion, answers: LevelTokens, logp: Logprobs | str, note: str | None
) -> tuple[Verdict, dict[str, Any]]:
    """The verdict on a criterion graded on a scale from its levels' probabilities (the
    module docstring), and what the stored call shows of it."""
    scale = criterion.scale
    assert scale is not None
    if isinstance(logp, str):
        return Verdict.failed(criterion.id, logp), {"outcome": "error", "error": logp}
    p, held = answers.distribution(logp)
    if held <= 0:
        reason = "the model put no probability on any level of the scale"
        return Verdict.failed(criterion.id, reason), {"outcome": "error", "error": reason}
    expected = sum(pi * lv for pi, lv in zip(p, scale.levels, strict=True))
    level = min(scale.levels, key=lambda lv: abs(lv - expected))  # the lower of two equally near
    met = scale.passes(level)
    confidence = sum(pi for pi, lv in zip(p, scale.levels, strict=True) if scale.passes(lv) == met)
    shown = ", ".join(f"{lv:g}: {pi:.3f}" for lv, pi in zip(scale.levels, p, strict=True))
    rationale = (
        f"P(level) {shown}; expected level {expected:.2f} (the levels held {held:.1%} of the next-token probability)"
    )
    if note:
        rationale = f"{note} {rationale}"
    verdict = scale.verdict(criterion.id, level, confidence=min(1.0, max(0.0, confidence)), rationale=rationale)
    detail = {
        "outcome": verdict.outcome,
        "level": level,
        "expected_level": expected,
        "mass": held,
        "distribution": {f"{lv:g}": pi for lv, pi in zip(scale.levels, p, strict=True)},
    }
    return verdict, detail
