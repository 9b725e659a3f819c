"""The statements a run makes (issue 17: a run's worker cost is mostly its statements), and
config/plain_sql.py, which writes the hottest of them from the models' metadata: it must
read and write exactly what the ORM would, on both backends."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from automations.engine import run_execute
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.run_keys import manual_key
from config import plain_sql
from delivery.models import Delivery, DeliveryAttempt, Notification
from tests.factories import automation

STAGE_CHANGE = {
    "type": "ats.candidate.stage_changed",
    "candidate": {"id": "c1", "name": "Ada <b>Lovelace</b>", "email": "ada@example.test"},
    "application": {"id": "a1", "job_id": "j1", "job_name": "Backend Engineer"},
    "stage": {"from": "Phone Screen", "to": "Onsite Interview"},
}


def event_alert(org, **kwargs) -> Automation:
    return automation(
        org=org,
        skill_slug="new-candidate-alert",
        trigger_type=Automation.TriggerType.EVENT,
        event_type="ats.candidate.stage_changed",
        **kwargs,
    )


def fire(auto: Automation) -> AutomationRun:
    run, _ = run_fire(
        automation=auto,
        key=manual_key(),
        triggered_by=AutomationRun.TriggeredBy.EVENT,
        trigger_data=STAGE_CHANGE,
        send=False,
    )
    return run


def statements(queries: CaptureQueriesContext) -> list[str]:
    """What was sent, without transaction control (BEGIN, savepoints), which differs
    between a test's transaction and a worker's autocommit."""
    control = ("BEGIN", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "COMMIT")
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(control)]


@pytest.mark.django_db(transaction=True)
def test_an_in_app_event_run_makes_seven_statements(org):
    """Claim, load (with the concurrency count), channels, the inbox item, its delivery and
    attempt rows, the finish with the automation's last run (one statement on PostgreSQL,
    two on SQLite): nothing read twice."""
    auto = event_alert(org)
    run = fire(auto)
    with CaptureQueriesContext(connection) as queries:
        assert run_execute(run_id=run.pk) == "completed"
    sent = statements(queries)
    assert len(sent) <= (7 if connection.vendor == "postgresql" else 8), "\n".join(sent)
    note = Notification.objects.get(run=run)
    assert note.user == auto.owner and note.organization == org and note.automation == auto
    assert "Ada" in note.body_markdown and "<b>" not in note.body_markdown
    delivery = Delivery.objects.get(run=run)
    assert delivery.status == "sent" and delivery.attempts == 1 and delivery.sent_at
    assert delivery.attempt_started_at is None
    assert list(delivery.attempt_log.values_list("ok", flat=True)) == [True]
    run.refresh_from_db()
    assert run.status == "completed" and run.deliveries[0]["attempts"] == 1
    auto.refresh_from_db()
    assert auto.last_run_at == run.started_at


@pytest.fixture
def broken_inbox(transactional_db):
    """The database refuses new inbox items (a real failure of the in-app channel's write,
    raised by the database itself)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                "CREATE FUNCTION inbox_refuses() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'inbox refuses'; END $$ LANGUAGE plpgsql"
            )
            cur.execute(
                "CREATE TRIGGER inbox_refuses BEFORE INSERT ON delivery_notification "
                "FOR EACH ROW EXECUTE FUNCTION inbox_refuses()"
            )
        else:
            cur.execute(
                "CREATE TRIGGER inbox_refuses BEFORE INSERT ON delivery_notification "
                "BEGIN SELECT RAISE(ABORT, 'inbox refuses'); END"
            )

    broken = [True]

    def mend():
        if not broken:
            return
        broken.clear()
        with connection.cursor() as cur:
            cur.execute(
                "DROP TRIGGER inbox_refuses ON delivery_notification"
                if connection.vendor == "postgresql"
                else "DROP TRIGGER inbox_refuses"
            )
            if connection.vendor == "postgresql":
                cur.execute("DROP FUNCTION inbox_refuses()")

    yield mend
    mend()


def test_a_failing_inbox_write_is_recorded_as_a_failed_try_and_retried(org, broken_inbox, settings):
    """The in-app send commits with its records or not at all: a write the database refuses
    leaves no half-made item, a failed attempt saying why, and the run's retry delivers it
    once (the attempts counting both tries)."""
    settings.DELIVERY_BACKOFF_SECONDS = [0.0]
    auto = event_alert(org)
    run = fire(auto)
    assert run_execute(run_id=run.pk) == "pending"
    assert not Notification.objects.filter(run=run).exists()
    delivery = Delivery.objects.get(run=run)
    assert delivery.status == "failed" and delivery.attempts == 2
    assert "inbox refuses" in delivery.last_error
    tries = list(delivery.attempt_log.order_by("pk").values_list("ok", "error"))
    assert [ok for ok, _ in tries] == [False, False] and "inbox refuses" in tries[0][1]
    run.refresh_from_db()
    assert run.error_code == "delivery_failed" and run.deliveries[0]["status"] == "failed"

    broken_inbox()
    AutomationRun.objects.filter(pk=run.pk).update(scheduled_for=timezone.now())
    assert run_execute(run_id=run.pk) == "completed"
    assert Notification.objects.filter(run=run).count() == 1
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.attempts == 3 and delivery.last_error == ""
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 3


@pytest.mark.django_db
def test_a_second_delivery_of_a_run_updates_its_inbox_item(org):
    """The upsert keeps one item per run and user, refreshed, its read time kept."""
    from delivery.channels import in_app
    from delivery.message import OutgoingMessage

    auto = event_alert(org)
    run = fire(auto)
    channel = auto.delivery_channels.get()

    def message(title: str) -> OutgoingMessage:
        return OutgoingMessage(
            type="automation.run.completed",
            message_id="m",
            title=title,
            body_markdown=f"{title} body",
            summary="",
            link="",
            automation_name=auto.name,
            owner=auto.owner,
            organization_id=org.pk,
            automation=auto,
            run=run,
        )

    in_app.send(channel=channel, message=message("First"))
    read = timezone.now() - timedelta(minutes=1)
    Notification.objects.filter(run=run).update(read_at=read)
    in_app.send(channel=channel, message=message("Second"))
    (note,) = Notification.objects.filter(run=run)
    assert note.title.startswith("Second") and note.body_markdown == "Second body"
    assert note.read_at == read and note.user == auto.owner


@pytest.mark.django_db
def test_plain_reader_makes_the_instance_the_orm_makes(org):
    auto = event_alert(org)
    run = fire(auto)
    AutomationRun.objects.filter(pk=run.pk).update(
        cost_usd=Decimal("0.012345"), deliveries=[{"kind": "in_app", "n": 1}]
    )
    reader = plain_sql.Reader(AutomationRun, "r")
    (row,) = plain_sql.fetch(
        f"SELECT {reader.columns} FROM {plain_sql.table(AutomationRun)} {plain_sql.qn('r')} "
        f"WHERE {plain_sql.column(AutomationRun, 'pk', 'r')} = %s",
        [run.pk],
    )
    plain, orm = reader.read(row), AutomationRun.objects.get(pk=run.pk)
    for f in AutomationRun._meta.concrete_fields:
        assert getattr(plain, f.attname) == getattr(orm, f.attname), f.name
        assert type(getattr(plain, f.attname)) is type(getattr(orm, f.attname)), f.name
    assert plain._state.adding is False and plain._state.db == orm._state.db


@pytest.mark.django_db
def test_plain_update_changes_what_the_orm_update_would(org):
    auto = event_alert(org)
    runs = [fire(auto) for _ in range(3)]
    later = timezone.now() + timedelta(hours=1)
    changed = plain_sql.update(
        AutomationRun,
        values={
            "error_message": "x",
            "trigger_data": {"a": [1, "b"]},
            "attempt": plain_sql.Sql('"attempt" + 2'),
            "dispatched_at": None,
        },
        pk=runs[1].pk,
        status="pending",
        scheduled_for__lte=later,
        finished_at=None,
    )
    assert changed == 1
    assert (
        plain_sql.update(
            AutomationRun, values={"error_message": "y"}, pk=runs[0].pk, status="running"
        )
        == 0
    )
    got = AutomationRun.objects.get(pk=runs[1].pk)
    assert got.error_message == "x" and got.trigger_data == {"a": [1, "b"]} and got.attempt == 2
    assert got.dispatched_at is None
    assert AutomationRun.objects.filter(error_message="").count() == 2
