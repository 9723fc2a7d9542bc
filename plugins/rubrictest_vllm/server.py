"""One ``vllm serve`` process: start it in a process group of its own, probe it, stop it.

A vLLM server is a tree of processes (the API server, its engine core, one worker per GPU
with tensor parallelism). Each server starts in a new session, so its process group holds
the whole tree: stopping sends SIGTERM to the group, waits for the grace period, then
SIGKILL to whatever is left of it. The new session also keeps a terminal's Ctrl-C away from
the servers: the pytest process receives it and stops them itself, in order.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rubrictest import JudgeError


class FleetError(JudgeError):
    """The servers could not be started or reached. Every verdict they owed is ERROR."""


# What a failed start looks like in vLLM's log, and what to do about it.
_DIAGNOSES: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"out of memory|OutOfMemoryError|No available memory for the cache blocks|"
            r"not enough (GPU|KV cache) memory",
            re.I,
        ),
        "out of GPU memory while loading: lower options.max_model_len or gpu_memory_utilization, "
        "spread the model over more GPUs (tensor_parallel_size), or serve a smaller dtype or quantization",
    ),
    (
        re.compile(r"address already in use|Errno 98", re.I),
        "port {port} is already in use (another process took it after it was found free): "
        "choose another options.port_range",
    ),
    (
        re.compile(r"No CUDA GPUs are available|Failed to infer device type|CUDA_VISIBLE_DEVICES", re.I),
        "no usable GPU for this replica: check options.gpus against the machine's GPUs (nvidia-smi)",
    ),
)


@dataclass
class Server:
    """A started ``vllm serve`` process.

    Attributes:
        index: the replica's number (0-based), for messages.
        port: the port it serves on.
        gpus: the ``CUDA_VISIBLE_DEVICES`` it was given (``None``: inherited).
        log_path: its stdout and stderr.
        process: the process (the leader of its own process group).
    """

    index: int
    url: str
    port: int
    gpus: str | None
    log_path: Path
    process: subprocess.Popen[bytes]
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def spawn(
        cls,
        index: int,
        command: Sequence[str],
        *,
        host: str,
        port: int,
        env: Mapping[str, str],
        gpus: str | None,
        log_path: Path,
        headers: Mapping[str, str],
    ) -> Server:
        """Start ``command`` with its output in ``log_path``.

        Raises:
            FleetError: the executable cannot be run.
        """
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            try:
                process = subprocess.Popen(
                    list(command),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=dict(env),
                    start_new_session=True,
                )
            except OSError as exc:
                raise FleetError(
                    f"cannot run {command[0]!r}: {exc.strerror or exc}. Install vLLM "
                    "(pip install vllm) or set options.executable to its path"
                ) from None
        return cls(index, f"http://{_url_host(host)}:{port}", port, gpus, log_path, process, dict(headers))

    @property
    def name(self) -> str:
        """``replica 1 (port 8001, GPUs 2,3)``."""
        gpus = f", GPUs {self.gpus}" if self.gpus is not None else ""
        return f"replica {self.index} (port {self.port}{gpus})"

    def exited(self) -> int | None:
        """The exit code, or ``None`` while it runs."""
        return self.process.poll()

    def probe(self, model: str) -> bool:
        """Whether it is ready: ``GET /health`` answers 200 and ``/v1/models`` lists ``model``.

        Raises:
            FleetError: it is up but serves another model.
        """
        if _get(f"{self.url}/health", self.headers) is None:
            return False
        listing = _get(f"{self.url}/v1/models", self.headers)
        if listing is None:
            return False
        check_served(listing, model, where=f"{self.name} at {self.url}/v1")
        return True

    def failure(self, code: int) -> str:
        """Why it exited during start-up: the likely cause and the tail of its log."""
        tail = log_tail(self.log_path)
        cause = diagnose(tail, port=self.port)
        lines = [f"{self.name} exited with code {code} before it was ready" + (f": {cause}" if cause else "")]
        lines.append(tail_block(self.log_path, tail))
        return "\n".join(lines)

    def terminate(self) -> None:
        """SIGTERM to its process group (the server and every process it started)."""
        _signal_group(self.process.pid, signal.SIGTERM)

    def stop(self, deadline: float) -> None:
        """Wait for the group to end until ``deadline`` (monotonic), then SIGKILL it.

        Call :meth:`terminate` first. Returns when the server is reaped and its group is gone
        or killed.
        """
        try:
            self.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Processes the server started may outlive it (a worker still flushing): they had
        # the same grace period; whatever is left of the group is killed.
        while _group_alive(self.process.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        _signal_group(self.process.pid, signal.SIGKILL)


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):  # listening everywhere: reach it through the loopback
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _signal_group(pgid: int, signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass  # the group is gone (PermissionError: macOS reports a group of zombies so)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies do not count: a container's
    init may never reap a server's orphaned children)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # it ended while we looked
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            return True
    return False


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _get(url: str, headers: Mapping[str, str], *, direct: bool = True) -> object | None:
    """The JSON (or ``True`` for an empty body) of a 200 answer to GET ``url``; ``None`` for
    anything else (refused connection, 503 while loading, timeout)."""
    request = urllib.request.Request(url, headers=dict(headers))
    opener = _NO_PROXY if direct else urllib.request.build_opener()
    try:
        with opener.open(request, timeout=5) as answer:
            if answer.status != 200:
                return None
            body = answer.read()
    except (OSError, urllib.error.URLError, ValueError):
        return None
    if not body.strip():
        return True
    try:
        decoded: object = json.loads(body)
    except ValueError:
        return True
    return decoded


def get_models(base_url: str, headers: Mapping[str, str]) -> object | None:
    """``GET {base_url}/models`` of a server the plugin attaches to (proxies from the environment apply)."""
    return _get(f"{base_url.rstrip('/')}/models", headers, direct=False)


def check_served(listing: object, model: str, *, where: str) -> None:
    """Raise :class:`FleetError` when a non-empty ``/v1/models`` listing lacks ``model``."""
    data = listing.get("data") if isinstance(listing, dict) else None
    names = [str(m.get("id")) for m in data if isinstance(m, dict)] if isinstance(data, list) else []
    if names and model not in names:
        raise FleetError(
            f"{where} serves {', '.join(names)}, not {model!r}: the spec's model must be the served model name"
        )


def log_tail(path: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of a log (read from its last 16 kB)."""
    try:
        with open(path, "rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 16384))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def tail_block(path: Path, tail: str) -> str:
    """The tail of a log, indented under a line naming the file."""
    if not tail.strip():
        return f"Its log ({path}) is empty."
    return f"Last lines of its log ({path}):\n" + "\n".join(f"    {line}" for line in tail.splitlines())


def diagnose(log: str, *, port: int) -> str | None:
    """The likely cause of a failed start, read from its log."""
    for pattern, advice in _DIAGNOSES:
        if pattern.search(log):
            return advice.format(port=port)
    return None
