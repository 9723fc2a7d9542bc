"""bench/bench_vllm_judge.py runs end to end against the fake vllm, in a tiny configuration."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers.vllm import FakeVLLM, free_ports

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups and signals are POSIX")

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_vllm_judge.py"


def write_safetensors(path: Path, shapes: dict[str, list[int]]) -> None:
    """A safetensors file whose header declares ``shapes`` (the data is zeros)."""
    header: dict[str, object] = {}
    offset = 0
    for name, shape in shapes.items():
        size = 2
        for dim in shape:
            size *= dim
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    header["__metadata__"] = {"format": "pt"}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + b"\0" * offset)


def test_the_vllm_benchmark_measures_against_the_fake_servers(fake_vllm: FakeVLLM, tmp_path: Path) -> None:
    model = tmp_path / "judge-model"
    model.mkdir()
    write_safetensors(model / "model-00001-of-00002.safetensors", {"embed": [100, 16], "w": [16, 16]})
    write_safetensors(model / "model-00002-of-00002.safetensors", {"lm_head": [16, 100]})
    low, high = free_ports(2)
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--model",
            str(model),
            "--cases",
            "6",
            "--criteria-per-case",
            "2",
            "--response-words",
            "30",
            "--warmup",
            "2",
            "--concurrency",
            "4",
            "--replicas",
            "2",
            "--port-range",
            str(low),
            str(high),
            "--peak-tflops",
            "1e-6",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["parameters"] == 100 * 16 + 16 * 16 + 16 * 100 and report["gpus"] == 2
    assert report["verdicts"] == 12 and report["errors"] == 0 and report["requests"] == 6
    assert report["prompt_tokens"] == 600  # the fake reports 100 prompt tokens per request
    expected = 2 * report["parameters"] * report["prompt_tokens"] / report["seconds"] / (1e-6 * 1e12 * 2)
    assert report["roofline_share"] == pytest.approx(expected)
    assert len(report["servers"]) == 2 and "verdicts/s" in result.stdout
    assert fake_vllm.wait_gone() == []


def test_the_benchmark_fails_closed(fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "oom")
    low, high = free_ports(1)
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--model",
            "m",
            "--params",
            "1e9",
            "--cases",
            "2",
            "--warmup",
            "0",
            "--port-range",
            str(low),
            str(high),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1 and "FAILED: vllm:m: replica 0" in result.stderr
    assert "out of GPU memory" in result.stderr and "Traceback" not in result.stderr.split("log")[0]
    no_params = subprocess.run(
        [sys.executable, str(BENCH), "--model", "org/name"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert no_params.returncode == 2 and "--params is needed" in no_params.stderr
