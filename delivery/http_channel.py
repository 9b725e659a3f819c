"""What Slack, Teams and outbound webhooks share: POST a body, and turn the answer into
success, a transient failure (timeouts, 5xx, 429, 408) or a permanent one (other 4xx, a
refused URL)."""

from __future__ import annotations

import requests

from config import outbound
from delivery.errors import DeliveryError

TRANSIENT_STATUS = {408, 425, 429}
# "Too large" is about this message, not the channel: the same URL takes the next, smaller
# result, so the channel is not marked failing (channels budget their payloads below the
# documented limits, so this should not happen; if it does, it is ours to fix).
MESSAGE_FAULT_STATUS = {413}


def post(url: str, *, body: bytes, headers: dict[str, str], what: str) -> str:
    try:
        response = outbound.post(url, body=body, headers=headers)
    except outbound.OutboundRefused as exc:
        raise DeliveryError(f"{what} URL refused: {exc}", permanent=True) from None
    except requests.Timeout:
        raise DeliveryError(f"{what} did not answer in time.") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"{what} could not be reached: {type(exc).__name__}.") from None
    status = response.status
    if 200 <= status < 300:
        return f"{what} answered {status}"
    snippet = response.body[:200].decode("utf-8", "replace").strip()
    message = f"{what} answered {status}" + (f": {snippet}" if snippet else "")
    if status >= 500 or status in TRANSIENT_STATUS:
        raise DeliveryError(message, http_status=status, retry_after=response.retry_after())
    if 300 <= status < 400:
        message += " (a redirect without a Location)"
    raise DeliveryError(
        message,
        permanent=True,
        http_status=status,
        channel_fault=status not in MESSAGE_FAULT_STATUS,
    )
