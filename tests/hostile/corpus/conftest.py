"""The corpus is data for tests/hostile/test_corpus.py, never collected by the project's run."""

collect_ignore_glob = ["*"]
