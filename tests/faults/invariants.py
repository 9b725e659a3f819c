"""What must hold after any fault, counted from the database and from what the outside world
saw (the ATS's answers, a listener's requests), and printed as one line of figures per fault.

- lost: an accepted (2xx) webhook with no stored event; a due slot or a matched event with
  no run; a run reported sent that the listener never received.
- duplicates: a slot or an event with more than one run; a run that reached the listener
  under more than one webhook-id (a resend with the same id is the receiver's to dedupe and
  is counted apart, as `resent_same_id`).
- stuck: a run not finished, an event not processed, a delivery still pending or sending.
- unexplained: a failed run, event or delivery with no reason recorded.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from automations.models import AutomationRun
from automations.run_keys import event_key
from delivery.models import Delivery
from tests.faults.services import free_port
from webhooks.models import InboundEvent

MUST_BE_ZERO = ("lost", "duplicates", "stuck", "unexplained")


class CountingListener:
    """An HTTP endpoint on 127.0.0.1 for a webhook channel: records every request's
    webhook-id and run id. `hang` makes it accept and never answer (a channel that hangs)."""

    def __init__(self, *, hang: bool = False) -> None:
        self.requests: list[tuple[str, str]] = []  # (webhook-id, run public id)
        self.hang = hang
        self._release = threading.Event()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                run_id = (json.loads(body or b"{}").get("data") or {}).get("run", {}).get("id", "")
                listener.requests.append((self.headers.get("webhook-id", ""), run_id))
                if listener.hang:
                    listener._release.wait(300)
                    return
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Figures:
    fault: str
    accepted: int = 0  # webhooks the ATS had a 2xx for
    stored: int = 0  # of those, events in the database
    due: int = 0  # slots and matched events that must each have exactly one run
    runs: int = 0  # runs of those
    completed: int = 0
    failed: int = 0  # failed for a reason the run shows (a fault the product reports)
    delivered: int = 0  # distinct runs the listener received
    resent_same_id: int = 0
    lost: int = 0
    duplicates: int = 0
    stuck: int = 0
    unexplained: int = 0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        figures = {k: v for k, v in asdict(self).items() if k not in ("fault", "notes")}
        text = " ".join(f"{k}={v}" for k, v in figures.items())
        return f"{self.fault}: {text}" + (f"  ({'; '.join(self.notes)})" if self.notes else "")

    def broken(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in MUST_BE_ZERO if getattr(self, name)}


def check(
    fault: str,
    *,
    since: datetime,
    accepted: set[str] = frozenset(),
    slots: dict[int, set[str]] | None = None,
    event_automations: Iterable[int] = (),
    listener: CountingListener | None = None,
) -> Figures:
    """Counts the invariants over the runs and events created since `since`.

    accepted: delivery ids the ATS got a 2xx for. slots: per automation id, the idempotency
    keys of the slots that came due (cron:<slot>). event_automations: automations every stored
    event must have one run of (key event:<event id>). listener: the channel every run
    delivers to."""
    figures = Figures(fault)
    runs = list(AutomationRun.objects.filter(created_at__gte=since))
    events = list(InboundEvent.objects.filter(received_at__gte=since))

    # Webhooks: accepted -> stored.
    stored_ids = {event.delivery_id for event in events}
    figures.accepted = len(accepted)
    figures.stored = len(accepted & stored_ids)
    if missing := len(accepted - stored_ids):
        figures.lost += missing
        figures.notes.append(f"{missing} accepted webhooks not stored")

    # Events -> runs: processed, each matched automation with one run.
    runs_by_key = Counter((run.automation_id, run.idempotency_key) for run in runs)
    for event in events:
        if event.status in (InboundEvent.Status.RECEIVED, InboundEvent.Status.PROCESSING):
            figures.stuck += 1
        elif event.status == InboundEvent.Status.FAILED and not event.error:
            figures.unexplained += 1
    # Every stored event has one run of each event automation watching it (key event:<id>).
    unrun = 0
    for automation_id in event_automations:
        for event in events:
            figures.due += 1
            count = runs_by_key[(automation_id, event_key(event.public_id))]
            figures.runs += min(count, 1)
            unrun += count == 0
    if unrun:
        figures.lost += unrun
        figures.notes.append(f"{unrun} stored events without their run")

    # Slots -> runs.
    unrun = 0
    for automation_id, keys in (slots or {}).items():
        figures.due += len(keys)
        for key in keys:
            count = runs_by_key[(automation_id, key)]
            figures.runs += min(count, 1)
            unrun += count == 0
    if unrun:
        figures.lost += unrun
        figures.notes.append(f"{unrun} due slots without a run")
    figures.duplicates += sum(count - 1 for count in runs_by_key.values() if count > 1)

    # Runs: finished, and a failure says why.
    for run in runs:
        if run.status in (AutomationRun.Status.PENDING, AutomationRun.Status.RUNNING):
            figures.stuck += 1
        elif run.status == AutomationRun.Status.COMPLETED:
            figures.completed += 1
        elif run.status == AutomationRun.Status.FAILED:
            figures.failed += 1
            if not run.error_message:
                figures.unexplained += 1

    # Deliveries: none left half-done, failures explained, the listener agrees.
    deliveries = list(Delivery.objects.filter(run__in=[run.pk for run in runs]))
    for delivery in deliveries:
        if delivery.status in (Delivery.Status.PENDING, Delivery.Status.ATTEMPTING):
            figures.stuck += 1
        elif (
            delivery.status in (Delivery.Status.FAILED, Delivery.Status.UNCERTAIN)
            and not delivery.last_error
        ):
            figures.unexplained += 1
    if listener is not None:
        ids_per_run: dict[str, set[str]] = defaultdict(set)
        for webhook_id, run_id in listener.requests:
            ids_per_run[run_id].add(webhook_id)
        figures.delivered = len(ids_per_run)
        figures.resent_same_id = len(listener.requests) - sum(map(len, ids_per_run.values()))
        doubled = sum(len(ids) - 1 for ids in ids_per_run.values() if len(ids) > 1)
        if doubled:
            figures.duplicates += doubled
            figures.notes.append(f"{doubled} runs delivered under two webhook ids")
        public = {run.pk: str(run.public_id) for run in runs}
        sent_not_seen = [
            d
            for d in deliveries
            if d.status == Delivery.Status.SENT and public[d.run_id] not in ids_per_run
        ]
        if sent_not_seen:
            figures.lost += len(sent_not_seen)
            figures.notes.append(f"{len(sent_not_seen)} deliveries marked sent, never received")
    return figures
