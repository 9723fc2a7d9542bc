"""The servers behind a ``vllm`` component: a fleet it starts, or endpoints it attaches to.

Both are brought up once, on the first request that needs them (a session answered from
the cache starts nothing), in a thread of their own, and every request waits for the same
outcome: the server URLs, or one :class:`~rubrictest_vllm.server.FleetError` that makes
each verdict they owed an ERROR.

A started :class:`Fleet` is stopped by the component's ``aclose`` when the session ends
(also after a failure or Ctrl-C: pytest still ends the session), by an ``atexit`` hook
when the interpreter exits without closing it, and by a SIGTERM / SIGHUP handler (installed
only where none was). Components naming the same model and launch options share one fleet,
so a judge and a target on one model do not load it twice on the same GPUs.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures as cf
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from .options import VLLMOptions
from .server import FleetError, Server, check_served, get_models, log_tail, tail_block


class _BroughtUp:
    """Runs :meth:`_bring_up` once in a thread; every caller of :meth:`ready` shares its outcome."""

    what: str

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._outcome: cf.Future[list[str]] | None = None
        self._stopping = False

    def start(self) -> cf.Future[list[str]]:
        """Start bringing the servers up (once); the future holds their base URLs."""
        with self._lock:
            if self._outcome is None:
                self._outcome = cf.Future()
                # Running: a request cancelled while it waits (Ctrl-C) cannot cancel the start
                # that other requests wait for too.
                self._outcome.set_running_or_notify_cancel()
                threading.Thread(target=self._run, name=f"rubrictest-vllm {self.what}", daemon=True).start()
            return self._outcome

    async def ready(self) -> list[str]:
        """The base URLs (``http://host:port/v1``) once every server answers.

        Raises:
            FleetError: a server could not be started or reached.
        """
        return await asyncio.wrap_future(self.start())

    def _run(self) -> None:
        assert self._outcome is not None
        try:
            urls = self._bring_up()
        except Exception as exc:
            self.stop()  # what started of a fleet that failed is stopped whole
            error = exc if isinstance(exc, FleetError) else FleetError(f"{self.what}: {type(exc).__name__}: {exc}")
            self._outcome.set_exception(error)
        else:
            self._outcome.set_result(urls)

    def _bring_up(self) -> list[str]:
        raise NotImplementedError

    def stop(self, grace: float | None = None) -> None:
        """Stop what was started (nothing, for attached servers)."""
        self._stopping = True

    def raise_if_down(self) -> None:
        """Raise :class:`FleetError` when a server that was ready has died since."""


class Attached(_BroughtUp):
    """Servers someone else runs: ``base_url`` of the spec. Waits until each lists models."""

    def __init__(self, urls: list[str], model: str, *, headers: Mapping[str, str], timeout: float, what: str) -> None:
        super().__init__()
        self.urls, self.model, self.headers, self.timeout, self.what = urls, model, dict(headers), timeout, what

    def _bring_up(self) -> list[str]:
        deadline = time.monotonic() + self.timeout
        pending = list(self.urls)
        delay = 0.1
        while pending:
            for url in list(pending):
                listing = get_models(url, self.headers)
                if listing is not None:
                    check_served(listing, self.model, where=f"{self.what}: the server at {url}")
                    pending.remove(url)
            if pending and (self._stopping or time.monotonic() >= deadline):
                raise FleetError(
                    f"{self.what}: no OpenAI-compatible server answered GET {pending[0].rstrip('/')}/models "
                    f"within {self.timeout:g} s (options.startup_timeout). Start it (vllm serve MODEL) or fix "
                    "base_url"
                )
            if pending:
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 1.5, 1.0)
        return list(self.urls)


@dataclass(frozen=True)
class LaunchPlan:
    """What to start: ``vllm serve MODEL`` once per replica.

    Attributes:
        model: what vLLM loads (a hub id, or a local directory resolved against the suite).
        served_name: the name requests use (the spec's ``model``).
        options: the validated options.
        log_dir: where the servers' logs go (``None``: a new temporary directory).
    """

    model: str
    served_name: str
    options: VLLMOptions
    log_dir: Path | None

    def command(self, port: int) -> list[str]:
        """The ``vllm serve`` command line of one replica."""
        o = self.options
        command = [
            o.executable,
            "serve",
            self.model,
            "--served-model-name",
            self.served_name,
            "--host",
            o.host,
            "--port",
            str(port),
            "--dtype",
            o.dtype,
            "--tensor-parallel-size",
            str(o.tensor_parallel_size),
        ]
        if o.pipeline_parallel_size > 1:
            command += ["--pipeline-parallel-size", str(o.pipeline_parallel_size)]
        if o.max_model_len is not None:
            command += ["--max-model-len", str(o.max_model_len)]
        if o.gpu_memory_utilization is not None:
            command += ["--gpu-memory-utilization", str(o.gpu_memory_utilization)]
        return command + list(o.extra_args)

    def gpu_sets(self, inherited: str | None) -> list[str | None]:
        """``CUDA_VISIBLE_DEVICES`` of each replica (``None``: leave it as inherited).

        ``options.gpus`` when given; else one replica keeps the inherited GPUs, and several
        share out the inherited list (or GPUs 0, 1, ...) in order, each taking
        tensor × pipeline parallel size of them.

        Raises:
            FleetError: the inherited list is too short for the replicas.
        """
        o = self.options
        if o.gpus is not None:
            return [",".join(str(g) for g in ids) for ids in o.gpus]
        count, per = o.replica_count, o.gpus_per_replica
        if count == 1:
            return [None]
        visible = (
            [g.strip() for g in inherited.split(",") if g.strip()]
            if inherited
            else [str(i) for i in range(count * per)]
        )
        if len(visible) < count * per:
            raise FleetError(
                f"{count} replicas of {per} GPU(s) need {count * per} GPUs but CUDA_VISIBLE_DEVICES "
                f"lists {len(visible)}: set options.gpus or fewer replicas"
            )
        return [",".join(visible[i * per : (i + 1) * per]) for i in range(count)]


class Fleet(_BroughtUp):
    """``vllm serve`` processes started for the session, one per replica."""

    def __init__(self, plan: LaunchPlan, *, api_key: str | None, what: str) -> None:
        super().__init__()
        self.plan, self.what = plan, what
        self._api_key = api_key
        self.servers: list[Server] = []

    def _bring_up(self) -> list[str]:
        o = self.plan.options
        deadline = time.monotonic() + o.ready_timeout(attach=False)
        log_dir = self.plan.log_dir or Path(tempfile.mkdtemp(prefix="rubrictest-vllm-"))
        env = {**os.environ, **o.env}
        headers = {}
        if self._api_key:
            env["VLLM_API_KEY"] = self._api_key  # vllm serve reads it; argv would show it in ps
            headers["Authorization"] = f"Bearer {self._api_key}"
        taken: set[int] = set()
        for index, gpus in enumerate(self.plan.gpu_sets(env.get("CUDA_VISIBLE_DEVICES"))):
            port = _free_port(o.host, o.port_range, taken | _ports_in_use())
            if port is None:
                low, high = o.port_range
                raise FleetError(
                    f"{self.what}: no free port in options.port_range [{low}, {high}] on {o.host} "
                    f"for replica {index}: every port is in use; choose another range"
                )
            taken.add(port)
            child_env = {**env, "CUDA_VISIBLE_DEVICES": gpus} if gpus is not None else env
            with self._lock:
                if self._stopping:
                    raise FleetError(f"{self.what}: stopped before it was ready")
                _LIVE.add(self)
                self.servers.append(
                    Server.spawn(
                        index,
                        self.plan.command(port),
                        host=o.host,
                        port=port,
                        env=child_env,
                        gpus=gpus,
                        log_path=log_dir / f"replica-{index}-port-{port}.log",
                        headers=headers,
                    )
                )
        self._wait(deadline)
        return [f"{s.url}/v1" for s in self.servers]

    def _wait(self, deadline: float) -> None:
        pending = list(self.servers)
        delay = 0.1
        while pending:
            for server in list(pending):
                code = server.exited()
                if code is not None:
                    raise FleetError(f"{self.what}: {server.failure(code)}")
                try:
                    ready = server.probe(self.plan.served_name)
                except FleetError as exc:
                    raise FleetError(f"{self.what}: {exc}") from None
                if ready:
                    pending.remove(server)
            if not pending:
                return
            if self._stopping:
                raise FleetError(f"{self.what}: stopped before it was ready")
            if time.monotonic() >= deadline:
                server = pending[0]
                timeout = self.plan.options.ready_timeout(attach=False)
                raise FleetError(
                    f"{self.what}: {server.name} is not ready after {timeout:g} s (GET {server.url}/health and "
                    "/v1/models): raise options.startup_timeout if the model is still loading.\n"
                    + tail_block(server.log_path, log_tail(server.log_path))
                )
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, 1.0)

    def raise_if_down(self) -> None:
        for server in self.servers:
            code = server.exited()
            if code is not None and not self._stopping:
                raise FleetError(
                    f"{self.what}: {server.name} exited with code {code} during the run.\n"
                    + tail_block(server.log_path, log_tail(server.log_path))
                )

    def stop(self, grace: float | None = None) -> None:
        """SIGTERM every server's process group, wait up to ``grace`` seconds (default
        ``options.stop_timeout``) for all of them together, then SIGKILL what is left."""
        # Waits briefly for the lock: a signal handler may interrupt the thread holding it.
        locked = self._lock.acquire(timeout=2)
        try:
            self._stopping = True
            servers = list(self.servers)
        finally:
            if locked:
                self._lock.release()
        for server in servers:
            server.terminate()
        deadline = time.monotonic() + (self.plan.options.stop_timeout if grace is None else grace)
        for server in servers:
            server.stop(deadline)
        _LIVE.discard(self)


def _free_port(host: str, port_range: tuple[int, int], taken: set[int]) -> int | None:
    """The first port of the range that is not ``taken`` and can be bound on ``host``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for port in range(port_range[0], port_range[1] + 1):
        if port in taken:
            continue
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
        return port
    return None


# ---------------------------------------------------------------------------------- registry

_REGISTRY_LOCK = threading.Lock()
_SHARED: dict[str, tuple[Fleet, int]] = {}  # launch key -> (fleet, components using it)
_LIVE: set[Fleet] = set()  # fleets with processes that may run


def _ports_in_use() -> set[int]:
    return {s.port for fleet in list(_LIVE) for s in fleet.servers}


def acquire(key: str, build: Callable[[], Fleet]) -> Fleet:
    """The fleet for ``key`` (a canonical form of the launch plan), shared by every
    component that names it; ``build()`` makes it the first time."""
    with _REGISTRY_LOCK:
        fleet, users = _SHARED.get(key, (None, 0))
        if fleet is None:
            fleet = build()
        _SHARED[key] = (fleet, users + 1)
        return fleet


def release(key: str) -> Fleet | None:
    """One component is done with ``key``'s fleet; return the fleet when it was the last."""
    with _REGISTRY_LOCK:
        fleet, users = _SHARED.get(key, (None, 0))
        if fleet is None:
            return None
        if users > 1:
            _SHARED[key] = (fleet, users - 1)
            return None
        del _SHARED[key]
        return fleet


def stop_all(grace: float | None = None) -> None:
    """Stop every fleet of this process (the ``atexit`` hook and the signal handler)."""
    fleets = list(_LIVE)
    for fleet in fleets:  # SIGTERM all of them before waiting for any
        for server in list(fleet.servers):
            server.terminate()
    for fleet in fleets:
        fleet.stop(grace)


atexit.register(stop_all)

_HANDLED: dict[int, object] = {}


def install_signal_handlers() -> None:
    """Stop the fleets on SIGTERM and SIGHUP, then die of the signal as before.

    Only where the signal has its default action (another handler is left alone) and only
    from the main thread (where Python allows it). Ctrl-C needs no handler: it raises
    KeyboardInterrupt, pytest ends the session, and the components are closed.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signum in _HANDLED or signal.getsignal(signum) is not signal.SIG_DFL:
            continue
        _HANDLED[signum] = signal.signal(signum, _on_signal)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    stop_all(grace=min(5.0, max((f.plan.options.stop_timeout for f in _LIVE), default=0.0)))
    signal.signal(signum, signal.SIG_DFL)
    _HANDLED.pop(signum, None)
    os.kill(os.getpid(), signum)
