"""A stand-in for the ``vllm`` command: ``vllm serve MODEL --host H --port P ...``.

It serves the OpenAI wire format with tests/remote/fake_provider.py's server (plus
``/health`` and ``/v1/models``) on the host and port it is given, so the plugin under test
talks to it over real HTTP. Like vLLM it starts a child process (its "engine core"), so
tests can check that a whole process group is stopped.

Environment:

* ``FAKE_VLLM_DIR`` (required): it writes ``<port>-<pid>.json`` there once started: its pid, the
  child's pid, its arguments, ``CUDA_VISIBLE_DEVICES`` and whether ``VLLM_API_KEY`` was set.
* ``FAKE_VLLM_MODE`` (or ``FAKE_VLLM_MODE_<port>`` for one replica): ``ok`` (default);
  ``oom`` (logs vLLM's CUDA out-of-memory error while loading and exits 1); ``port_in_use``
  (logs vLLM's bind error and exits 1); ``never_ready`` (``/health`` answers 503 forever);
  ``stubborn`` (ignores SIGTERM: only SIGKILL stops it); ``crash`` (exits 3 one second
  after it is ready).
* ``FAKE_VLLM_LATENCY_<port>``: seconds added to each request to that replica.
* ``FAKE_VLLM_P_MET``: the probability the "met" token's log-probability says.
* ``FAKE_VLLM_MET=false``: every criterion is answered not met.
* ``FAKE_VLLM_SLOW_MARKER``: a request containing this text waits 120 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.remote.fake_provider import FakeProvider, Step  # noqa: E402

OOM = """\
INFO 01-01 00:00:00 [gpu_model_runner.py:1772] Starting to load model {model}...
ERROR 01-01 00:00:01 [core.py:700] EngineCore failed to start.
Traceback (most recent call last):
  File "vllm/v1/engine/core.py", line 691, in run_engine_core
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity \
of 79.19 GiB of which 1.06 GiB is free.
RuntimeError: Engine core initialization failed. See root cause above.
"""

PORT_IN_USE = """\
INFO 01-01 00:00:00 [api_server.py:1805] vLLM API server version 0.10.1
ERROR 01-01 00:00:00 [api_server.py:1900] OSError: [Errno 98] error while attempting to bind on \
address ('{host}', {port}): address already in use
"""


def main() -> int:
    parser = argparse.ArgumentParser(prog="vllm")
    parser.add_argument("command", choices=["serve"])
    parser.add_argument("model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--served-model-name", default=None)
    args, _ = parser.parse_known_args()
    mode = os.environ.get(f"FAKE_VLLM_MODE_{args.port}", os.environ.get("FAKE_VLLM_MODE", "ok"))
    print(f"INFO fake vllm serve {args.model} on {args.host}:{args.port} mode={mode}", flush=True)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    engine = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    record = {
        "pid": os.getpid(),
        "child": engine.pid,
        "argv": sys.argv[1:],
        "mode": mode,
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "api_key_set": bool(os.environ.get("VLLM_API_KEY")),
    }
    out = Path(os.environ["FAKE_VLLM_DIR"])
    name = f"{args.port}-{os.getpid()}.json"
    (out / f"{name}.tmp").write_text(json.dumps(record))
    (out / f"{name}.tmp").rename(out / name)
    if mode in ("oom", "port_in_use"):
        time.sleep(0.2)
        print(
            (OOM if mode == "oom" else PORT_IN_USE).format(model=args.model, host=args.host, port=args.port), flush=True
        )
        engine.kill()
        return 1
    server = FakeProvider(
        host=args.host, port=args.port, latency=float(os.environ.get(f"FAKE_VLLM_LATENCY_{args.port}", "0"))
    )
    server.served = [args.served_model_name or args.model]
    server.healthy = mode != "never_ready"
    if os.environ.get("FAKE_VLLM_P_MET"):
        server.p_met = float(os.environ["FAKE_VLLM_P_MET"])
    if os.environ.get("FAKE_VLLM_MET") == "false":
        server.decide = lambda cid, response: (False, " ".join(response.split()[:5]))
    if os.environ.get("FAKE_VLLM_SLOW_MARKER"):
        server.by_marker[os.environ["FAKE_VLLM_SLOW_MARKER"]] = Step("sleep", seconds=120)
    server.start()
    print(f"INFO Uvicorn running on http://{args.host}:{args.port}", flush=True)
    if mode == "crash":
        time.sleep(1.0)
        print("ERROR fake engine core died", flush=True)
        os._exit(3)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main())
