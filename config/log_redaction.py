"""Keeping webhook secrets out of logs: a logging filter that cuts the query string off every
webhook URL in a record's message. Zoho Recruit signs nothing, so its webhooks carry the
connection's secret as a `token` parameter, often in the query string; request lines
("GET /webhooks/ats/zoho/<id>/?token=... HTTP/1.1") must not write it to the logs."""

from __future__ import annotations

import logging
import re

# A webhook path followed by a query string, up to the next space or quote.
_WEBHOOK_QUERY = re.compile(r"(/webhooks/[^\s?\"']*)\?[^\s\"']*")


def redact_webhook_query(text: str) -> str:
    return _WEBHOOK_QUERY.sub(r"\1?[redacted]", text)


class WebhookQueryFilter(logging.Filter):
    """Rewrites the record's message with webhook query strings replaced by `[redacted]`."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: leave it alone
            return True
        if "/webhooks/" in message and "?" in message:
            record.msg = redact_webhook_query(message)
            record.args = None
        return True
