"""Structured logs: every record (ours, Django's, Celery's, gunicorn's) goes through
structlog's ProcessorFormatter, so each line is one JSON object when DEBUG is false (what
production and the tests use) and a readable console line when DEBUG is true.

Context (request_id, org_id, user_id, task_id, run_id, event_id, automation_id) is bound with
structlog.contextvars by the request middleware, the Celery signals and the engine, and is
merged into every line. The redaction processor runs last before rendering: webhook query
strings, values of secret-looking keys and email addresses never reach the output."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import structlog

from config.log_redaction import redact_webhook_query

REDACTED = "[redacted]"
EMAIL_MASK = "[email]"

# Keys whose values are credentials whatever they hold ("key" catches api_key, secret_key...).
_SECRET_KEY = re.compile(r"password|secret|token|api_?key|authorization|cookie|signature|key", re.I)
# Keys we bind ourselves that contain "key" or "token" but are ids, not credentials.
_SAFE_KEYS = frozenset({"event", "logger", "level", "timestamp", "task_id", "exception"})
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def redact_text(text: str) -> str:
    """Webhook query strings cut off and email addresses masked."""
    if "/webhooks/" in text and "?" in text:
        text = redact_webhook_query(text)
    if "@" in text:
        text = _EMAIL.sub(EMAIL_MASK, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_item(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


def _redact_item(key: str, value: Any) -> Any:
    # "input_tokens" and the like are counts, not credentials.
    secret = _SECRET_KEY.search(key) and not key.endswith("tokens")
    if key not in _SAFE_KEYS and secret and value not in (None, ""):
        return REDACTED
    return _redact_value(value)


def redact_processor(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: (a) webhook query strings, (b) secret-looking keys' values,
    (c) email addresses, in the event and every string value."""
    return {key: _redact_item(key, value) for key, value in event_dict.items()}


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def formatter_config(*, debug: bool) -> dict[str, Any]:
    """The LOGGING formatter entry: JSON lines, or the console renderer under DEBUG."""
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if debug
        else structlog.processors.JSONRenderer(sort_keys=False, default=str)
    )
    processors: Iterable[Any] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        # Exceptions as one string field ("exception"), before redaction sees it.
        structlog.processors.format_exc_info,
        redact_processor,
        renderer,
    ]
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        "processors": list(processors),
        "foreign_pre_chain": _shared_processors(),
    }


def configure_structlog() -> None:
    """For code that logs through structlog.get_logger(): the same pipeline, handed to the
    stdlib handlers (so the formatter above renders it)."""
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def bind(**ids: Any) -> None:
    """Bind ids (never names or emails) to every following line of this request or task."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in ids.items() if v is not None})


def clear() -> None:
    structlog.contextvars.clear_contextvars()
