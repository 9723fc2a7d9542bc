"""The ``options:`` of an ``hf`` judge or target, validated into one typed object.

Every key is optional::

    judge:
      plugin: hf
      model: ./models/judge-4b        # a local directory (relative to the suite) or a hub id
      options:
        device: auto                  # auto (cuda if available, else cpu), cpu, cuda, cuda:1...
        device_map: null              # passed to from_pretrained (needs accelerate), e.g. auto
        dtype: auto                   # auto (bfloat16 on cuda, float32 on cpu), float16, bfloat16, float32
        mode: logprob                 # judge only: logprob (one forward pass) or generate
        max_batch_tokens: null        # padded tokens of one forward pass; default 32768 on
                                      # a GPU, 2048 on the CPU (small tensors stay in cache)
        max_cache_tokens: null        # gathered prefix cache of one batch (rows × prefix
                                      # tokens); default 4 × max_batch_tokens
        prefix_cache: true            # judge only: compute a response's shared prefix once
        max_length: null              # context length; default: the model config's
        truncation: middle            # middle (cut the response's middle) or error
        yes_words: [yes]              # judge only: answer words, leading-space and case variants added
        no_words: [no]
        max_new_tokens: 256           # generate mode and targets
        allow_xdist: false            # accept one model copy per pytest-xdist worker
        local_files_only: false       # never reach the hub
        attn_implementation: null     # sdpa, eager, flash_attention_2...
        evidence_policy: require      # generate mode: require, flag or ignore (see judge_protocol)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PositiveInt,
    StrictBool,
    ValidationError,
    field_validator,
)

from rubrictest import ConfigError

# Measured on the CPU with bench/bench_hf_judge.py: 2048 beat 16384 (docs/local-judges.md).
CPU_BATCH_TOKENS = 2048
GPU_BATCH_TOKENS = 32768

# Options that change how fast an answer comes, never the answer: left out of cache keys.
SPEED_ONLY = frozenset(
    {"device", "device_map", "max_batch_tokens", "prefix_cache", "allow_xdist", "local_files_only", "max_cache_tokens"}
)


Words = Annotated[tuple[str, ...], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class HFOptions(BaseModel):
    """Validated ``options`` of the ``hf`` judge and target (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    device: str = "auto"
    device_map: str | dict[str, Any] | None = None
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    mode: Literal["logprob", "generate"] = "logprob"
    max_batch_tokens: PositiveInt | None = None
    max_cache_tokens: PositiveInt | None = None
    prefix_cache: StrictBool = True
    max_length: PositiveInt | None = None
    truncation: Literal["middle", "error"] = "middle"
    yes_words: Words = ("yes",)
    no_words: Words = ("no",)
    max_new_tokens: PositiveInt = 256
    allow_xdist: StrictBool = False
    local_files_only: StrictBool = False
    attn_implementation: str | None = None
    evidence_policy: Literal["require", "flag", "ignore"] = "require"

    @field_validator("yes_words", "no_words")
    @classmethod
    def _words(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        if not words or not all(w.strip() for w in words):
            raise ValueError("must be a non-empty list of words")
        return tuple(w.strip() for w in words)

    @classmethod
    def parse(cls, options: Mapping[str, Any], *, what: str) -> HFOptions:
        """Validate a spec's ``options`` mapping.

        Args:
            options: the spec's ``options``.
            what: the component, for messages (``hf judge``).

        Raises:
            ConfigError: an unknown key or a value of the wrong type.
        """
        try:
            return cls.model_validate(dict(options))
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                if err["type"] == "extra_forbidden":
                    problems.append(f"unknown option(s) {key}; known: {', '.join(sorted(cls.model_fields))}")
                else:
                    problems.append(f"options.{key}: {str(err['msg']).removeprefix('Value error, ')}")
            raise ConfigError(f"{what}: " + "; ".join(problems)) from None

    def batch_tokens(self, device: Any) -> int:
        """``max_batch_tokens``, or the default for ``device`` (a ``torch.device``)."""
        if self.max_batch_tokens:
            return self.max_batch_tokens
        return GPU_BATCH_TOKENS if getattr(device, "type", "cpu") == "cuda" else CPU_BATCH_TOKENS

    def cache_tokens(self, device: Any) -> int:
        """Bound on gathered prefix keys/values (rows × prefix length) of one batch."""
        return self.max_cache_tokens or 4 * self.batch_tokens(device)
