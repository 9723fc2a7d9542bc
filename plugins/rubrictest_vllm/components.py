"""The ``vllm`` judge and target: the ``openai`` plugin's, in front of servers it manages.

Requests, structured outputs, log-probability confidence, retries and the least-loaded
choice of a server are the ``openai`` plugin's (:class:`rubrictest_openai.OpenAIJudge`,
:class:`rubrictest_openai.OpenAITarget`); this module adds where the servers come from.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rubrictest_openai import OpenAIJudge, OpenAITarget

from rubrictest import (
    Case,
    ComponentContext,
    ComponentSpec,
    ConfigError,
    JudgeRequest,
    JudgeResult,
    TargetResult,
    canonical_json,
    require_env,
)

from . import fleet as fleets
from .fleet import Attached, Fleet, LaunchPlan
from .options import ANSWER_CHANGING, LAUNCH_OPTIONS, VLLMOptions

if TYPE_CHECKING:
    # The mixin only uses what the openai judge and target share (ProviderComponent's).
    _Base = OpenAIJudge
else:
    _Base = object

PER_SERVER_CONCURRENCY = 64
"""Requests in flight per server when the spec sets no ``concurrency``: vLLM batches
whatever is in flight, so it wants many."""

DEFAULT_TIMEOUT = 600.0
"""Seconds per request when the spec sets no ``timeout``: a busy server queues requests."""


class _Managed(_Base):
    """What the vllm judge and target add to the openai plugin's components: the servers."""

    non_semantic_options: ClassVar[frozenset[str]] = (
        OpenAIJudge.non_semantic_options | (LAUNCH_OPTIONS - ANSWER_CHANGING) | {"startup_timeout"}
    )
    billable: ClassVar[bool] = False
    kind: ClassVar[str] = ""
    options_model: ClassVar[Any] = VLLMOptions

    def _configure(self, spec: ComponentSpec, context: ComponentContext) -> ComponentSpec:
        """Validate ``spec.options``; return the spec the openai plugin's base is built with."""
        self.attached = spec.base_url is not None
        self.what = f"{spec.label} {self.kind}"
        self.vllm_options = VLLMOptions.parse(spec.options, what=self.what, attach=self.attached, kind=self.kind)
        self.vllm_context = context
        self._servers: Fleet | Attached | None = None
        self._fleet_key: str | None = None
        self._urls: list[str] = []
        options: dict[str, Any] = {**spec.options, **self.vllm_options.request_options(keyed=bool(spec.api_key_env))}
        if not self.attached:  # normalised, so that an omitted default and the default share a cache key
            options.update(dtype=self.vllm_options.dtype, extra_args=list(self.vllm_options.extra_args))
        data = spec.model_dump()
        data.update(options=options, timeout=spec.timeout or DEFAULT_TIMEOUT)
        return ComponentSpec.model_validate(data)

    @property
    def concurrency(self) -> int:
        """``concurrency`` of the spec, else 64 requests in flight per server."""
        servers = len(self.base_urls()) if self.attached else self.vllm_options.replica_count
        return self.spec.concurrency or PER_SERVER_CONCURRENCY * servers

    def check_ready(self) -> None:
        """Check what starting servers needs (the executable, the model directory, the key),
        before any request; starts nothing."""
        if not self.spec.model:
            raise ConfigError(f"{self.what}: no model given (write vllm:MODEL)")
        if self.spec.api_key_env:
            require_env(self.spec.api_key_env, what=f"{self.what} API key")
        if not self.attached:
            if sys.platform == "win32":
                raise ConfigError(f"{self.what}: vLLM does not run on Windows; attach to servers with base_url")
            if os.environ.get("PYTEST_XDIST_WORKER"):
                raise ConfigError(
                    f"{self.what}: this is pytest-xdist worker {os.environ['PYTEST_XDIST_WORKER']}; each worker "
                    "would start its own servers on the same GPUs. Run with -n 0 (requests already run "
                    "concurrently), or start the servers once (vllm serve) and attach with base_url"
                )
            self._model_to_load()
            executable = self.vllm_options.executable
            path = {**os.environ, **self.vllm_options.env}.get("PATH")
            if shutil.which(executable, path=path) is None:
                raise ConfigError(
                    f"{self.what}: the vLLM executable {executable!r} is not on PATH. Install vLLM where the "
                    "GPUs are (pip install vllm), set options.executable to its path, or attach to running "
                    "servers with base_url"
                )
            fleets.install_signal_handlers()
        super().check_ready()

    def _model_to_load(self) -> str:
        """The spec's model as ``vllm serve`` takes it: a local directory (relative to the
        suite) resolved, a hub id as it is."""
        model = str(self.spec.model)
        local = Path(self.vllm_context.base_dir, os.path.expanduser(model))
        if local.is_dir():
            return str(local.resolve())
        if model.startswith((".", "~", "/")):
            raise ConfigError(
                f"{self.what}: model directory {model!r} does not exist (relative paths are relative to the suite file)"
            )
        return model

    def base_urls(self) -> list[str | None]:
        """The servers' ``/v1`` URLs (known once :meth:`servers_ready` returned)."""
        if self.attached:
            return super().base_urls()
        return list(self._urls)

    async def servers_ready(self) -> None:
        """Start (or reach) the servers on the first call, and wait until they answer.

        Raises:
            FleetError: they could not be started or reached, or one has died since.
        """
        if self._servers is None:
            self._servers = self._bring_up()
        if not self._urls:
            self._urls = await self._servers.ready()
        self._servers.raise_if_down()

    def _bring_up(self) -> Fleet | Attached:
        key = os.environ.get(self.spec.api_key_env) if self.spec.api_key_env else None
        timeout = self.vllm_options.ready_timeout(attach=self.attached)
        if self.attached:
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            urls = [u for u in super().base_urls() if u]
            return Attached(urls, str(self.spec.model), headers=headers, timeout=timeout, what=self.what)
        log_dir = self.vllm_options.log_dir
        plan = LaunchPlan(
            self._model_to_load(),
            str(self.spec.model),
            self.vllm_options,
            Path(self.vllm_context.base_dir, log_dir) if log_dir else None,
        )
        self._fleet_key = canonical_json(
            [
                plan.model,
                plan.served_name,
                self.spec.api_key_env,
                self.vllm_options.model_dump(mode="json", include=set(LAUNCH_OPTIONS)),
            ]
        )
        return fleets.acquire(self._fleet_key, lambda: Fleet(plan, api_key=key, what=f"vllm:{plan.served_name}"))

    async def aclose(self) -> None:
        """Close the clients, then stop the servers when no other component uses them."""
        try:
            await super().aclose()
        finally:
            servers, self._servers = self._servers, None
            if isinstance(servers, Fleet) and self._fleet_key is not None:
                last = fleets.release(self._fleet_key)
                if last is not None:
                    await asyncio.to_thread(last.stop)
            elif servers is not None:
                servers.stop()


class VLLMJudge(_Managed, OpenAIJudge):
    """A judge served by vLLM: structured-output verdicts, confidence from log-probabilities."""

    kind = "judge"

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(self._configure(spec, context), context)

    async def judge(self, request: JudgeRequest) -> JudgeResult:
        await self.servers_ready()
        return await super().judge(request)


class VLLMTarget(_Managed, OpenAITarget):
    """A model under test served by vLLM."""

    kind = "target"

    def __init__(self, spec: ComponentSpec, context: ComponentContext) -> None:
        super().__init__(self._configure(spec, context), context)

    async def generate(self, case: Case) -> TargetResult:
        await self.servers_ready()
        return await super().generate(case)
