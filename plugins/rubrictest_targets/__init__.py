"""Offline targets: ``static``, ``jsonl`` and ``python``.

* ``static``: the case's own ``output``. (A case with ``output`` never calls its target, so
  ``target: static`` only makes the intent explicit.)
* ``jsonl:PATH``: responses produced elsewhere, one JSON object a line with ``id`` (the case
  id) and ``output`` (the response); the path is relative to the suite file.
* ``python:module:function``: a sync or async function called with the case input (a string)
  or, if it takes a parameter named ``case``, the :class:`rubrictest.Case`.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import Any

from rubrictest import (
    Case,
    ComponentContext,
    ComponentSpec,
    ConfigError,
    JudgeError,
    Register,
    Target,
    TargetResult,
    hookimpl,
    import_callable,
    read_jsonl,
)


class StaticTarget(Target):
    """The case's fixed ``output``."""

    cacheable = False
    billable = False

    async def generate(self, case: Case) -> TargetResult:
        if case.output is None:
            raise JudgeError(f"case {case.id!r} has no `output` for the static target")
        return TargetResult(case.output)


class JsonlTarget(Target):
    """Responses read from a JSONL file keyed by case id (``{"id": ..., "output": ...}``)."""

    cacheable = False
    billable = False
    per_directory = True

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._outputs: dict[str, str] | None = None

    @property
    def path(self) -> Path:
        ref = self.spec.model or self.spec.options.get("path")
        if not ref:
            raise ConfigError("jsonl target: give the file as `jsonl:PATH` or options.path")
        return (self.context.base_dir / str(ref)).resolve()

    def check_ready(self) -> None:
        self._load()

    def _load(self) -> dict[str, str]:
        if self._outputs is not None:
            return self._outputs
        path = self.path
        if not path.is_file():
            raise ConfigError(f"jsonl target: file not found: {path}")
        key = self.spec.options.get("id_key", "id")
        field = self.spec.options.get("output_key", "output")
        outputs: dict[str, str] = {}
        for n, row in read_jsonl(path):
            if key not in row or not isinstance(row.get(field), str):
                raise ConfigError(f"{path}:{n}: expected an object with {key!r} and a string {field!r}")
            outputs[str(row[key])] = row[field]
        self._outputs = outputs
        return outputs

    async def generate(self, case: Case) -> TargetResult:
        try:
            outputs = self._load()
        except ConfigError as exc:
            raise JudgeError(str(exc)) from None
        if case.id not in outputs:
            raise JudgeError(f"{self.path.name} has no output for case {case.id!r}")
        return TargetResult(outputs[case.id])


class PythonTarget(Target):
    """A Python function produces the response: ``python:module:function``."""

    per_directory = True
    cacheable = False  # user code may have side effects or depend on state
    billable = False  # reports no cost; a budget must not stop the user's own app

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        self._fn: Any = None

    def check_ready(self) -> None:
        if not self.spec.model:
            raise ConfigError("python target: give the function as python:module:function")
        try:
            self._fn = import_callable(self.spec.model, self.context.base_dir)
        except ValueError as exc:
            raise ConfigError(f"python target: {exc}") from None

    async def generate(self, case: Case) -> TargetResult:
        if self._fn is None:
            self.check_ready()
        fn = self._fn
        try:
            takes_case = "case" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            takes_case = False
        arg: Any = case if takes_case else (case.input if case.input is not None else case.chat_messages())
        try:
            if inspect.iscoroutinefunction(fn):
                result = await fn(arg)
            else:
                result = await asyncio.to_thread(fn, arg)
        except Exception as exc:
            raise JudgeError(f"{self.spec.model} raised {type(exc).__name__}: {exc}") from None
        if not isinstance(result, str):
            raise JudgeError(f"{self.spec.model} returned {type(result).__name__}; expected a string")
        return TargetResult(result)


@hookimpl
def register_targets(register: Register) -> None:
    register("static", StaticTarget)
    register("jsonl", JsonlTarget)
    register("python", PythonTarget)
