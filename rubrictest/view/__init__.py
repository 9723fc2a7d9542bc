"""``rubrictest view`` and ``rubrictest report --html``: the results database as web pages.

:mod:`rubrictest.store.queries` reads the database (read-only), :mod:`.pages` decides what each page shows,
:mod:`.render` renders the package's Jinja templates, :mod:`.app` serves them (Starlette, the
``view`` extra) and :mod:`.report` writes them into one self-contained HTML file. Nothing
here is imported by a pytest run.
"""
