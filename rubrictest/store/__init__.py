"""The results database (internal): every run, case, verdict and model call, in SQLite.

:mod:`.database` opens, migrates and writes the file; :mod:`.migrations` is its schema;
:mod:`.report` renders a stored run. Everything else asks the :class:`Store` questions:
no SQL outside this package.
"""

from .database import DEFAULT_DB, Store, new_run_id
from .rows import utcnow

__all__ = ["DEFAULT_DB", "Store", "new_run_id", "utcnow"]
