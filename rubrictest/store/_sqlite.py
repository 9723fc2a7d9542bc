"""sqlite-utils, imported without pandas and numpy.

sqlite-utils imports pandas and numpy at import time when they are installed (statsmodels, a
dependency of rubrictest, installs pandas; the ``local`` extra installs numpy), only to map
``pandas.Timestamp`` and numpy scalar types to column types when a table is created from rows.
The store creates its tables from declared Python types and writes plain Python values with
its own SQL, and the two imports cost about 0.3 s of CPU at every pytest run that opens the
database (numpy alone 0.25 s on a 2-core machine). So both are hidden from that one import (a
``None`` entry in ``sys.modules`` makes ``import numpy`` raise ``ImportError``, which
sqlite-utils handles) and put back at once; a process that has already imported either keeps
it as it is, and sqlite-utils sees it.
"""

from __future__ import annotations

import sys

# Hidden only for the first import of sqlite-utils, and only what nothing has imported yet.
_HIDE = [] if "sqlite_utils" in sys.modules else [m for m in ("pandas", "numpy") if m not in sys.modules]
for _name in _HIDE:
    sys.modules[_name] = None  # type: ignore[assignment]
try:
    import sqlite_utils as sqlite_utils
finally:
    for _name in _HIDE:
        if _name in sys.modules and sys.modules[_name] is None:
            del sys.modules[_name]
