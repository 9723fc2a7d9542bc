"""The engine (internal): every model call of a session as one concurrent, cached pipeline.

* :mod:`.pool` -- :class:`ComponentPool`: targets, judges and aggregators built once,
  validated at collection, checked ready once, each with its concurrency limit;
* :mod:`.calls` -- :class:`ModelCalls`: the one path every model call of every command takes
  (cache, budget, call records, error policy);
* :mod:`.run` -- :class:`Run`: a run's row, its observer events, its end;
* :mod:`.pipeline` -- :class:`Engine`: every case run scheduled at once on one event loop;
* :mod:`.loop` -- that loop's thread, which says when it is idle (pytest's reporting waits for it);
* :mod:`.gate` -- the release gate; :mod:`.outcomes` -- what the engine learns per case.
"""

from .calls import Judged, ModelCalls
from .gate import GateOutcome, decide_gate, wilson_lower_bound
from .outcomes import CacheMode, CaseOutcome, Status, Totals, VerdictInfo, criterion_status
from .pipeline import Engine, Unit
from .pool import ComponentPool
from .run import ObserverWarning, Run

__all__ = [
    "CacheMode",
    "CaseOutcome",
    "ComponentPool",
    "Engine",
    "GateOutcome",
    "Judged",
    "ModelCalls",
    "ObserverWarning",
    "Run",
    "Status",
    "Totals",
    "Unit",
    "VerdictInfo",
    "criterion_status",
    "decide_gate",
    "wilson_lower_bound",
]
