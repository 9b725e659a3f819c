"""No input to any dashboard URL answers 500: every URL, GET and POST, with hostile values in
every parameter a page reads (NUL, 5,000 characters, lone surrogates' UTF-8 garbage, huge and
negative numbers, lists, markup, path tricks, a time at an offset PostgreSQL refuses), as the
org's admin (who reaches every page) and as the owner. The test client re-raises a view's
exception, so a 500 fails loudly here.

Two POSTs are left out because they reach the network by design: sending a test message to
a channel and testing an ATS connection (their own tests point them at local listeners)."""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, reverse

from accounts.api_tokens import api_token_create
from automations.dashboard import urls as dashboard_urls
from automations.firing import run_fire
from automations.models import AutomationRun, RerunBatch
from automations.run_keys import manual_key
from delivery.channel_services import channel_create
from delivery.models import Notification
from tests.factories import automation
from webhooks.services import connection_create

pytestmark = pytest.mark.django_db

NETWORK_POSTS = {"channel-test", "connection-test"}
# Every parameter name the dashboard's forms and lists read, and the builder's fields.
KEYS = [
    "q",
    "status",
    "trigger",
    "trigger_type",
    "skill",
    "owner",
    "after",
    "before",
    "range",
    "created_from",
    "created_to",
    "automation",
    "kind",
    "template",
    "next",
    "editing",
    "name",
    "cron_expression",
    "schedule_preset",
    "preset",
    "time",
    "weekday",
    "day",
    "every_minutes",
    "time_zone",
    "event_type",
    "event_type_other",
    "filter_field_0",
    "filter_op_0",
    "filter_value_0",
    "poll_interval_seconds",
    "offset_minutes",
    "offset_side",
    "channels",
    "catch_up",
    "retry_limit",
    "params",
    "param_days",
    "to",
    "url",
    "confirm",
    "action",
    "ids",
    "org",
    "provider",
    "mode",
    "base_url",
    "region",
    "webhook_secret",
    "api_key",
    "remove_key",
    "password",
    "username",
    # the audit log's filter
    "person",
    "what",
    "target",
    "since",
    "until",
    "expires",
    # the "Describe it" box, and the builder opened from its draft
    "text",
    "draft",
]
HOSTILE = {
    "nul": "a\x00b",
    "long": "x" * 5000,
    "garbage": "\udcff\udcfe".encode("utf-8", "surrogateescape").decode("latin-1") + "é中🙂",
    "numbers": "-99999999999999999999999999",
    "markup": '"><script>alert(1)</script>{{ 7*7 }}{% debug %}',
    "path": "../../../../etc/passwd%00",
    "uuidish": str(uuid.uuid4()),
    # A valid ISO time whose offset PostgreSQL refuses (past ±15:59).
    "far_offset": "2026-06-01T18:53:00+18:53",
}


def _targets(world):
    owner, org = world.people["owner"], world.org
    auto = automation(org=org, owner=owner, name="Hostile target")
    run, _ = run_fire(
        automation=auto,
        key=manual_key(),
        triggered_by=AutomationRun.TriggeredBy.MANUAL,
        send=False,
    )
    AutomationRun.objects.filter(pk=run.pk).update(status="failed")
    channel, _ = channel_create(org=org, owner=owner, kind="in_app", name="Hostile inbox")
    connection, _ = connection_create(
        org=org, by=world.people["org_admin"], provider="greenhouse", name="Hostile GH"
    )
    batch = RerunBatch.objects.create(organization=org, created_by=owner, name="Batch")
    note = Notification.objects.create(organization=org, user=owner, title="Hi", run=run)
    token, _ = api_token_create(user=owner, name="Hostile token")
    return {
        "prefix": token.prefix,
        "automation": auto.public_id,
        "run": run.public_id,
        "rerun-batch": batch.public_id,
        "channel": channel.public_id,
        "connection": connection.public_id,
        "notification": note.public_id,
    }


def _path(pattern: URLPattern, targets: dict) -> str:
    if "<str:prefix>" in str(pattern.pattern):  # an API token of the owner's
        return reverse(f"dashboard:{pattern.name}", args=[targets["prefix"]])
    if "public_id" not in str(pattern.pattern):
        return reverse(f"dashboard:{pattern.name}")
    name = pattern.name
    kind = next(
        (
            k
            for k in ("rerun-batch", "notification", "connection", "channel", "run")
            if name.startswith(k)
        ),
        "automation",
    )
    return reverse(f"dashboard:{name}", args=[targets[kind]])


PATTERNS = [p for p in dashboard_urls.urlpatterns if isinstance(p, URLPattern)]


@pytest.mark.parametrize("role", ["org_admin", "owner"])
@pytest.mark.parametrize("value", list(HOSTILE), ids=list(HOSTILE))
@pytest.mark.parametrize("pattern", PATTERNS, ids=[p.name for p in PATTERNS])
def test_no_dashboard_input_answers_500(pattern, value, role, world, client):
    targets = _targets(world)
    client.force_login(world.people[role])
    path = _path(pattern, targets)
    data = {key: HOSTILE[value] for key in KEYS}
    for method in ("get", "post"):
        if method == "post" and pattern.name in NETWORK_POSTS:
            continue
        for htmx in (False, True):
            headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
            response = getattr(client, method)(path, data, **headers)
            assert response.status_code < 500, (method, path, response.status_code)
        # A list where one value is expected.
        response = getattr(client, method)(path, {key: [HOSTILE[value], "2"] for key in KEYS})
        assert response.status_code < 500, (method, path, "lists", response.status_code)
        if method == "post" and pattern.name == "sign-out":
            client.force_login(world.people[role])
