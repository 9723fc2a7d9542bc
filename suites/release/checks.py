"""Deterministic checks used by the release suite (`check: python`)."""


def at_most_words(response: str, limit: int) -> tuple[bool, str]:
    """The response has at most ``limit`` words."""
    n = len(response.split())
    return n <= limit, f"{n} words (limit {limit})"
