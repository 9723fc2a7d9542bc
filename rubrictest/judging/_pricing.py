"""Model prices and the cost of a call.

Prices are USD per million tokens, input and output. Where a price comes from, first match
wins:

1. the component spec's ``options.price: {input: 2.0, output: 8.0}``;
2. the JSON file named by the ``RUBRICTEST_PRICES`` environment variable, a mapping from
   model name (or name prefix) to ``{"input": ..., "output": ...}``;
3. the built-in table :data:`PRICES` (list prices of the providers' public price pages
   as of :data:`PRICES_AS_OF`; check them against your invoice).

Model names match exactly, else by the longest prefix in the table, so a dated snapshot
(``gpt-4o-2024-08-06``, ``claude-3-5-sonnet-20241022``) gets its family's price. A model
found nowhere (a self-hosted one, typically) has an unknown cost: ``None``, not zero. Give a
self-hosted judge ``options.price: {input: 0, output: 0}`` to count it as free.
"""

from __future__ import annotations

import functools
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..errors import ConfigError

PRICES_ENV = "RUBRICTEST_PRICES"
# List prices of that month. This machine cannot reach the providers' pages: the 2026 entries
# were read from public price listings that cite them (two agreeing sources each), and older
# models keep their last list price. A suite's options.price or RUBRICTEST_PRICES overrides.
PRICES_AS_OF = "2026-04"


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        """USD for a call; ``None`` when neither token count is known."""
        if input_tokens is None and output_tokens is None:
            return None
        return ((input_tokens or 0) * self.input + (output_tokens or 0) * self.output) / 1_000_000


PRICES: dict[str, Price] = {
    # OpenAI
    "gpt-5": Price(1.25, 10.0),
    "gpt-5-mini": Price(0.25, 2.0),
    "gpt-5-nano": Price(0.05, 0.40),
    "gpt-4.1": Price(2.0, 8.0),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.0),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-5.1": Price(1.25, 10.0),
    "gpt-5.2": Price(1.75, 14.0),
    "gpt-5.4": Price(2.50, 15.0),
    "gpt-5-pro": Price(15.0, 120.0),
    "gpt-4.5-preview": Price(75.0, 150.0),
    "o3": Price(2.0, 8.0),
    "o3-pro": Price(20.0, 80.0),
    "o3-mini": Price(1.10, 4.40),
    "o4-mini": Price(1.10, 4.40),
    "o1": Price(15.0, 60.0),
    "o1-pro": Price(150.0, 600.0),
    "o1-mini": Price(1.10, 4.40),
    # older OpenAI models still served (a budget needs their price too)
    "gpt-4-turbo": Price(10.0, 30.0),
    "gpt-4": Price(30.0, 60.0),
    "gpt-4-32k": Price(60.0, 120.0),
    "gpt-3.5-turbo": Price(0.50, 1.50),
    # Anthropic
    "claude-opus-4-6": Price(5.0, 25.0),
    "claude-sonnet-4-6": Price(3.0, 15.0),
    "claude-opus-4-5": Price(5.0, 25.0),
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus-4": Price(15.0, 75.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-sonnet-4": Price(3.0, 15.0),
    "claude-3-7-sonnet": Price(3.0, 15.0),
    "claude-3-5-sonnet": Price(3.0, 15.0),
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-3-5-haiku": Price(0.80, 4.0),
    "claude-3-haiku": Price(0.25, 1.25),
    "claude-3-opus": Price(15.0, 75.0),
    "claude-3-sonnet": Price(3.0, 15.0),
}


class PriceOptions(BaseModel):
    """``options.price`` as written in a suite: USD per million tokens."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    input: float = Field(ge=0, description="USD per million input (prompt) tokens.")
    output: float = Field(ge=0, description="USD per million output (completion) tokens.")


def parse_price(value: Any, *, where: str) -> Price:
    """A :class:`Price` from ``{"input": x, "output": y}``, or a :class:`ConfigError` naming
    ``where``."""
    if not isinstance(value, Mapping) or set(value) != {"input", "output"}:
        raise ConfigError(
            f"{where}: a price is a mapping with exactly the keys input and output "
            f"(USD per million tokens), got {value!r}"
        )
    try:
        price = Price(float(value["input"]), float(value["output"]))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: input and output must be numbers, got {value!r}") from None
    if not (math.isfinite(price.input) and math.isfinite(price.output)):
        raise ConfigError(f"{where}: prices must be finite numbers")
    if price.input < 0 or price.output < 0:
        raise ConfigError(f"{where}: prices cannot be negative")
    return price


def load_price_file(path: str | Path) -> dict[str, Price]:
    """Read a price file: a JSON object mapping model names to ``{input, output}``."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{PRICES_ENV}={path}: cannot read the price file: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object mapping model names to prices")
    return {str(k): parse_price(v, where=f"{path}: {k}") for k, v in raw.items()}


@functools.lru_cache(maxsize=8)
def _cached_price_file(path: str, mtime_ns: int) -> dict[str, Price]:
    return load_price_file(path)


def _lookup(table: Mapping[str, Price], model: str) -> Price | None:
    if model in table:
        return table[model]
    matches = [name for name in table if model.startswith(name)]
    return table[max(matches, key=len)] if matches else None


def price_for(model: str | None, options: Mapping[str, Any] | None = None) -> Price | None:
    """The price of ``model``: spec override, then ``RUBRICTEST_PRICES``, then :data:`PRICES`.

    Args:
        model: the model name as sent to the provider.
        options: the component spec's ``options`` (may hold ``price``).

    Raises:
        ConfigError: an invalid override or price file.
    """
    if options and options.get("price") is not None:
        return parse_price(options["price"], where="options.price")
    if not model:
        return None
    env = os.environ.get(PRICES_ENV)
    if env:
        try:
            mtime = os.stat(env).st_mtime_ns
        except OSError:
            mtime = -1  # load_price_file reports the error
        found = _lookup(_cached_price_file(env, mtime), model)
        if found is not None:
            return found
    # Providers may prefix a namespace (``openai/gpt-4o`` on routers); match on the last part.
    return _lookup(PRICES, model) or _lookup(PRICES, model.rsplit("/", 1)[-1])


def cost_usd(
    model: str | None,
    input_tokens: int | None,
    output_tokens: int | None,
    options: Mapping[str, Any] | None = None,
) -> float | None:
    """USD for one call, or ``None`` when the model's price or the token counts are unknown."""
    price = price_for(model, options)
    return None if price is None else price.cost(input_tokens, output_tokens)
