"""A tiny stand-in for an LLM app, used by test_app.rubric.yaml as a `python` target."""

from __future__ import annotations

import asyncio
import json


async def extract_order(prompt: str) -> str:
    """Pretend to be an extraction endpoint: returns the order as JSON."""
    await asyncio.sleep(0)  # an async target: the engine runs many at once
    words = prompt.replace(",", " ").split()
    number = next((w for w in words if w.startswith("#")), None)
    qty = next((int(w) for w in words if w.isdigit()), 1)
    return json.dumps({"order": number, "quantity": qty, "status": "received"})


def greet(prompt: str) -> str:
    """A synchronous target."""
    name = prompt.split()[-1].strip("!.?")
    return f"Hello {name}! How can I help you today?"


def no_apology_words(response: str, banned: list[str]) -> tuple[bool, str]:
    """A `python` check: none of the banned words appear."""
    found = [w for w in banned if w in response.lower()]
    return (not found, f"found {found}" if found else "none of the banned words")
