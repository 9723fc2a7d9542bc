#!/usr/bin/env python3
"""Tiny fake OpenAI-compatible judge server for throughput benchmarks.

POST /v1/chat/completions (and /chat/completions): sleeps --latency-ms, then
answers in whatever shape the caller's judge prompt expects:

  * tools / functions present        -> a tool call whose arguments satisfy the
                                        function's JSON schema
  * response_format json_schema      -> JSON instance of that schema
  * response_format json_object      -> JSON guessed from the prompt's keys
  * "GRADE: $LETTER" prompts         -> "... GRADE: C"   (inspect model_graded_qa)
  * {reason, pass, score} prompts    -> {"reason":"ok","pass":true,"score":1}
                                        (promptfoo llm-rubric)
  * other prompts asking for JSON    -> JSON guessed from the keys they name
                                        (deepeval GEval steps / score+reason)
  * anything else                    -> "ok"

logprobs/top_logprobs are honoured (deepeval GEval asks for them), as is
stream=true (SSE).  Every reply carries usage token counts.

GET  /stats        -> request counts, max in-flight, 429s, kinds, busy span
POST /stats/reset  -> zero the counters (also GET /reset)
GET  /v1/models    -> a model list

--max-concurrency K (default 0 = off) simulates a rate limit: a request that
would make more than K in flight gets HTTP 429 with Retry-After.
Binds 127.0.0.1 only by default.
"""

import argparse
import asyncio
import json
import math
import os
import re
import time
import uuid

from aiohttp import web

# ----------------------------------------------------------------------------
# reply synthesis
# ----------------------------------------------------------------------------

_RANGE_RES = [
    re.compile(r"between\s+(-?\d+(?:\.\d+)?)\s+(?:and|to)\s+(-?\d+(?:\.\d+)?)", re.I),
    re.compile(r"from\s+(-?\d+(?:\.\d+)?)\s+to\s+(-?\d+(?:\.\d+)?)", re.I),
    re.compile(r"\b(-?\d+(?:\.\d+)?)\s*-\s*(-?\d+(?:\.\d+)?)\s+scale", re.I),
]


def _text_of(content):
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, dict):
                out.append(str(part.get("text") or part.get("content") or ""))
            else:
                out.append(str(part))
        return "\n".join(out)
    return str(content)


def _score_range(text):
    """Highest plausible score stated in the prompt, e.g. 'between 0 and 10'."""
    for rx in _RANGE_RES:
        m = rx.search(text)
        if m:
            lo, hi = float(m.group(1)), float(m.group(2))
            if hi > lo:
                return lo, hi
    return 0.0, 1.0


def _num(v):
    return int(v) if float(v).is_integer() else v


def _from_schema(schema, defs, text, key=None, depth=0):
    """A plausible instance of a JSON schema: numbers in range, bools true,
    strings 'ok'."""
    if depth > 12 or not isinstance(schema, dict):
        return "ok"
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        return _from_schema(defs.get(name, {}), defs, text, key, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema and schema["enum"]:
        enum = schema["enum"]
        for good in ("yes", "pass", "C", "correct", "true", "A"):
            if good in enum:
                return good
        return enum[0]
    for comb in ("anyOf", "oneOf"):
        if comb in schema:
            opts = [o for o in schema[comb] if o.get("type") != "null"] or schema[comb]
            return _from_schema(opts[0], defs, text, key, depth + 1)
    if "allOf" in schema and schema["allOf"]:
        return _from_schema(schema["allOf"][0], defs, text, key, depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "string")
    if typ is None:
        typ = "object" if "properties" in schema else "string"
    if typ == "object":
        props = schema.get("properties", {})
        return {k: _from_schema(v, defs, text, k, depth + 1) for k, v in props.items()}
    if typ == "array":
        items = schema.get("items", {"type": "string"})
        ids = ((items.get("properties") or {}).get("id") or {}).get("enum") if isinstance(items, dict) else None
        if ids:
            # one item per enumerated id: a rubric verdict list (rubrictest asks for every
            # criterion of a case in one call)
            return [dict(_from_schema(items, defs, text, key, depth + 1), id=i) for i in ids]
        n = max(1, int(schema.get("minItems", 1)))
        if key and "step" in key.lower():
            n = max(n, 3)
        items = schema.get("items", {"type": "string"})
        return [_from_schema(items, defs, text, key, depth + 1) for _ in range(n)]
    if typ == "boolean":
        return True
    if typ in ("number", "integer"):
        lo = schema.get("minimum", schema.get("exclusiveMinimum"))
        hi = schema.get("maximum", schema.get("exclusiveMaximum"))
        if hi is None and key and "score" in key.lower():
            lo, hi = _score_range(text)
        val = hi if hi is not None else (lo if lo is not None else 1)
        return int(val) if typ == "integer" else _num(val)
    if key and "step" in key.lower():
        return "Check the response against the criterion."
    if key == "evidence":
        return ""  # nothing quoted: a verbatim quote cannot be guessed
    return "ok"


_KEY_RE = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)"\s*:')


def _guess_json(text):
    """JSON for prompts that describe the wanted object in prose/examples."""
    tail = text[-4000:]
    keys = []
    for k in _KEY_RE.findall(tail):
        if k not in keys:
            keys.append(k)
    low = text.lower()
    if not keys:
        for k in ("steps", "verdicts", "statements", "claims", "truths", "reason", "score"):
            if f'"{k}"' in low or f"'{k}'" in low or f"`{k}`" in low:
                keys.append(k)
    if not keys:
        keys = ["reason", "score"]
    lo, hi = _score_range(text)
    out = {}
    for k in keys:
        kl = k.lower()
        if kl == "steps":
            out[k] = [
                "Read the input.",
                "Check the response against the criterion.",
                "Decide how well the criterion is met.",
            ]
        elif kl in ("verdicts",):
            out[k] = [{"verdict": "yes", "reason": "ok"}]
        elif kl in ("statements", "claims", "truths"):
            out[k] = ["ok"]
        elif kl == "verdict":
            out[k] = "yes"
        elif "score" in kl:
            out[k] = _num(hi)
        elif kl in ("pass", "passed", "success", "correct"):
            out[k] = True
        else:
            out[k] = "ok"
    return out


def synthesize(body):
    """-> (kind, message dict, finish_reason)"""
    messages = body.get("messages") or []
    text = "\n".join(_text_of(m.get("content")) for m in messages if isinstance(m, dict))
    tools = body.get("tools") or [{"type": "function", "function": f} for f in (body.get("functions") or [])]
    tool_choice = body.get("tool_choice", body.get("function_call"))
    if tools and tool_choice != "none":
        fn = tools[0].get("function", tools[0])
        if isinstance(tool_choice, dict):
            want = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
            for t in tools:
                f = t.get("function", t)
                if f.get("name") == want:
                    fn = f
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        args = _from_schema(params, params.get("$defs", params.get("definitions", {})), text)
        msg = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_" + uuid.uuid4().hex[:24],
                    "type": "function",
                    "function": {"name": fn.get("name", "tool"), "arguments": json.dumps(args)},
                }
            ],
        }
        return "tool_call", msg, "tool_calls"

    rf = body.get("response_format") or {}
    rtype = rf.get("type") if isinstance(rf, dict) else None
    if rtype == "json_schema":
        js = rf.get("json_schema") or {}
        schema = js.get("schema") or {}
        obj = _from_schema(schema, schema.get("$defs", schema.get("definitions", {})), text)
        return "json_schema", {"role": "assistant", "content": json.dumps(obj)}, "stop"
    if rtype == "json_object":
        return "json_object", {"role": "assistant", "content": json.dumps(_guess_json(text))}, "stop"

    if re.search(r"GRADE:\s*(\$LETTER|[CPI]\b)", text):
        content = "The submission states the requested fact and satisfies the criterion.\n\nGRADE: C"
        return "grade_letter", {"role": "assistant", "content": content}, "stop"
    low = text.lower()
    if ("pass: boolean" in low or '"pass"' in low) and "reason" in low and "rubric" in low:
        content = json.dumps({"reason": "ok", "pass": True, "score": 1})
        return "pass_reason_score", {"role": "assistant", "content": content}, "stop"
    if "json" in low:
        return "json_guess", {"role": "assistant", "content": json.dumps(_guess_json(text))}, "stop"
    return "plain", {"role": "assistant", "content": "ok"}, "stop"


_TOK_RE = re.compile(r"\d+|[A-Za-z_]+|\s+|[^\w\s]")


def _logprobs(content, top_n):
    top_n = max(1, min(int(top_n or 1), 20))
    out = []
    for tok in _TOK_RE.findall(content or ""):
        alts = [tok]
        if tok.isdigit():
            v = int(tok)
            alts += [str(x) for x in (v - 1, v + 1, v - 2) if x >= 0]
        alts = alts[:top_n]
        top = [
            {"token": a, "logprob": -0.05 if i == 0 else -3.0 - i, "bytes": list(a.encode())}
            for i, a in enumerate(alts)
        ]
        out.append({"token": tok, "logprob": -0.05, "bytes": list(tok.encode()), "top_logprobs": top})
    return {"content": out, "refusal": None}


def _ntok(s):
    return max(1, math.ceil(len(s) / 4))


# ----------------------------------------------------------------------------
# server
# ----------------------------------------------------------------------------


class Stats:
    def __init__(self):
        self.reset()

    def reset(self):
        # keep the live in-flight count so a request still running (e.g. from a
        # killed client) cannot drive it negative
        self.inflight = getattr(self, "inflight", 0)
        self.requests = 0  # chat requests received (incl. rejected)
        self.completed = 0  # answered 200
        self.rejected_429 = 0
        self.max_inflight = self.inflight
        self.kinds = {}
        self.paths = {}
        self.models = {}
        self.first_start = None
        self.last_end = None

    def as_dict(self):
        span = (self.last_end - self.first_start) if self.first_start and self.last_end else 0.0
        return {
            "requests": self.requests,
            "completed": self.completed,
            "rejected_429": self.rejected_429,
            "inflight": self.inflight,
            "max_inflight": self.max_inflight,
            "kinds": self.kinds,
            "paths": self.paths,
            "models": self.models,
            "busy_span_s": round(span, 4),
        }


def make_app(latency_s, max_conc, retry_after, log_path=None):
    stats = Stats()
    logf = open(log_path, "a") if log_path else None

    async def chat(request):
        stats.paths[request.path] = stats.paths.get(request.path, 0) + 1
        try:
            body = await request.json()
        except Exception:
            return web.json_response({"error": {"message": "bad json", "type": "invalid_request_error"}}, status=400)
        stats.requests += 1
        if max_conc and stats.inflight >= max_conc:
            stats.rejected_429 += 1
            return web.json_response(
                {
                    "error": {
                        "message": "Rate limit exceeded (fake server)",
                        "type": "rate_limit_error",
                        "code": "rate_limit_exceeded",
                    }
                },
                status=429,
                headers={
                    "Retry-After": str(max(1, math.ceil(retry_after))),
                    "retry-after-ms": str(int(retry_after * 1000)),
                },
            )
        now = time.monotonic()
        if stats.first_start is None:
            stats.first_start = now
        stats.inflight += 1
        stats.max_inflight = max(stats.max_inflight, stats.inflight)
        try:
            kind, msg, finish = synthesize(body)
            if body.get("logprobs"):
                kind += "+logprobs"
            stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
            model = body.get("model", "fake-judge")
            stats.models[model] = stats.models.get(model, 0) + 1
            if logf:
                logf.write(json.dumps({"t": time.time(), "kind": kind, "request": body}) + "\n")
                logf.flush()
            await asyncio.sleep(latency_s)
            prompt_text = json.dumps(body.get("messages", []))
            out_text = msg.get("content") or json.dumps(msg.get("tool_calls"))
            usage = {"prompt_tokens": _ntok(prompt_text), "completion_tokens": _ntok(out_text)}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            choice = {"index": 0, "message": msg, "finish_reason": finish, "logprobs": None}
            if body.get("logprobs") and msg.get("content"):
                choice["logprobs"] = _logprobs(msg["content"], body.get("top_logprobs"))
            cid = "chatcmpl-" + uuid.uuid4().hex[:24]
            created = int(time.time())
            if body.get("stream"):
                resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
                await resp.prepare(request)
                delta = dict(msg)
                chunk = {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "logprobs": choice["logprobs"], "finish_reason": None}],
                }
                if delta.get("tool_calls"):
                    delta["tool_calls"] = [dict(tc, index=i) for i, tc in enumerate(delta["tool_calls"])]
                await resp.write(("data: " + json.dumps(chunk) + "\n\n").encode())
                fin = {
                    "id": cid,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": finish}],
                }
                await resp.write(("data: " + json.dumps(fin) + "\n\n").encode())
                if (body.get("stream_options") or {}).get("include_usage"):
                    u = {
                        "id": cid,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": model,
                        "choices": [],
                        "usage": usage,
                    }
                    await resp.write(("data: " + json.dumps(u) + "\n\n").encode())
                await resp.write(b"data: [DONE]\n\n")
                await resp.write_eof()
                stats.completed += 1
                return resp
            stats.completed += 1
            return web.json_response(
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [choice],
                    "usage": usage,
                    "system_fingerprint": "fake",
                }
            )
        finally:
            stats.inflight -= 1
            stats.last_end = time.monotonic()

    async def get_stats(request):
        return web.json_response(stats.as_dict())

    async def reset(request):
        old = stats.as_dict()
        stats.reset()
        return web.json_response(old)

    async def models(request):
        return web.json_response(
            {"object": "list", "data": [{"id": "gpt-4.1", "object": "model", "created": 0, "owned_by": "fake"}]}
        )

    async def unknown(request):
        stats.paths["UNKNOWN " + request.path] = stats.paths.get("UNKNOWN " + request.path, 0) + 1
        return web.json_response(
            {"error": {"message": f"no route {request.path}", "type": "invalid_request_error"}}, status=404
        )

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/chat/completions", chat)
    app.router.add_get("/stats", get_stats)
    app.router.add_post("/stats/reset", reset)
    app.router.add_get("/reset", reset)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/models", models)
    app.router.add_route("*", "/{tail:.*}", unknown)
    return app


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default=os.environ.get("FAKE_HOST", "127.0.0.1"))
    ap.add_argument("--port", type=int, default=int(os.environ.get("FAKE_PORT", "8811")))
    ap.add_argument("--latency-ms", type=float, default=float(os.environ.get("FAKE_LATENCY_MS", "200")))
    ap.add_argument(
        "--max-concurrency",
        type=int,
        default=int(os.environ.get("FAKE_MAX_CONCURRENCY", "0")),
        help="0 = unlimited; otherwise 429 + Retry-After beyond this many in flight",
    )
    ap.add_argument("--retry-after", type=float, default=float(os.environ.get("FAKE_RETRY_AFTER", "1")))
    ap.add_argument(
        "--log-requests",
        default=os.environ.get("FAKE_LOG_REQUESTS"),
        help="append every request body (JSONL) to this file",
    )
    a = ap.parse_args()
    app = make_app(a.latency_ms / 1000.0, a.max_concurrency, a.retry_after, a.log_requests)
    print(
        f"fake judge server on http://{a.host}:{a.port}/v1 latency={a.latency_ms}ms "
        f"max_concurrency={a.max_concurrency or 'off'}",
        flush=True,
    )
    web.run_app(app, host=a.host, port=a.port, access_log=None, print=None, backlog=1024)


if __name__ == "__main__":
    main()
