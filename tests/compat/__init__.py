"""Tests of rubrictest's integration with pytest itself, run under each supported pytest major.

``.ci/run`` runs this package with the dev install's pytest, then again in a small venv that
holds the other major and reuses every other package of the dev install (a ``.pth`` file):
see ``.ci/pytest_other_major.sh``.
"""
