"""A fake Anthropic Messages API on 127.0.0.1, for tests (no test ever calls the real API).

It speaks the wire format of POST /v1/messages (content blocks, tool_use, usage with the cache
fields, stop_reason; error bodies with their status and headers), so the runner is tested
through the real SDK pointed at it with `base_url`. Each test scripts a queue of replies; every
request is recorded (`requests`) with its parsed body and headers. An empty queue answers 500
with a message saying so, so a test that under-scripts fails loudly.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RESULT_TOOL = "submit_result"

_ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}


@dataclass
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]  # lower-cased names
    at: float  # time.monotonic() when it arrived


@dataclass
class _Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeMessagesApi:
    def __init__(self) -> None:
        self._queue: list[_Reply] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.requests: list[Recorded] = []
        self.model_default = "claude-haiku-5-5"
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A slow reply may still be sleeping when the test ends: do not wait for it.
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeMessagesApi:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- scripting ---------------------------------------------------------------------------

    def reply_tool_use(
        self,
        name: str,
        input: dict[str, Any],
        *,
        text: str = "",
        usage: dict[str, int] | None = None,
        tool_use_id: str | None = None,
    ) -> str:
        """The model calls one tool (stop_reason tool_use). Returns the tool_use id."""
        tool_use_id = tool_use_id or f"toolu_{next(self._ids):04d}"
        content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
        content.append({"type": "tool_use", "id": tool_use_id, "name": name, "input": input})
        self._message(content, "tool_use", usage)
        return tool_use_id

    def reply_tool_uses(
        self, calls: list[tuple[str, dict[str, Any]]], *, usage: dict[str, int] | None = None
    ) -> list[str]:
        """The model calls several tools in one turn. Returns their tool_use ids."""
        ids = [f"toolu_{next(self._ids):04d}" for _ in calls]
        content = [
            {"type": "tool_use", "id": i, "name": name, "input": args}
            for i, (name, args) in zip(ids, calls, strict=True)
        ]
        self._message(content, "tool_use", usage)
        return ids

    def reply_result(
        self,
        *,
        title: str = "Result",
        body_markdown: str = "Body",
        summary: str = "1 result",
        usage: dict[str, int] | None = None,
    ) -> str:
        """The model calls the forced result tool with its answer."""
        return self.reply_tool_use(
            RESULT_TOOL,
            {"title": title, "body_markdown": body_markdown, "summary": summary},
            usage=usage,
        )

    def reply_text(
        self, text: str = "Here is my answer.", *, usage: dict[str, int] | None = None
    ) -> None:
        """A plain text answer, end_turn (no result tool called)."""
        self._message([{"type": "text", "text": text}], "end_turn", usage)

    def stop(
        self,
        stop_reason: str,
        *,
        text: str = "",
        content: list[dict[str, Any]] | None = None,
        usage: dict[str, int] | None = None,
    ) -> None:
        """A reply ending with `stop_reason` (max_tokens, refusal, pause_turn, end_turn, ...)."""
        if content is None:
            content = [{"type": "text", "text": text}] if text else []
        self._message(content, stop_reason, usage)

    def error(
        self,
        status: int | None = None,
        type: str = "api_error",
        message: str = "Internal server error",
        *,
        retry_after: float | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        """An error reply with the API's error body and headers."""
        headers = {"request-id": f"req_fake_{next(self._ids):04d}"}
        if retry_after is not None:
            headers["retry-after"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        body = {"type": "error", "error": {"type": type, "message": message}}
        self._push(_Reply(status or _ERROR_STATUS.get(type, 500), body, headers))

    def slow(self, seconds: float) -> None:
        """A reply that takes `seconds` to come (for timeouts); it would be a valid result."""
        self.reply_result()
        with self._lock:
            self._queue[-1].delay = seconds

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    # -- internals ---------------------------------------------------------------------------

    def _message(
        self, content: list[dict[str, Any]], stop_reason: str, usage: dict[str, int] | None
    ) -> None:
        body = {
            "id": f"msg_fake_{next(self._ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": None,  # the request's model, filled in when answered
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,  # None: the default, filled in when answered
        }
        self._push(_Reply(200, body, {"request-id": f"req_fake_{next(self._ids):04d}"}))

    def _push(self, reply: _Reply) -> None:
        with self._lock:
            self._queue.append(reply)

    def _answer(self, body: dict[str, Any], headers: dict[str, str]) -> _Reply:
        with self._lock:
            first = not self.requests
            self.requests.append(Recorded(body, headers, time.monotonic()))
        problem = _invalid(body)
        if problem:  # as the real API would: a 400, and the scripted reply stays queued
            return _Reply(400, _err("invalid_request_error", problem))
        with self._lock:
            reply = self._queue.pop(0) if self._queue else None
        if reply is None:
            return _Reply(
                500,
                {
                    "type": "error",
                    "error": {
                        "type": "api_error",
                        "message": "fake Messages API: no reply scripted for this request",
                    },
                },
            )
        if reply.status == 200:
            out = dict(reply.body)
            out["model"] = body.get("model") or self.model_default
            out["usage"] = _usage(reply.body["usage"], first=first)
            return _Reply(200, out, reply.headers, reply.delay)
        return reply


def _invalid(body: dict[str, Any]) -> str:
    """What the real API would refuse in this request (the checks a runner can get wrong)."""
    for key in ("model", "max_tokens", "messages"):
        if key not in body:
            return f"{key}: Field required"
    if not isinstance(body["max_tokens"], int) or body["max_tokens"] < 1:
        return "max_tokens: must be a positive integer"
    messages = body["messages"]
    if not messages or messages[0].get("role") != "user":
        return "messages: the first message must use the user role"
    for index, message in enumerate(messages):
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        asked = [b["id"] for b in blocks if b.get("type") == "tool_use"]
        if not asked or index == len(messages) - 1:
            continue
        following = messages[index + 1].get("content")
        answered = [
            b.get("tool_use_id")
            for b in (following if isinstance(following, list) else [])
            if b.get("type") == "tool_result"
        ]
        if messages[index + 1].get("role") != "user" or sorted(answered) != sorted(asked):
            return (
                f"messages.{index + 1}: tool_use ids were found without tool_result blocks "
                "immediately after"
            )
    choice = body.get("tool_choice")
    defined = {tool.get("name") for tool in body.get("tools", [])}
    if choice and choice.get("type") == "tool" and choice.get("name") not in defined:
        return "tool_choice: names a tool that is not defined"
    return ""


def _usage(given: dict[str, int] | None, *, first: bool) -> dict[str, Any]:
    """Sensible defaults: the first request writes the cached prefix, later ones read it."""
    usage = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_creation_input_tokens": 1000 if first else 0,
        "cache_read_input_tokens": 0 if first else 1000,
    }
    usage.update(given or {})
    return usage


def _handler_for(fake: FakeMessagesApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:  # http.server names it so
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            if self.path.split("?")[0] != "/v1/messages":
                self._send(_Reply(404, _err("not_found_error", f"no route {self.path}")))
                return
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(_Reply(400, _err("invalid_request_error", "body is not JSON")))
                return
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not headers.get("x-api-key") and not headers.get("authorization"):
                self._send(
                    _Reply(401, _err("authentication_error", "x-api-key header is required"))
                )
                return
            reply = fake._answer(body, headers)
            if reply.delay:
                time.sleep(reply.delay)
            self._send(reply)

        def _send(self, reply: _Reply) -> None:
            data = json.dumps(reply.body).encode()
            try:
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
                pass

    return Handler


def _err(type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type, "message": message}}


def draft_answer(**fields) -> dict:
    """Claude's `draft_automation` tool input for a phrasing the grammar cannot read ("the
    first monday ... slack #recruiting"), with `fields` changed."""
    base = {
        "understood": True,
        "trigger_type": "cron",
        "cron": "0 9 1-7 * 1",
        "timezone": "Europe/London",
        "skill": "pipeline-report",
        "params": {"new_days": 14},
        "channel": "slack",
        "channel_name": "#recruiting",
    }
    return {**base, **fields}
