"""Judge trust (internal): calibration against labels, bias probes, rubric drift, pairwise
judging and locked rubrics -- the machinery behind ``rubrictest calibrate``, ``probe``,
``drift``, ``pairwise`` and ``lock``. Importer plugins use the names :mod:`rubrictest`
exports (``Importer``, ``ImportedData``...), not this package."""
