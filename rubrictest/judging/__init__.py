"""The public judging API: what a provider plugin (a judge that calls a model) builds on.

A model judge follows the same steps whatever the provider, and each step is here:

* the prompt (:func:`build_prompt`, :func:`build_messages`, :data:`PROMPT_VERSION`) with the
  response under test delimited so that instructions inside it are data;
* the verdict schema (:func:`verdict_schema`) to send as structured output, and
  :func:`parse_verdicts` to validate an answer (raising :class:`MalformedOutput`, whose
  message is fed back to the model on the next attempt);
* votes over samples with the evidence policy (:func:`combine_samples`,
  :func:`evidence_policy`, :func:`check_evidence`) and log-probability confidence
  (:class:`TokenLogprob`, :func:`met_probabilities`, :func:`attach_probabilities`);
* bounded retries classified by fault (:class:`RetryPolicy`, :func:`call_with_retries`,
  :class:`CallFailed`, :class:`Refusal`, :class:`ServerProtocolError`) and an
  :class:`AttemptLog` of every attempt with secrets redacted (:func:`redact`);
* :class:`ProviderComponent`, the base of a target or judge that calls a provider SDK
  (key check, retry policy, client fleet, cache identity), and :class:`ProviderOptions`, the
  options model its ``options`` are checked against (:class:`RetryOptions`, :class:`PriceOptions`);
* prices (:class:`Price`, :func:`price_for`, :func:`cost_usd`).

Everything a plugin may rely on is exported here; the underscore modules behind it are
private and may change.
"""

from ._evidence import check_evidence, normalize_whitespace
from ._pricing import PRICES_AS_OF, PRICES_ENV, Price, PriceOptions, cost_usd, parse_price, price_for
from ._protocol import (
    PROMPT_VERSION,
    TOOL_NAME,
    UNSUPPORTED_NOTE,
    EvidencePolicy,
    SampleVerdict,
    TokenLogprob,
    attach_probabilities,
    build_messages,
    build_prompt,
    combine_samples,
    evidence_policy,
    met_probabilities,
    parse_verdicts,
    response_tag,
    verdict_schema,
)
from ._provider import ProviderComponent, ProviderOptions, fit_signature
from ._retry import (
    REDACTED,
    AttemptLog,
    CallFailed,
    Fault,
    MalformedOutput,
    Refusal,
    RetryOptions,
    RetryPolicy,
    RetryStats,
    ServerProtocolError,
    Succeeded,
    call_with_retries,
    classify,
    jsonable,
    redact,
    retry_after_seconds,
)

__all__ = [
    "PRICES_AS_OF",
    "PRICES_ENV",
    "PROMPT_VERSION",
    "REDACTED",
    "TOOL_NAME",
    "UNSUPPORTED_NOTE",
    "AttemptLog",
    "CallFailed",
    "EvidencePolicy",
    "Fault",
    "MalformedOutput",
    "Price",
    "PriceOptions",
    "ProviderComponent",
    "ProviderOptions",
    "Refusal",
    "RetryOptions",
    "RetryPolicy",
    "RetryStats",
    "SampleVerdict",
    "ServerProtocolError",
    "Succeeded",
    "TokenLogprob",
    "attach_probabilities",
    "build_messages",
    "build_prompt",
    "call_with_retries",
    "check_evidence",
    "classify",
    "combine_samples",
    "cost_usd",
    "evidence_policy",
    "fit_signature",
    "jsonable",
    "met_probabilities",
    "normalize_whitespace",
    "parse_price",
    "parse_verdicts",
    "price_for",
    "redact",
    "response_tag",
    "retry_after_seconds",
    "verdict_schema",
]
