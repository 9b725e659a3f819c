"""Delivering a result to every channel of an automation. One channel failing never stops the
others; the run records each channel's outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from delivery.channels import email, in_app
from delivery.errors import DeliveryError

logger = logging.getLogger(__name__)

CHANNELS: dict[str, Callable[..., str]] = {
    "email": email.send,
    "in_app": in_app.send,
}


def deliver_result(*, run, automation, result) -> list[dict]:
    outcomes = []
    for channel in automation.channels or [{"kind": "in_app"}]:
        kind = channel.get("kind", "")
        started = time.monotonic()
        outcome: dict = {"kind": kind}
        try:
            sender = CHANNELS.get(kind)
            if sender is None:
                raise DeliveryError(f"Unknown channel kind {kind!r}.", permanent=True)
            outcome.update(
                status="sent",
                detail=sender(result=result, channel=channel, run=run, automation=automation),
            )
        except DeliveryError as exc:
            outcome.update(status="failed", error=str(exc), permanent=exc.permanent)
        except Exception as exc:
            logger.exception("run %s: channel %s crashed", run.pk, kind)
            outcome.update(status="failed", error=f"{type(exc).__name__}: {exc}", permanent=False)
        outcome["ms"] = int((time.monotonic() - started) * 1000)
        if outcome["status"] == "failed":
            logger.warning("run %s: %s delivery failed: %s", run.pk, kind, outcome["error"])
        outcomes.append(outcome)
    return outcomes
