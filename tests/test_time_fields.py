"""Times at any offset reach the database: PostgreSQL refuses an offset past ±15:59, which ISO
8601 allows. The dashboard's and the API's time fields clean every time to UTC and turn one UTC
cannot hold into a form error; the database backend sends every datetime in UTC, so inputs no
form cleans (an admin list's lookups) cannot reach the query with such an offset either."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.core.exceptions import ValidationError

from automations.models import AutomationRun
from config.form_fields import UtcDateTimeField, UtcIsoDateTimeField
from tests.api.test_runs_access import make_run
from tests.factories import automation

FIELDS = [UtcDateTimeField, UtcIsoDateTimeField]


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "value,utc",
    [
        ("2026-06-01T18:53:00+18:53", datetime(2026, 6, 1, 0, 0, tzinfo=UTC)),
        ("2026-05-31T00:01:00-23:59", datetime(2026, 6, 1, 0, 0, tzinfo=UTC)),
        ("2026-06-01T02:00:00+02:00", datetime(2026, 6, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_a_time_at_any_offset_cleans_to_the_same_instant_in_utc(field, value, utc):
    cleaned = field(required=False).clean(value)
    assert cleaned == utc
    assert cleaned.utcoffset().total_seconds() == 0


@pytest.mark.parametrize("field", FIELDS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_a_time_utc_cannot_hold_is_a_form_error(field, value):
    form_field = field(required=False)
    with pytest.raises(ValidationError) as raised:
        form_field.clean(value)
    assert raised.value.messages == ["This time is out of range."]


def test_the_orm_takes_a_datetime_at_any_offset(org, owner):
    run = make_run(automation(org=org, owner=owner))
    far = timezone(timedelta(hours=18, minutes=53))
    run.created_at = datetime(2026, 6, 1, 18, 53, tzinfo=far)
    run.save(update_fields=["created_at"])
    run.refresh_from_db()
    assert run.created_at == datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    since = datetime(2026, 6, 1, 18, 52, tzinfo=far)
    assert list(AutomationRun.objects.filter(created_at__gte=since)) == [run]


@pytest.mark.parametrize(
    "path,lookup",
    [
        ("/admin/automations/automationrun/", "created_at__gte"),
        ("/admin/accounts/auditevent/", "created_at__gte"),
        ("/admin/webhooks/inboundevent/", "received_at__gte"),
        ("/admin/automations/automation/", "created_at__lt"),
    ],
)
def test_admin_date_lookups_take_any_offset(client, superuser, path, lookup):
    client.force_login(superuser)
    for value in ("2026-06-01T18:53:00+18:53", "0001-01-01T00:00:00+05:00"):
        assert client.get(path, {lookup: value}).status_code == 200, value
