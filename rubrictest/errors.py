"""Exceptions with a user-facing message.

Every error a user can cause by writing a suite, a config file or a plugin carries the
place it comes from (file, line, key path) so the message can point at it.
"""

from __future__ import annotations

from typing import Any


class RubricTestError(Exception):
    """Base class of every error rubrictest raises on purpose."""


class SuiteError(RubricTestError):
    """A suite file (or a file it refers to) is invalid.

    Attributes:
        path: the file, as given.
        line: 1-based line of the offending key, when known.
        key: dotted path of the offending key (``cases[2].criteria[0].with``), when known.
    """

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, key: str | None = None
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "<suite>"
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            where += f": {self.key}"
        return f"{where}: {self.message}"


class ConfigError(RubricTestError):
    """A target, judge or plugin is configured wrongly (unknown plugin, missing API key...)."""


class OptionsError(ConfigError):
    """A component's ``options`` do not validate against its plugin's ``options_model``.

    Attributes:
        validation: pydantic's ``ValidationError`` (every problem with its location inside
            ``options``), so the suite loader can name the file, line and key of each.
        model: the options model.
        options: the options as written.
    """

    def __init__(self, label: str, validation: Any, model: Any, options: Any) -> None:
        self.validation = validation
        self.model = model
        self.options = options
        problems = []
        for err in validation.errors():
            key = ".".join(str(p) for p in ("options", *err["loc"]))
            problems.append(
                f"{key}: "
                + ("unknown key" if err["type"] == "extra_forbidden" else str(err["msg"]).removeprefix("Value error, "))
            )
        super().__init__(f"{label}: " + "; ".join(problems))


class JudgeError(RubricTestError):
    """Raised by a judge or target that cannot produce a result.

    The engine turns it into an ERROR verdict carrying ``str(error)`` as the reason: it is
    never counted as a failed criterion.
    """


class CheckTimedOut(JudgeError):
    """A deterministic check ran past its time bound (a regular expression that backtracks).

    Raised from :meth:`rubrictest.Check.check`: an ERROR verdict in a thread, and, in a quick
    try on the engine's loop (:meth:`rubrictest.Check.inline_params`), the signal to run the
    check again on a thread with its full bound.
    """


class StoreError(RubricTestError):
    """The results database cannot be opened or written."""
