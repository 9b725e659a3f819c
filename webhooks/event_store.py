"""Storing accepted deliveries, with group commit.

Each delivery must be in the database before its 2xx goes back (the row is the queue entry,
webhooks/dispatch.py). A round trip to the database per delivery was most of a request's
cost, so requests arriving together in one process share one: the first to arrive inserts
every row waiting at that moment in one `INSERT ... VALUES (...), (...) ON CONFLICT DO
NOTHING`, on the process's store connection, while the others wait for the answer; rows
that arrive meanwhile go in the next statement, led by the first of them. A lone request
inserts its own row at once, so nothing waits for a batch to fill. The web server runs gevent
workers (config/gunicorn.py): a wait here lets the process serve other requests, whose rows
join the next batch.

Rows are inserted in (connection, delivery id) order, so two processes inserting the same
redelivered pair can never deadlock; a failed batch is retried row by row, so one bad row
(its connection deleted meanwhile) fails only its own request.
"""

from __future__ import annotations

import functools
import json
import os
import threading
import uuid
from dataclasses import dataclass, field

import psycopg
from django.db import (
    DEFAULT_DB_ALIAS,
    DataError,
    IntegrityError,
    OperationalError,
    connection,
    connections,
)
from django.utils import timezone
from psycopg import generators, pq

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
        inbound_events_insert([row])
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
        inbound_events_insert(batch)
    finally:
        with _lock:
            if _pending:
                _pending[0].lead = True
                _pending[0].done.set()
            else:
                _flushing = False
        for row in batch:
            row.done.set()


def inbound_events_insert(batch: list[StoredRow]) -> None:
    """Insert these rows now, in one statement (what a group commit's leader runs): each row
    gets its new id, None if its delivery is already stored, or the error its own insert
    raised, so one bad row fails only itself."""
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
    # Every other column comes from its db_default (source webhook, status received, ...),
    # so the model states each default once.
    columns = [meta.get_field(name).column for name in COLUMNS]
    values = []
    for row in range(rows):
        marks = [
            "%s" if placeholder == "%s" else f"${row * len(COLUMNS) + i + 1}"
            for i in range(len(COLUMNS))
        ]
        values.append(f"({', '.join(marks)})")
    return (
        f"INSERT INTO {meta.db_table} ({', '.join(columns)}) VALUES {', '.join(values)} "
        "ON CONFLICT (connection_id, delivery_id) DO NOTHING RETURNING id, public_id"
    )


def _execute(batch: list[StoredRow]) -> None:
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # The store's own connection is outside any caller's transaction, so only in
        # autocommit, the receiver's case.
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
    """On the store's own connection (`store_connection`), a statement prepared once per batch size,
    parameters already encoded, straight through libpq (psycopg's `pgconn`): going through a
    cursor cost more than the statement itself. The wait for the answer goes through psycopg's
    wait function, so under gevent other requests run meanwhile."""
    received_at = timezone.now().isoformat().encode()
    params: list[bytes] = []
    for row in batch:
        values = _values(row, row.public_id)
        params += (*(v if isinstance(v, bytes) else str(v).encode() for v in values), received_at)
    formats = _FORMATS * len(batch)
    try:
        result = _run(batch, params, formats)
    except _Lost:
        # Once more on a new connection: safe even if the first one had committed, since a
        # stored row is then reported as already there.
        result = _run(batch, params, formats)
    return {
        result.get_value(i, 1).decode(): int(result.get_value(i, 0)) for i in range(result.ntuples)
    }


class _Lost(OperationalError):
    """The store's connection broke (closed; the next use connects again)."""


def _run(batch: list[StoredRow], params: list[bytes], formats: tuple):
    db = store_connection()
    name = _prepared(db, len(batch))
    result = _run_prepared(db, name, params, formats)
    if result.status == pq.ExecStatus.FATAL_ERROR and _sqlstate(result) == "26000":
        # The statement is gone (the server side was reset): prepare it again, once.
        db.inbound_prepared.discard(name)
        name = _prepared(db, len(batch))
        result = _run_prepared(db, name, params, formats)
    if result.status != pq.ExecStatus.TUPLES_OK:
        raise _error(result, db)
    return result


def _run_prepared(db, name: bytes, params: list[bytes], formats: tuple):
    conn = db.connection
    try:
        conn.pgconn.send_query_prepared(name, params, param_formats=formats)
        return conn.wait(generators.execute(conn.pgconn))[-1]
    except psycopg.Error as exc:  # the connection broke mid-statement
        db.close()
        raise _Lost(str(exc) or "the database connection was lost") from exc


def _prepared(db, rows: int) -> bytes:
    name = b"skillomatic_inbound_store_%d" % rows
    if name not in db.inbound_prepared:
        result = db.connection.pgconn.prepare(name, _statement(rows, "$").encode())
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise _error(result, db)
        db.inbound_prepared.add(name)
    return name


_store: dict = {}


def store_connection():
    """The process's own database connection for the group commit, in autocommit (opened,
    or opened again, if need be).

    Only the leader of a batch uses it, and one batch is in flight at a time, so one
    connection per process is enough. Django's connections are per thread, and per greenlet
    under gevent: a leader's own connection would leave one behind per greenlet that ever led.
    """
    db = _store.get("db")
    if db is not None and (
        _store.get("pid") != os.getpid()
        or db.settings_dict["NAME"] != connection.settings_dict["NAME"]
    ):
        store_close()  # forked, or pointed at another database (tests)
        db = None
    if db is None:
        default = connections[DEFAULT_DB_ALIAS]
        db = default.__class__(dict(default.settings_dict), alias=DEFAULT_DB_ALIAS)
        db.inc_thread_sharing()  # led by whichever request thread arrives first
        db.inbound_prepared = set()
        _store.update(db=db, pid=os.getpid())
    if db.connection is None:
        db.ensure_connection()
        db.inbound_prepared = set()  # a new server session has no prepared statements
    return db


def store_close() -> None:
    """Close the store's connection (at exit, or before the test database is dropped)."""
    db = _store.pop("db", None)
    if db is not None and _store.pop("pid", None) == os.getpid():
        db.close()


def _sqlstate(result) -> str:
    return (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()


def _error(result, db) -> Exception:
    """Django's exception for a failed statement, as its own cursor would have raised."""
    pgconn = db.connection.pgconn
    message = (result.error_message or pgconn.error_message or b"").decode(errors="replace")
    sqlstate = _sqlstate(result)
    if sqlstate.startswith("23"):
        return IntegrityError(message.strip())
    if sqlstate.startswith("22"):
        return DataError(message.strip())
    if pgconn.status != pq.ConnStatus.OK:
        db.close()
        return _Lost(message.strip() or "the database connection was lost")
    return OperationalError(message.strip() or "the database did not answer")
