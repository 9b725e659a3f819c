"""Storing accepted deliveries with group commit (webhooks/event_store.py): requests arriving
together share one INSERT, each still gets its own answer, and one bad row fails only its own
request. Autocommit throughout, as in production."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import IntegrityError, connection, connections

from tests.ats import connection as ats_connection
from tests.factories import OrganizationFactory
from webhooks import event_store
from webhooks.event_store import StoredRow, inbound_event_store
from webhooks.models import InboundEvent

pytestmark = pytest.mark.django_db(transaction=True)


def row(conn_id: int, delivery_id: str) -> StoredRow:
    return StoredRow(
        connection_id=conn_id,
        delivery_id=delivery_id,
        raw_type="candidate_stage_change",
        raw_body=b'{"action": "candidate_stage_change", "name": "Zo\xc3\xab"}',
        headers={"content-type": "application/json"},
        event={"type": "ats.candidate.stage_changed", "candidate": {"name": "Zoë"}},
    )


def test_a_row_is_stored_once_and_a_duplicate_answers_none():
    conn = ats_connection(OrganizationFactory(), "greenhouse")
    first = row(conn.pk, "d-1")
    assert inbound_event_store(first) is not None
    assert inbound_event_store(row(conn.pk, "d-1")) is None
    stored = InboundEvent.objects.get()
    assert (stored.pk, stored.public_id) == (first.id, first.public_id)
    assert bytes(stored.raw_body) == first.raw_body
    assert stored.event["candidate"]["name"] == "Zoë"
    assert stored.status == "received" and stored.source == "webhook" and stored.matches == []


def test_every_column_the_receiver_leaves_out_has_a_database_default():
    """The receiver's INSERT names its columns (event_store.COLUMNS): any other concrete field
    of InboundEvent must be filled by the database itself, or a new non-null field would
    break the receiver (on PostgreSQL only, where the raw statement runs)."""
    from django.db.models import NOT_PROVIDED

    fields = {f.name: f for f in InboundEvent._meta.concrete_fields}
    assert set(event_store.COLUMNS) <= set(fields), "COLUMNS names a field the model lacks"
    left_out = [f for name, f in fields.items() if name not in event_store.COLUMNS]
    lacking = [
        f.name
        for f in left_out
        if not f.primary_key and not f.null and f.db_default is NOT_PROVIDED
    ]
    assert not lacking, f"give these a db_default or add them to COLUMNS: {lacking}"


def test_concurrent_requests_share_a_statement_and_each_gets_its_own_answer(monkeypatch):
    conn = ats_connection(OrganizationFactory(), "greenhouse")
    batches: list[int] = []
    real_execute = event_store._execute

    def slow_first_execute(batch):
        # Hold the first statement so that the other requests queue behind it.
        batches.append(len(batch))
        if len(batches) == 1:
            time.sleep(0.3)
        real_execute(batch)

    monkeypatch.setattr(event_store, "_execute", slow_first_execute)
    # Twelve deliveries, the last two the same redelivered one.
    delivery_ids = [f"d-{i}" for i in range(10)] + ["again", "again"]
    rows = [row(conn.pk, d) for d in delivery_ids]
    start = threading.Barrier(len(rows))

    def request(r: StoredRow) -> None:
        try:
            start.wait()
            if r is not rows[0]:
                time.sleep(0.05)  # the first leads; the rest arrive while it inserts
            inbound_event_store(r)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=request, args=(r,)) for r in rows]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert max(batches) > 1, batches
    assert sum(batches) == len(rows)
    stored = dict(InboundEvent.objects.values_list("public_id", "pk"))
    assert len(stored) == 11
    for r in rows[:10]:
        assert stored[r.public_id] == r.id
    # Exactly one of the two redeliveries was stored; the other was told it is a duplicate.
    kept = [r for r in rows[10:] if r.id is not None]
    assert len(kept) == 1 and stored[kept[0].public_id] == kept[0].id


def test_one_bad_row_in_a_batch_fails_only_its_own_request():
    conn = ats_connection(OrganizationFactory(), "greenhouse")
    good, gone, other = row(conn.pk, "a"), row(conn.pk + 999, "b"), row(conn.pk, "c")
    event_store.inbound_events_insert([good, gone, other])
    assert isinstance(gone.error, IntegrityError) and gone.id is None
    assert good.error is None and other.error is None
    assert set(InboundEvent.objects.values_list("pk", flat=True)) == {good.id, other.id}


def test_the_same_delivery_twice_in_one_batch_is_stored_once():
    conn = ats_connection(OrganizationFactory(), "greenhouse")
    one, two = row(conn.pk, "same"), row(conn.pk, "same")
    event_store.inbound_events_insert([one, two])
    assert InboundEvent.objects.count() == 1
    assert [one.id is None, two.id is None].count(True) == 1


def test_a_statement_dropped_on_the_server_is_prepared_again():
    conn = ats_connection(OrganizationFactory(), "greenhouse")
    assert inbound_event_store(row(conn.pk, "before")) is not None
    if connection.vendor == "postgresql":  # what a pooler or a server reset can do
        event_store.store_connection().connection.execute("DEALLOCATE ALL")
    assert inbound_event_store(row(conn.pk, "after")) is not None
    assert InboundEvent.objects.count() == 2


def test_inside_a_transaction_a_row_goes_alone_and_rolls_back_with_it():
    from django.db import transaction

    conn = ats_connection(OrganizationFactory(), "greenhouse")
    with pytest.raises(RuntimeError), transaction.atomic():
        assert inbound_event_store(row(conn.pk, "in-transaction")) is not None
        raise RuntimeError("the caller fails after storing")
    assert not InboundEvent.objects.exists()
    assert inbound_event_store(row(conn.pk, "afterwards")) is not None
    assert list(InboundEvent.objects.values_list("delivery_id", flat=True)) == ["afterwards"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="only PostgreSQL has a store connection"
)
def test_a_store_connection_the_server_closed_is_replaced_and_nothing_is_lost():
    conn = ats_connection(OrganizationFactory(), "greenhouse")
    assert inbound_event_store(row(conn.pk, "before")) is not None
    backend = event_store.store_connection().connection.info.backend_pid
    with connection.cursor() as cursor:  # what a server restart or an idle timeout does
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    after = row(conn.pk, "after")
    assert inbound_event_store(after) is not None
    assert event_store.store_connection().connection.info.backend_pid != backend
    assert InboundEvent.objects.get(delivery_id="after").pk == after.id
