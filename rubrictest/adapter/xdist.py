"""pytest-xdist scheduling that keeps a case's items together.

The engine judges a whole case at once (all its criteria in one judge call). Under
``--dist load`` the items of one case could land on different workers, and each worker
would judge the case. :class:`RubricScheduling` groups rubric items by case -- by suite
when the suite has a ``::gate``, which needs every case -- and leaves every other test in a
group of its own, which is what ``load`` does.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling


class RubricScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped
    """``load`` scheduling, except that rubric items of one case (or gated suite) stay together."""

    _gated: set[str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        parts = nodeid.split("::")
        if len(parts) < 2 or ".rubric." not in parts[0]:
            return nodeid
        if self._gated is None:  # files with a gate item (`::gate` or `::gate[target]`), found once
            self._gated = {
                n.split("::", 1)[0]
                for n in self.collection
                if n.split("::")[-1].split("[", 1)[0] == "gate" and n.count("::") == 1
            }
        if parts[0] in self._gated:
            return parts[0]
        return "::".join(parts[:2])
