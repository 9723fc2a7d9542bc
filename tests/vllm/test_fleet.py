"""The vllm judge starts servers, routes to the least loaded, judges with logprobs, stops them.

Every test runs the fake ``vllm`` executable (tests/vllm/fake_vllm.py) as real processes
on 127.0.0.1 and checks, through the pid files the fake writes, that no server or child
process is left when the judge is closed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from rubrictest_vllm import FleetError

from rubrictest import ConfigError

from ..helpers.remote import make_request
from ..helpers.vllm import FakeVLLM, alive, build, free_ports
from ..remote.fake_provider import FakeProvider

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="process groups and signals are POSIX")


def judge_spec(ports: tuple[int, int], **options: Any) -> dict[str, Any]:
    return {
        "model": "fake/judge-7b",
        "options": {"port_range": list(ports), "startup_timeout": 30, "stop_timeout": 5, **options},
    }


def run(component: Any, body: Any) -> Any:
    """``body(component)`` on a fresh event loop; the component is closed afterwards."""

    async def main() -> Any:
        try:
            return await body(component)
        finally:
            await component.aclose()

    return asyncio.run(main())


def stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/fake/stats", timeout=5) as answer:
        result: dict[str, Any] = json.load(answer)
        return result


def test_two_replicas_start_judge_with_logprobs_and_stop(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_P_MET", "0.8")
    ports = free_ports(2)
    judge = build("judges", tmp_path, **judge_spec(ports, replicas=2, gpus=[[0], "1"], dtype="bfloat16"))
    judge.check_ready()
    assert fake_vllm.records() == []  # nothing starts before a request needs it

    async def body(j: Any) -> Any:
        results = await asyncio.gather(*(j.judge(make_request(2)) for _ in range(6)))
        return results, [stats(p) for p in ports]

    results, served = run(judge, body)
    records = {r["argv"][r["argv"].index("--port") + 1]: r for r in fake_vllm.records()}
    assert sorted(records) == [str(ports[0]), str(ports[1])]
    first = records[str(ports[0])]
    assert first["argv"][:2] == ["serve", "fake/judge-7b"]
    for flag, value in [
        ("--served-model-name", "fake/judge-7b"),
        ("--dtype", "bfloat16"),
        ("--tensor-parallel-size", "1"),
        ("--host", "127.0.0.1"),
    ]:
        assert first["argv"][first["argv"].index(flag) + 1] == value
    assert [records[str(p)]["cuda_visible_devices"] for p in ports] == ["0", "1"]
    verdicts = [v for r in results for v in r.verdicts]
    assert len(verdicts) == 12 and {v.outcome for v in verdicts} == {"met"}
    assert {round(v.confidence, 6) for v in verdicts} == {0.8}  # from the "met" token's logprob
    assert all(s["requests"] >= 1 for s in served) and sum(s["requests"] for s in served) == 6
    body_sent = results[0].calls[0].request
    assert body_sent["logprobs"] is True and "structured_outputs" in body_sent["extra_body"]
    assert fake_vllm.wait_gone() == [], "servers left running after aclose"


def test_requests_go_to_the_least_loaded_replica(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = free_ports(2)
    monkeypatch.setenv(f"FAKE_VLLM_LATENCY_{ports[0]}", "1.0")  # replica 0 is slow
    judge = build("judges", tmp_path, concurrency=4, **judge_spec(ports, replicas=2))
    judge.check_ready()

    async def body(j: Any) -> Any:
        sem = asyncio.Semaphore(4)  # as the engine does with concurrency 4

        async def one() -> Any:
            async with sem:
                return await j.judge(make_request(1))

        await asyncio.gather(*(one() for _ in range(24)))
        return [stats(p)["requests"] for p in ports]

    slow, fast = run(judge, body)
    # Round-robin would give each 12; least-loaded keeps the slow replica at its first share.
    assert slow + fast == 24 and slow <= 4 and fast >= 20, (slow, fast)
    assert fake_vllm.wait_gone() == []


def test_target_and_judge_on_one_model_share_the_servers(fake_vllm: FakeVLLM, tmp_path: Path) -> None:
    ports = free_ports(2)
    judge = build("judges", tmp_path, **judge_spec(ports))
    target = build("targets", tmp_path, **judge_spec(ports))
    judge.check_ready()
    target.check_ready()
    request = make_request(1)

    async def main() -> Any:
        first = await judge.judge(request)
        answer = await target.generate(request.case)
        await target.aclose()  # the judge still uses the servers: they keep running
        second = await judge.judge(request)
        servers_after_target = [alive(r["pid"]) for r in fake_vllm.records()]
        await judge.aclose()
        return first, answer, second, servers_after_target

    first, answer, second, running = asyncio.run(main())
    assert answer.text.startswith("Answer to:")
    assert first.verdicts[0].outcome == second.verdicts[0].outcome == "met"
    assert running == [True]  # one server, started once, shared, still up after the target closed
    assert fake_vllm.wait_gone() == []


def test_missing_executable_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    judge = build("judges", tmp_path, **judge_spec(free_ports(1)))
    with pytest.raises(ConfigError, match=r"the vLLM executable 'vllm' is not on PATH.*pip install vllm"):
        judge.check_ready()


def test_oom_at_load_shows_the_log_and_stops_every_replica(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = free_ports(2)
    monkeypatch.setenv(f"FAKE_VLLM_MODE_{ports[1]}", "oom")  # replica 1 fails; replica 0 would start
    judge = build("judges", tmp_path, **judge_spec(ports, replicas=2))
    judge.check_ready()

    async def body(j: Any) -> Any:
        with pytest.raises(FleetError) as first:
            await j.judge(make_request(1))
        with pytest.raises(FleetError) as second:  # later requests get the same error at once
            await j.judge(make_request(1))
        return str(first.value), str(second.value)

    first, second = run(judge, body)
    assert first == second
    assert f"replica 1 (port {ports[1]}, GPUs 1) exited with code 1 before it was ready" in first
    assert "out of GPU memory while loading" in first
    assert "torch.OutOfMemoryError: CUDA out of memory" in first  # the tail of its log
    assert len(fake_vllm.records()) == 2
    assert fake_vllm.wait_gone() == [], "the healthy replica was left running"


def test_never_ready_times_out_with_the_log(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "never_ready")
    ports = free_ports(1)
    judge = build("judges", tmp_path, **judge_spec(ports, startup_timeout=1.5))
    judge.check_ready()

    async def body(j: Any) -> str:
        with pytest.raises(FleetError) as error:
            await j.judge(make_request(1))
        return str(error.value)

    message = run(judge, body)
    assert f"replica 0 (port {ports[0]}) is not ready after 1.5 s" in message
    assert "raise options.startup_timeout" in message and "fake vllm serve" in message
    assert fake_vllm.wait_gone() == []


def test_port_in_use(fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    ports = free_ports(2)
    with socket.socket() as taken:  # another program holds the first port of the range
        taken.bind(("127.0.0.1", ports[0]))
        taken.listen()
        judge = build("judges", tmp_path, **judge_spec(ports))
        judge.check_ready()

        async def body(j: Any) -> Any:
            return await j.judge(make_request(1))

        result = run(judge, body)
        assert result.verdicts[0].outcome == "met"
        assert [r["argv"][r["argv"].index("--port") + 1] for r in fake_vllm.records()] == [str(ports[1])]

        only = build("judges", tmp_path, **judge_spec((ports[0], ports[0])))
        only.check_ready()

        async def fails(j: Any) -> str:
            with pytest.raises(FleetError) as error:
                await j.judge(make_request(1))
            return str(error.value)

        assert f"no free port in options.port_range [{ports[0]}, {ports[0]}]" in run(only, fails)
    # The port was free when looked at, and taken before the server bound it.
    monkeypatch.setenv("FAKE_VLLM_MODE", "port_in_use")
    raced = build("judges", tmp_path, **judge_spec(free_ports(1)))
    raced.check_ready()
    message = run(raced, fails)
    assert "is already in use" in message and "address already in use" in message
    assert fake_vllm.wait_gone() == []


def test_a_server_that_ignores_sigterm_is_killed(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "stubborn")
    judge = build("judges", tmp_path, **judge_spec(free_ports(1), stop_timeout=0.5))
    judge.check_ready()

    async def body(j: Any) -> Any:
        return await j.judge(make_request(1))

    assert run(judge, body).verdicts[0].outcome == "met"
    assert fake_vllm.wait_gone(timeout=2) == []


def test_a_server_that_dies_during_the_run_errors_what_follows(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VLLM_MODE", "crash")
    judge = build("judges", tmp_path, **judge_spec(free_ports(1)))
    judge.check_ready()

    async def body(j: Any) -> str:
        await j.judge(make_request(1))
        await asyncio.sleep(1.5)
        with pytest.raises(FleetError) as error:
            await j.judge(make_request(1))
        return str(error.value)

    message = run(judge, body)
    assert "exited with code 3 during the run" in message and "fake engine core died" in message
    assert fake_vllm.wait_gone() == []


def test_attach_to_running_servers(tmp_path: Path) -> None:
    with FakeProvider() as a, FakeProvider() as b:
        a.served = b.served = ["served-judge"]
        judge = build(
            "judges",
            tmp_path,
            model="served-judge",
            base_url=[a.openai_url, b.openai_url],
            options={"startup_timeout": 5},
        )
        judge.check_ready()
        assert judge.concurrency == 128

        async def body(j: Any) -> Any:
            return await asyncio.gather(*(j.judge(make_request(1)) for _ in range(4)))

        results = run(judge, body)
        assert all(r.verdicts[0].outcome == "met" for r in results)
        assert a.count("chat") + b.count("chat") == 4 and a.count("chat") >= 1 and b.count("chat") >= 1
        assert "Authorization" not in a.requests[0].headers or "no-key" in a.requests[0].headers["Authorization"]


def test_attach_reports_a_wrong_model_and_an_absent_server(tmp_path: Path) -> None:
    with FakeProvider() as server:
        server.served = ["other-model"]
        judge = build(
            "judges", tmp_path, model="served-judge", base_url=server.openai_url, options={"startup_timeout": 5}
        )
        judge.check_ready()

        async def body(j: Any) -> str:
            with pytest.raises(FleetError) as error:
                await j.judge(make_request(1))
            return str(error.value)

        assert "serves other-model, not 'served-judge'" in run(judge, body)
    port = free_ports(1)[0]
    absent = build(
        "judges", tmp_path, model="m", base_url=f"http://127.0.0.1:{port}/v1", options={"startup_timeout": 0.5}
    )
    absent.check_ready()
    assert f"no OpenAI-compatible server answered GET http://127.0.0.1:{port}/v1/models within 0.5 s" in run(
        absent, body
    )


def test_a_key_reaches_the_servers_by_environment_never_argv(
    fake_vllm: FakeVLLM, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUDGE_KEY", "sk-local-SENTINEL-123")
    judge = build("judges", tmp_path, api_key_env="JUDGE_KEY", **judge_spec(free_ports(1)))
    judge.check_ready()

    async def body(j: Any) -> Any:
        return await j.judge(make_request(1)), stats(j.vllm_options.port_range[0])

    result, served = run(judge, body)
    assert served["authorization"] == ["Bearer sk-local-SENTINEL-123"]
    record = fake_vllm.records()[0]
    assert record["api_key_set"] and "sk-local-SENTINEL-123" not in json.dumps(record["argv"])
    assert "sk-local-SENTINEL-123" not in json.dumps([c.__dict__ for c in result.calls], default=str)
    assert fake_vllm.wait_gone() == []
    monkeypatch.delenv("JUDGE_KEY")
    with pytest.raises(ConfigError, match="environment variable JUDGE_KEY is not set"):
        build("judges", tmp_path, api_key_env="JUDGE_KEY", **judge_spec(free_ports(1))).check_ready()
