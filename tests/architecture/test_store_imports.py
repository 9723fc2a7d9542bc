"""Opening the results database imports neither pandas nor numpy (sqlite-utils would, for
nothing the store writes: about 0.3 s of CPU at every run), and both stay importable afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROBE = """
import json, sys
from rubrictest.store import Store
store = Store.open(sys.argv[1])
run_id = store.start_run(rootdir='.', argv=[], version='x')
store.close()
hidden = 'pandas' in sys.modules
numpy_hidden = 'numpy' in sys.modules
import pandas  # still importable by anything that wants it
import numpy
import sqlite_utils
print(json.dumps({'pandas_loaded_by_store': hidden, 'pandas_after': pandas.__name__,
                  'numpy_loaded_by_store': numpy_hidden, 'numpy_after': numpy.__name__,
                  'run': bool(run_id), 'tables': 'runs' in sqlite_utils.Database(sys.argv[1]).table_names()}))
"""


def test_opening_the_store_leaves_pandas_and_numpy_unimported(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path / "r.db")], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "pandas_loaded_by_store": False,
        "pandas_after": "pandas",
        "numpy_loaded_by_store": False,
        "numpy_after": "numpy",
        "run": True,
        "tables": True,
    }


def test_a_process_that_has_pandas_and_numpy_keeps_them(tmp_path: Path) -> None:
    code = (
        "import sys, pandas, numpy\nfrom rubrictest.store import Store\nStore.open(sys.argv[1]).close()\n"
        "import sqlite_utils.db\nprint(sys.modules['pandas'] is pandas and sqlite_utils.db.pd is pandas\n"
        "      and sys.modules['numpy'] is numpy and sqlite_utils.db.np is numpy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "r.db")], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "True"


def test_loading_the_plugins_imports_no_numpy_nor_jsonschema() -> None:
    """Collection loads every first-party plugin; the importers plugin needs only the record
    types of calibration, not its metrics (numpy, scipy: 40 ms of every collection), and
    jsonschema (35 ms) is imported by the first answer, check or generated reply that needs it."""
    code = (
        "import sys\n"
        "from rubrictest.plugins import load_plugins\n"
        "load_plugins()\n"
        "print(sorted(m for m in ('numpy', 'scipy', 'pandas', 'jsonschema') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out
