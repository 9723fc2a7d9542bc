"""A scripted model server for the tests: OpenAI chat completions and Anthropic messages.

It runs an aiohttp app on 127.0.0.1 (a free port) in a thread of its own, so the real SDKs
talk to it over real HTTP. By default it answers every judge request correctly shaped:
one verdict per criterion id it finds in the request's schema, ``met`` decided by
:attr:`FakeProvider.decide`. Tests push faults with :meth:`FakeProvider.push`; each pushed
step answers one request, in order, before the default resumes.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

Decide = Callable[[str, str], tuple[bool, str]]
_TAG = re.compile(r"<(response_[0-9a-f]{12})>\n(.*)\n</\1>", re.S)
_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]")


def default_decide(criterion_id: str, response: str) -> tuple[bool, str]:
    """Every criterion met, quoting the response's first five words."""
    return True, " ".join(response.split()[:5])


@dataclass
class Step:
    """One scripted answer.

    kind: ``status`` (HTTP ``status`` with ``body`` and ``headers``), ``sleep`` (wait
    ``seconds`` then answer normally), ``drip`` (headers at once, then one byte of a body that
    never ends every ``seconds``), ``content`` (this raw text as the model's answer),
    ``truncated``, ``refusal``, ``html``, ``verdicts`` (``decide`` for this request only),
    ``reset`` (close the connection without a word: a crashed server or a dropped link),
    ``no_tool`` (Anthropic: text instead of a tool call).
    """

    kind: str
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    content: str = ""
    decide: Decide | None = None


class _Drip(Exception):
    """Answer with a status line and headers, then one byte every ``seconds`` (a slow-drip server)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


async def _drip(request: web.Request, seconds: float) -> web.StreamResponse:
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    await response.prepare(request)
    try:
        for byte in b'{"id": "' + b"x" * 10_000:
            await response.write(bytes([byte]))
            await asyncio.sleep(seconds)
    except (ConnectionError, asyncio.CancelledError):
        pass  # the client gave up: what this server is for
    return response


@dataclass
class Seen:
    """A request as the server saw it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    start: float
    end: float = 0.0


class FakeProvider:
    """The server. Use as a context manager or call :meth:`start` / :meth:`stop`."""

    def __init__(self, *, latency: float = 0.0, host: str = "127.0.0.1", port: int = 0) -> None:
        self.latency = latency
        self.host = host
        self.decide: Decide = default_decide
        self.p_met: float | None = None  # logprob given to the chosen met token, when asked
        self.steps: list[Step] = []
        # When set, successive answers (choices of one request, then later requests) use
        # these deciders in turn: scripted disagreeing samples.
        self.rotation: list[Decide] = []
        # A request whose body contains a marker always gets that marker's step (order-free
        # faults for concurrent runs).
        self.by_marker: dict[str, Step] = {}
        # Per model name: the deciders its answers use in turn (one model per panel member).
        self.by_model: dict[str, list[Decide]] = {}
        self._model_turns: dict[str, int] = {}
        self.ignore_n = False  # answer one choice whatever ``n`` asks (llama.cpp, Ollama)
        self.served: list[str] = []  # model names listed by GET /v1/models
        self._turn = 0
        self.requests: list[Seen] = []
        self.inflight = 0
        self.max_inflight = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self.port = port
        self.healthy = True  # GET /health answers 200 (else 503: still loading)
        self.echo = ""  # appended to every rationale, evidence and target answer (a server echoing a key)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeProvider:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/messages", self._anthropic)
        app.router.add_get("/health", self._health)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/fake/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def push(self, *steps: Step) -> None:
        with self._lock:
            self.steps.extend(steps)

    def count(self, path_part: str = "") -> int:
        return sum(1 for r in self.requests if path_part in r.path)

    # -- handlers ----------------------------------------------------------------------------
    async def _health(self, request: web.Request) -> web.Response:
        return web.Response(status=200 if self.healthy else 503)

    async def _models(self, request: web.Request) -> web.Response:
        """The served model names, as vLLM lists them; ``served`` is set by whoever serves."""
        return web.json_response(
            {"object": "list", "data": [{"id": name, "object": "model", "owned_by": "fake"} for name in self.served]}
        )

    async def _stats(self, request: web.Request) -> web.Response:
        """What a test in another process wants to know: requests seen, most in flight at once."""
        with self._lock:
            return web.json_response(
                {
                    "requests": len(self.requests),
                    "max_inflight": self.max_inflight,
                    "authorization": sorted({r.headers.get("Authorization", "") for r in self.requests}),
                }
            )

    async def _begin(self, request: web.Request) -> tuple[Seen, Step | None]:
        body = await request.json()
        seen = Seen(request.path, dict(request.headers), body, self._loop.time())
        text = json.dumps(body)
        with self._lock:
            self.requests.append(seen)
            step = next((st for marker, st in self.by_marker.items() if marker in text), None)
            if step is None and self.steps:
                step = self.steps.pop(0)
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        return seen, step

    async def _pre(self, step: Step | None, request: web.Request) -> web.Response | None:
        if self.latency:
            await asyncio.sleep(self.latency)
        if step is None:
            return None
        if step.kind == "status":
            return web.json_response(step.body, status=step.status, headers=step.headers)
        if step.kind == "html":
            return web.Response(
                text="<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                content_type="text/html",
                status=step.status,
            )
        if step.kind == "reset":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)  # never sent: the connection is gone
        if step.kind == "sleep":
            await asyncio.sleep(step.seconds)
        if step.kind == "drip":
            raise _Drip(step.seconds)
        return None

    def _end(self, seen: Seen) -> None:
        with self._lock:
            self.inflight -= 1
            seen.end = self._loop.time()

    def _next_decide(self, model: str = "") -> Decide:
        with self._lock:
            if model in self.by_model:
                turn = self._model_turns.get(model, 0)
                self._model_turns[model] = turn + 1
                deciders = self.by_model[model]
                return deciders[turn % len(deciders)]
            if not self.rotation:
                return self.decide
            self._turn += 1
            return self.rotation[(self._turn - 1) % len(self.rotation)]

    @staticmethod
    def _criteria(schema: dict[str, Any]) -> list[str]:
        return list(schema["properties"]["verdicts"]["items"]["properties"]["id"]["enum"])

    def _verdicts(self, ids: list[str], text: str, decide: Decide) -> dict[str, Any]:
        match = _TAG.search(text)
        response = match.group(2) if match else ""
        out = []
        for i, cid in enumerate(ids):
            # a decider marked ``positional`` also gets the criterion's place in the request
            met, evidence = decide(cid, response, i) if getattr(decide, "positional", False) else decide(cid, response)  # type: ignore[call-arg]
            out.append(
                {"id": cid, "evidence": evidence + self.echo, "rationale": f"scripted for {cid}{self.echo}", "met": met}
            )
        return {"verdicts": out}

    def _logprobs(self, content: str) -> dict[str, Any]:
        tokens = _TOKEN.findall(content)
        items = []
        prev = ""
        for tok in tokens:
            word = tok.strip()
            top: list[dict[str, Any]] = [{"token": tok, "logprob": 0.0, "bytes": None}]
            lp = 0.0
            if word in ("true", "false") and prev.endswith(":") and self.p_met is not None:
                p_chosen = self.p_met if word == "true" else 1.0 - self.p_met
                p_chosen = min(max(p_chosen, 1e-6), 1 - 1e-6)
                other = tok.replace(word, "false" if word == "true" else "true")
                lp = math.log(p_chosen)
                top = [
                    {"token": tok, "logprob": lp, "bytes": None},
                    {"token": other, "logprob": math.log(1 - p_chosen), "bytes": None},
                ]
            items.append({"token": tok, "logprob": lp, "bytes": None, "top_logprobs": top})
            prev = (prev + tok)[-20:]
        return {"content": items, "refusal": None}

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        seen, step = await self._begin(request)
        try:
            try:
                early = await self._pre(step, request)
            except _Drip as drip:
                return await _drip(request, drip.seconds)
            if early is not None:
                return early
            body = seen.body
            user = "\n".join(str(m.get("content", "")) for m in body["messages"] if m["role"] == "user")
            rf = body.get("response_format") or {}
            schema = (
                (rf.get("json_schema") or {}).get("schema")
                or body.get("guided_json")
                or (body.get("structured_outputs") or {}).get("json")
            )
            choices = []
            for i in range(1 if self.ignore_n else int(body.get("n", 1))):
                finish, refusal = "stop", None
                if step is not None and step.kind == "content":
                    content = step.content
                elif step is not None and step.kind == "truncated":
                    content, finish = '{"verdicts": [{"id": "', "length"
                elif step is not None and step.kind == "refusal":
                    content, refusal = None, "I can't help with that."
                elif schema is not None:
                    decide = step.decide if step is not None and step.decide else self._next_decide(body["model"])
                    content = json.dumps(self._verdicts(self._criteria(schema), user, decide))
                else:
                    content = f"Answer to: {user[:60]}{self.echo}"
                choice: dict[str, Any] = {
                    "index": i,
                    "finish_reason": finish,
                    "message": {"role": "assistant", "content": content, "refusal": refusal},
                }
                if body.get("logprobs") and content:
                    choice["logprobs"] = self._logprobs(content)
                choices.append(choice)
            return web.json_response(
                {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": choices,
                    "usage": {
                        "prompt_tokens": 100,
                        "completion_tokens": 20 * len(choices),
                        "total_tokens": 100 + 20 * len(choices),
                    },
                }
            )
        finally:
            self._end(seen)

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        seen, step = await self._begin(request)
        try:
            try:
                early = await self._pre(step, request)
            except _Drip as drip:
                return await _drip(request, drip.seconds)
            if early is not None:
                return early
            body = seen.body
            user = "\n".join(
                m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
                for m in body["messages"]
                if m["role"] == "user"
            )
            tools = body.get("tools") or []
            stop = "end_turn"
            content: list[dict[str, Any]]
            if step is not None and step.kind == "refusal":
                content, stop = [], "refusal"
            elif step is not None and step.kind == "truncated":
                content, stop = [{"type": "text", "text": '{"verdicts": ['}], "max_tokens"
            elif step is not None and step.kind == "content":
                content = [{"type": "text", "text": step.content}]
            elif tools and not (step is not None and step.kind == "no_tool"):
                decide = step.decide if step is not None and step.decide else self._next_decide(body["model"])
                tool = tools[0]
                content = [
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": tool["name"],
                        "input": self._verdicts(self._criteria(tool["input_schema"]), user, decide),
                    }
                ]
                stop = "tool_use"
            else:
                content = [{"type": "text", "text": f"Answer to: {user[:60]}{self.echo}"}]
            return web.json_response(
                {
                    "id": "msg_test",
                    "type": "message",
                    "role": "assistant",
                    "model": body["model"],
                    "content": content,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": {"input_tokens": 120, "output_tokens": 30},
                }
            )
        finally:
            self._end(seen)
