"""Offline targets: ``static``, ``jsonl`` and ``python``.

* ``static``: the case's own ``output``. (A case with ``output`` never calls its target, so
  ``target: static`` only makes the intent explicit.)
* ``jsonl:PATH``: responses produced elsewhere, one JSON object a line with ``id`` (the case
  id) and ``output`` (the response); the path is relative to the suite file.
* ``python:module:function``: a sync or async function called with the case input (a string)
  or, if it takes a parameter named ``case``, the :class:`rubrictest.Case`; bounded by the
  spec's ``timeout`` (default 300 s).
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rubrictest import (
    Case,
    ComponentContext,
    ComponentSpec,
    ConfigError,
    JudgeError,
    LoopThread,
    Register,
    Target,
    TargetResult,
    hookimpl,
    import_callable,
    read_jsonl,
    run_in_thread,
)


class NoOptions(BaseModel):
    """A component that takes no ``options``: any key is an error."""

    model_config = ConfigDict(extra="forbid")


class JsonlOptions(BaseModel):
    """``options`` of the ``jsonl`` target."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="The JSONL file (instead of jsonl:PATH), relative to the suite.")
    id_key: str = Field("id", description="The key holding the case id.")
    output_key: str = Field("output", description="The key holding the response.")


class StaticTarget(Target):
    """The case's fixed ``output``."""

    options_model = NoOptions
    cacheable = False
    billable = False

    async def generate(self, case: Case) -> TargetResult:
        if case.output is None:
            raise JudgeError(f"case {case.id!r} has no `output` for the static target")
        return TargetResult(case.output)


class JsonlTarget(Target):
    """Responses read from a JSONL file keyed by case id (``{"id": ..., "output": ...}``)."""

    options_model = JsonlOptions
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
    """A Python function produces the response: ``python:module:function``.

    The module is imported when the suite is collected (an import error, or a module that
    calls ``sys.exit`` at import, is a collection error at the target). Each call runs off
    the engine's loop -- a plain function on a thread of its own, a coroutine function on an
    event loop the target keeps -- bounded by the spec's ``timeout`` (default 300 s): a
    function that hangs or calls ``sys.exit()`` is an ERROR for its case, and Ctrl-C does not
    wait for it.
    """

    options_model = NoOptions
    per_directory = True
    cacheable = False  # user code may have side effects or depend on state
    billable = False  # reports no cost; a budget must not stop the user's own app
    default_deadline = 300.0

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(spec, context)
        if not self.spec.model:
            raise ConfigError("python target: give the function as python:module:function")
        try:
            self._fn: Any = import_callable(self.spec.model, self.context.base_dir)
        except ValueError as exc:
            raise ConfigError(f"python target: {exc}") from None
        self._loop = LoopThread(f"rubrictest python target {self.spec.model}")

    async def generate(self, case: Case) -> TargetResult:
        fn = self._fn
        try:
            takes_case = "case" in inspect.signature(fn).parameters
        except (TypeError, ValueError):
            takes_case = False
        arg: Any = case if takes_case else (case.input if case.input is not None else case.chat_messages())
        what = f"python target {self.spec.model}"
        try:
            if inspect.iscoroutinefunction(fn):
                result = await self._loop.run(fn(arg), timeout=self.deadline, what=what)
            else:
                result = await run_in_thread(fn, arg, timeout=self.deadline, what=what)
        except JudgeError:
            raise
        except Exception as exc:
            raise JudgeError(f"{self.spec.model} raised {type(exc).__name__}: {exc}") from None
        if not isinstance(result, str):
            raise JudgeError(f"{self.spec.model} returned {type(result).__name__}; expected a string")
        return TargetResult(result)

    async def aclose(self) -> None:
        self._loop.close()


@hookimpl
def register_targets(register: Register) -> None:
    register("static", StaticTarget)
    register("jsonl", JsonlTarget)
    register("python", PythonTarget)
