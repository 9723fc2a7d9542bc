"""sqlite-utils, imported without pandas.

sqlite-utils imports pandas at import time when it is installed (statsmodels, a dependency of
rubrictest, installs it), only to map ``pandas.Timestamp`` values to a column type when a table
is created from rows. The store never writes pandas values, and the import cost about 0.3 s of
CPU at every pytest run that opens the database. So pandas is hidden from that one import (a
``None`` entry in ``sys.modules`` makes ``import pandas`` raise ``ImportError``, which
sqlite-utils handles) and put back at once; a process that has already imported pandas keeps
it as it is.
"""

from __future__ import annotations

import sys

# Hidden only for the first import, and only when nothing has imported pandas yet.
_HIDE = "pandas" not in sys.modules and "sqlite_utils" not in sys.modules
if _HIDE:
    sys.modules["pandas"] = None  # type: ignore[assignment]
try:
    import sqlite_utils as sqlite_utils
finally:
    if _HIDE and "pandas" in sys.modules and sys.modules["pandas"] is None:
        del sys.modules["pandas"]
