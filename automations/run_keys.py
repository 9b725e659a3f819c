"""The idempotency key of every run, one function per trigger kind, and nowhere else. The key
is unique per automation (a database constraint): that is what makes a duplicate beat tick, a
redelivered message or a replayed webhook harmless. Formats:

- `cron:<slot, UTC, %Y-%m-%dT%H:%M:%SZ>` and `poll:<slot>`: one run per schedule slot;
- `missed:cron:<first missed slot>` (or `missed:poll:...`): the one summary run of a spell of
  missed slots (named by its oldest, so two schedulers planning it insert it once);
- `event:<stored event's public id>`: one run per stored event, or, for a connection in `both`
  mode, `event:<change key>`: one run per change, whether the webhook or the poll saw it;
- `relative:<provider>:<interview id>` for an interview's first booking, then `#2`, `#3` for
  each booking after a cancellation or a finished run (`#` and `%` in ids are escaped);
- `manual:<uuid4>`: every manual run is new; `test:<uuid4>`: every test run;
- `rerun:<original run's public id>:<n>`: the original's n-th rerun (so a double-clicked
  Rerun makes one run, and the key says what it repeats);
- `<any key above>:u<user id>`: one member's run of an org-wide automation (one run per
  member per slot, so a replayed slot stays exactly-once for each member).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from automations.models import Automation

KEY_MAX = 200  # AutomationRun.idempotency_key's length


def _stamp(slot: datetime) -> str:
    return slot.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def slot_key(automation: Automation, slot: datetime) -> str:
    prefix = "poll" if automation.trigger_type == Automation.TriggerType.POLL else "cron"
    return f"{prefix}:{_stamp(slot)}"


def missed_key(automation: Automation, missed_from: datetime) -> str:
    return f"missed:{slot_key(automation, missed_from)}"


def event_key(inbound_public_id: uuid.UUID) -> str:
    return f"event:{inbound_public_id}"


def change_event_key(change_key: str) -> str:
    return f"event:{change_key}"[:KEY_MAX]


def relative_key_base(provider: object, interview_id: str) -> str:
    """The first booking's key; later bookings add `#<n>`. '#' separates the booking number
    and '%' escapes, so an id holding either cannot pass for another interview's booking."""
    safe = interview_id.replace("%", "%25").replace("#", "%23")
    return f"relative:{provider}:{safe}"


def relative_key(base: str, booking: int) -> str:
    return base if booking == 1 else f"{base}#{booking}"


def manual_key() -> str:
    return f"manual:{uuid.uuid4()}"


def test_key() -> str:
    """A test run from the builder: each test is a run of its own, kept in the history."""
    return f"test:{uuid.uuid4()}"


def rerun_key(original_public_id: uuid.UUID, number: int) -> str:
    return f"rerun:{original_public_id}:{number}"


def member_key(key: str, user_id: int) -> str:
    """The key of member `user_id`'s run of the slot `key` (org-wide automations)."""
    suffix = f":u{user_id}"
    return key[: KEY_MAX - len(suffix)] + suffix
