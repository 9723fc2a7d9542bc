"""A fake `vllm` executable on PATH, and probes of the processes it starts."""

from __future__ import annotations

import json
import os
import random
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rubrictest import ComponentContext, ComponentSpec
from rubrictest.plugins import registry

FAKE = Path(__file__).resolve().parents[1] / "vllm" / "fake_vllm.py"


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def free_ports(n: int) -> tuple[int, int]:
    """A range of ``n`` consecutive ports that are free on 127.0.0.1 now."""
    for _ in range(200):
        low = random.randrange(20000, 60000)
        if all(_bindable(low + i) for i in range(n)):
            return low, low + n - 1
    raise RuntimeError("no free port range")


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class FakeVLLM:
    """The fake ``vllm`` on PATH and what its servers wrote."""

    bin_dir: Path
    out_dir: Path
    env: dict[str, str]

    def records(self) -> list[dict[str, Any]]:
        """One record per server started: pid, child pid, argv, CUDA_VISIBLE_DEVICES..."""
        return [json.loads(p.read_text()) for p in sorted(self.out_dir.glob("*.json"))]

    def pids(self) -> list[int]:
        return [pid for r in self.records() for pid in (r["pid"], r["child"])]

    def wait_gone(self, timeout: float = 10.0) -> list[int]:
        """The pids (servers and their children) still alive after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = [pid for pid in self.pids() if alive(pid)]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.05)

    def kill_all(self) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, 9)
            except (ProcessLookupError, PermissionError):
                pass


def build(kind: str, tmp_path: Path, **spec: Any) -> Any:
    """A registered vllm target or judge from a spec mapping."""
    spec.setdefault("plugin", "vllm")
    parsed = ComponentSpec.model_validate(spec)
    return registry().get(kind, parsed.plugin).factory(parsed, ComponentContext(base_dir=tmp_path, rootdir=tmp_path))
