"""The results database (internal): every run, case, verdict and model call, in SQLite.

:mod:`.database` opens, migrates and writes the file; :mod:`.migrations` is its schema;
:mod:`.report` renders a stored run and :mod:`.github` its CI job summary. :mod:`.queries`
(with :mod:`.history`, :mod:`.rollup`, :mod:`.reader`) reads it read-only for
``rubrictest view`` and ``report --html``. Everything else asks the :class:`Store` questions:
no SQL outside this package.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .rows import utcnow

if TYPE_CHECKING:
    from .database import Store, new_run_id

DEFAULT_DB = Path(".rubrictest") / "rubrictest.db"


def __getattr__(name: str) -> Any:
    # sqlite-utils (which imports numpy when it is installed) loads when a database is opened,
    # not when a command module that may open one is imported.
    if name in ("Store", "new_run_id"):
        from . import database

        return getattr(database, name)
    raise AttributeError(f"module 'rubrictest.store' has no attribute {name!r}")


__all__ = ["DEFAULT_DB", "Store", "new_run_id", "utcnow"]
