"""Storing accepted deliveries, with group commit.

Each delivery must be in the database before its 2xx goes back (the row is the queue entry,
webhooks/dispatch.py). A round trip to the database per delivery was most of a request's
cost, so requests arriving together in one process share one: the first to arrive inserts
every row waiting at that moment in one `INSERT ... VALUES (...), (...) ON CONFLICT DO
NOTHING`, on its own connection, while the others wait for the answer; rows that arrive
meanwhile go in the next statement, led by the first of them. A lone request inserts its own
row at once, so nothing waits for a batch to fill.

Rows are inserted in (connection, delivery id) order, so two processes inserting the same
redelivered pair can never deadlock; a failed batch is retried row by row, so one bad row
(its connection deleted meanwhile) fails only its own request.
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
from dataclasses import dataclass, field

from django.db import DataError, IntegrityError, OperationalError, connection
from django.utils import timezone
from psycopg import pq

from webhooks.models import InboundEvent

MAX_BATCH = 64


@dataclass(eq=False)
class StoredRow:
    connection_id: int
    delivery_id: str
    raw_type: str
    raw_body: bytes
    headers: dict
    event: dict
    public_id: uuid.UUID = field(default_factory=uuid.uuid4)
    # Filled in by the insert: the new row's id, or None for a duplicate delivery.
    id: int | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False


_lock = threading.Lock()
_pending: list[StoredRow] = []
_flushing = False


def inbound_event_store(row: StoredRow) -> int | None:
    """Insert the row unless its (connection, delivery id) is already stored; return the new
    id, or None for a duplicate. Raises what the insert raised (IntegrityError when the
    connection no longer exists)."""
    global _flushing
    if connection.in_atomic_block:
        # The caller's transaction may still roll back: its row must not carry other
        # requests' rows with it, so it goes alone, on the caller's connection.
        _insert_rows([row])
    else:
        with _lock:
            _pending.append(row)
            row.lead = not _flushing
            _flushing = True
        if not row.lead:
            row.done.wait()
        if row.lead:  # first to arrive, or handed the lead by the previous batch
            _flush()
    if row.error is not None:
        raise row.error
    return row.id


def _flush() -> None:
    global _flushing
    with _lock:
        batch = _pending[:MAX_BATCH]
        del _pending[:MAX_BATCH]
    try:
        _insert_rows(batch)
    finally:
        with _lock:
            if _pending:
                _pending[0].lead = True
                _pending[0].done.set()
            else:
                _flushing = False
        for row in batch:
            row.done.set()


def _insert_rows(batch: list[StoredRow]) -> None:
    batch.sort(key=lambda row: (row.connection_id, row.delivery_id))
    try:
        _execute(batch)
    except Exception as exc:
        if len(batch) == 1:
            batch[0].error = exc
            return
        for row in batch:  # find which row failed; the others still go in
            try:
                _execute([row])
            except Exception as row_exc:
                row.error = row_exc


COLUMNS = (
    "public_id",
    "connection",
    "delivery_id",
    "raw_type",
    "raw_body",
    "headers",
    "event",
    "received_at",
)


@functools.cache
def _statement(rows: int, placeholder: str) -> str:
    """The INSERT for this many rows; `placeholder` is "%s" (Django's cursor) or "$" (numbered,
    for a prepared statement)."""
    meta = InboundEvent._meta
    columns = [meta.get_field(name).column for name in COLUMNS]
    columns += ["source", "status", "error", "matches"]
    values = []
    for row in range(rows):
        marks = [
            "%s" if placeholder == "%s" else f"${row * len(COLUMNS) + i + 1}"
            for i in range(len(COLUMNS))
        ]
        values.append(f"({', '.join(marks)}, 'webhook', 'received', '', '[]')")
    return (
        f"INSERT INTO {meta.db_table} ({', '.join(columns)}) VALUES {', '.join(values)} "
        "ON CONFLICT (connection_id, delivery_id) DO NOTHING RETURNING id, public_id"
    )


def _execute(batch: list[StoredRow]) -> None:
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # libpq directly knows nothing of the caller's transaction (psycopg opens it lazily),
        # so only in autocommit, the receiver's case.
        inserted = _execute_postgresql(batch)
    else:
        inserted = _execute_portable(batch)
    for row in batch:
        row.id = inserted.get(str(row.public_id))


def _values(row: StoredRow, public_id) -> tuple:
    """The row's parameters in COLUMNS order, but for received_at (one per statement)."""
    return (
        public_id,
        row.connection_id,
        row.delivery_id,
        row.raw_type,
        row.raw_body,
        json.dumps(row.headers),
        json.dumps(row.event),
    )


def _execute_portable(batch: list[StoredRow]) -> dict[str, int]:
    received_at = connection.ops.adapt_datetimefield_value(timezone.now())
    params: list = []
    for row in batch:
        params += (*_values(row, row.public_id.hex), received_at)
    with connection.cursor() as cursor:
        cursor.execute(_statement(len(batch), "%s"), params)
        return {
            str(public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(public_id)): pk
            for pk, public_id in cursor.fetchall()
        }


# Parameters in text format except the raw body (binary: bytea needs no escaping then).
_FORMATS = (0, 0, 0, 0, 1, 0, 0, 0)


def _execute_postgresql(batch: list[StoredRow]) -> dict[str, int]:
    """Straight through libpq (psycopg's `pgconn`): a statement prepared once per connection
    and batch size, parameters already encoded. Going through a cursor cost more than the
    statement itself."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    received_at = timezone.now().isoformat().encode()
    params: list[bytes] = []
    for row in batch:
        values = _values(row, row.public_id)
        params += (*(v if isinstance(v, bytes) else str(v).encode() for v in values), received_at)
    formats = _FORMATS * len(batch)
    name = _prepared(pgconn, len(batch))
    result = pgconn.exec_prepared(name, params, param_formats=formats)
    if result.status == pq.ExecStatus.FATAL_ERROR and _sqlstate(result) == "26000":
        # The statement is gone (the server side was reset): prepare it again, once.
        _prepared_names(pgconn).discard(name)
        name = _prepared(pgconn, len(batch))
        result = pgconn.exec_prepared(name, params, param_formats=formats)
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise _error(result, pgconn)
    return {
        result.get_value(i, 1).decode(): int(result.get_value(i, 0)) for i in range(result.ntuples)
    }


def _prepared_names(pgconn) -> set[bytes]:
    """Statements prepared on this database connection (a reconnect starts a new set)."""
    state = getattr(connection, "_inbound_prepared", None)
    if state is None or state[0] is not pgconn:
        state = (pgconn, set())
        connection._inbound_prepared = state
    return state[1]


def _prepared(pgconn, rows: int) -> bytes:
    names = _prepared_names(pgconn)
    name = b"skillomatic_inbound_store_%d" % rows
    if name not in names:
        result = pgconn.prepare(name, _statement(rows, "$").encode())
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise _error(result, pgconn)
        names.add(name)
    return name


def _sqlstate(result) -> str:
    return (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()


def _error(result, pgconn) -> Exception:
    """Django's exception for a failed statement, as its own cursor would have raised."""
    message = (result.error_message or pgconn.error_message or b"").decode(errors="replace")
    sqlstate = _sqlstate(result)
    if sqlstate.startswith("23"):
        return IntegrityError(message.strip())
    if sqlstate.startswith("22"):
        return DataError(message.strip())
    if pgconn.status != pq.ConnStatus.OK:
        # Lost: let Django close it at the end of the request instead of reusing it.
        connection.errors_occurred = True
    return OperationalError(message.strip() or "the database did not answer")
