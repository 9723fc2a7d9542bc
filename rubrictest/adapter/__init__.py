"""The pytest adapter's machinery (internal), imported on the first suite file.

:mod:`rubrictest.pytest_plugin` is what pytest loads; it stays light so that installing
rubrictest costs projects without suites nothing. The session state, the collection nodes
and items, failure rendering and the xdist scheduler live here.
"""
