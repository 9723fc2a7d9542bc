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
from dataclasses import dataclass, fields
from typing import Any

from rubrictest import ConfigError

_MODES = ("logprob", "generate")
_TRUNCATION = ("middle", "error")
_DTYPES = ("auto", "float32", "float16", "bfloat16")
_EVIDENCE_POLICIES = ("require", "flag", "ignore")

# Measured on the CPU with bench/bench_hf_judge.py: 2048 beat 16384 (docs/local-judges.md).
CPU_BATCH_TOKENS = 2048
GPU_BATCH_TOKENS = 32768

# Options that change how fast an answer comes, never the answer: left out of cache keys.
SPEED_ONLY = frozenset({"device", "device_map", "max_batch_tokens", "prefix_cache", "allow_xdist",
                        "local_files_only", "max_cache_tokens"})


@dataclass(frozen=True)
class HFOptions:
    """Validated ``options`` of the ``hf`` judge and target (see the module docstring)."""

    device: str = "auto"
    device_map: str | dict[str, Any] | None = None
    dtype: str = "auto"
    mode: str = "logprob"
    max_batch_tokens: int | None = None
    max_cache_tokens: int | None = None
    prefix_cache: bool = True
    max_length: int | None = None
    truncation: str = "middle"
    yes_words: tuple[str, ...] = ("yes",)
    no_words: tuple[str, ...] = ("no",)
    max_new_tokens: int = 256
    allow_xdist: bool = False
    local_files_only: bool = False
    attn_implementation: str | None = None
    evidence_policy: str = "require"

    @classmethod
    def parse(cls, options: Mapping[str, Any], *, what: str) -> HFOptions:
        """Validate a spec's ``options`` mapping.

        Args:
            options: the spec's ``options``.
            what: the component, for messages (``hf judge``).

        Raises:
            ConfigError: an unknown key or a value of the wrong type.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"{what}: unknown option(s) {', '.join(unknown)}; "
                              f"known: {', '.join(sorted(known))}")
        values: dict[str, Any] = dict(options)
        for key in ("yes_words", "no_words"):
            if key in values:
                words = values[key]
                if isinstance(words, str):
                    words = [words]
                if not isinstance(words, list | tuple) or not words or \
                        not all(isinstance(w, str) and w.strip() for w in words):
                    raise ConfigError(f"{what}: options.{key} must be a non-empty list of words")
                values[key] = tuple(w.strip() for w in words)
        for key in ("max_batch_tokens", "max_new_tokens", "max_length", "max_cache_tokens"):
            value = values.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigError(f"{what}: options.{key} must be a positive integer, not {value!r}")
        for key in ("prefix_cache", "allow_xdist", "local_files_only"):
            if key in values and not isinstance(values[key], bool):
                raise ConfigError(f"{what}: options.{key} must be true or false")
        choices = {"mode": _MODES, "truncation": _TRUNCATION, "dtype": _DTYPES,
                   "evidence_policy": _EVIDENCE_POLICIES}
        for key, allowed in choices.items():
            if key in values and values[key] not in allowed:
                raise ConfigError(f"{what}: options.{key} must be one of {', '.join(allowed)}, "
                                  f"not {values[key]!r}")
        if "device" in values and not isinstance(values["device"], str):
            raise ConfigError(f"{what}: options.device must be a string such as cpu, cuda or cuda:1")
        return cls(**values)

    def batch_tokens(self, device: Any) -> int:
        """``max_batch_tokens``, or the default for ``device`` (a ``torch.device``)."""
        if self.max_batch_tokens:
            return self.max_batch_tokens
        return GPU_BATCH_TOKENS if getattr(device, "type", "cpu") == "cuda" else CPU_BATCH_TOKENS

    def cache_tokens(self, device: Any) -> int:
        """Bound on gathered prefix keys/values (rows × prefix length) of one batch."""
        return self.max_cache_tokens or 4 * self.batch_tokens(device)
