"""What clients of the resource endpoints rely on: secrets are write-only and a secret set
through the API is in no answer; a generated secret is shown once; an event explains what
became of it per automation and shows its redacted state past the retention period; filters
and the inbox; no input gives a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from automations.models import AutomationRun
from delivery.models import DeliveryChannel, Notification
from tests.api.access import assert_error
from tests.api.resources_world import event as make_event
from tests.api.resources_world import fill
from tests.factories import automation as make_automation
from webhooks.models import AtsConnection, InboundEvent
from webhooks.retention import inbound_purge_expired

URL_SECRET = "hookTOKENsecret0123456789"
WEBHOOK_SECRET = "whsec-set-through-the-api-0123456789abcdef"
API_KEY = "api-key-set-through-the-api-987654321"


@pytest.fixture
def rows(world):
    fill(world)
    return world


def _all_answers(client, org, paths) -> str:
    out = []
    for path in paths:
        response = client.get(f"/api/v1/orgs/{org.slug}/{path}")
        assert response.status_code == 200, (path, response.content[:200])
        out.append(response.content.decode())
    return "\n".join(out)


def test_secrets_set_through_the_api_appear_in_no_answer(api, rows, settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    admin, org = rows.people["org_admin"], rows.org
    client = api(admin)
    base = f"/api/v1/orgs/{org.slug}/"
    answers = []
    created = client.post(
        base + "channels/",
        {"kind": "slack", "name": "Slack", "config": {"url": f"http://127.0.0.1/{URL_SECRET}"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    channel = created.json()
    assert channel["url_set"] is True and channel["signing_secret"] is None
    answers.append(created.content.decode())
    patched = client.patch(
        f"{base}channels/{channel['id']}/",
        {"config": {"url": f"http://127.0.0.1/2{URL_SECRET}"}},
        format="json",
    )
    assert patched.status_code == 200
    answers.append(patched.content.decode())
    conn = client.post(
        base + "connections/",
        {
            "provider": "greenhouse",
            "name": "With secrets",
            "webhook_secret": WEBHOOK_SECRET,
            "api_key": API_KEY,
        },
        format="json",
    )
    assert conn.status_code == 201, conn.content
    body = conn.json()
    assert body["webhook_secret_set"] and body["api_key_set"]
    assert body["new_webhook_secret"] is None  # nothing generated: the one given is kept
    answers.append(conn.content.decode())
    one = f"{base}connections/{body['id']}/"
    answers.append(client.patch(one, {"api_key": "2" + API_KEY}, format="json").content.decode())
    # A refused secret is not repeated in the error.
    refused = client.patch(one, {"webhook_secret": "short" + URL_SECRET[:2]}, format="json")
    assert refused.status_code == 400
    answers.append(refused.content.decode())
    answers.append(
        _all_answers(
            client,
            org,
            ["channels/", f"channels/{channel['id']}/", "connections/", one[len(base) :]],
        )
    )
    stored = AtsConnection.objects.get(public_id=body["id"]).secrets
    assert stored["webhook_secret"] == WEBHOOK_SECRET and stored["api_key"] == "2" + API_KEY
    everything = "\n".join(answers)
    for secret in (URL_SECRET, WEBHOOK_SECRET, API_KEY):
        assert secret not in everything


def test_generated_secrets_are_shown_once(api, rows, settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    client = api(rows.people["org_admin"])
    base = f"/api/v1/orgs/{rows.org.slug}/"
    hook = client.post(
        base + "channels/",
        {"kind": "webhook", "name": "Hook", "config": {"url": "http://127.0.0.1/hook"}},
        format="json",
    )
    assert hook.status_code == 201
    signing = hook.json()["signing_secret"]
    assert signing and hook["Cache-Control"] == "no-store"
    assert signing not in client.get(f"{base}channels/{hook.json()['id']}/").content.decode()
    conn = rows.rows["connection"]
    before = conn.secrets["webhook_secret"]
    rotated = client.post(f"{base}connections/{conn.public_id}/rotate/")
    assert rotated.status_code == 200 and rotated["Cache-Control"] == "no-store"
    new = rotated.json()["new_webhook_secret"]
    assert new and new != before
    assert AtsConnection.objects.get(pk=conn.pk).secrets["webhook_secret"] == new
    shown = client.get(f"{base}connections/{conn.public_id}/")
    assert new not in shown.content.decode()
    assert shown.json()["webhook_url"].endswith(f"/greenhouse/{conn.public_id}/")


def test_connection_test_without_api_key_says_so(api, rows):
    conn = rows.rows["connection"]
    response = api(rows.people["org_admin"]).post(
        f"/api/v1/orgs/{rows.org.slug}/connections/{conn.public_id}/test/"
    )
    assert response.json() == {
        "ok": False,
        "kind": "no_api_key",
        "message": "Set an API key to test the connection.",
    }


def test_channel_test_sends_and_a_used_channel_cannot_be_deleted(api, rows, mailoutbox):
    owner, channel = rows.people["owner"], rows.rows["channel"]
    client = api(owner)
    one = f"/api/v1/orgs/{rows.org.slug}/channels/{channel.public_id}/"
    sent = client.post(one + "test/")
    assert sent.status_code == 200 and sent.json()["ok"] is True
    assert [m.to for m in mailoutbox] == [["hiring@example.com"]]
    make_automation(org=rows.org, owner=owner, channels=[channel])
    refused = client.delete(one)
    assert refused.status_code == 409
    assert_error(refused, "conflict")
    assert DeliveryChannel.objects.filter(pk=channel.pk).exists()


def test_event_detail_explains_matches_and_is_redacted_past_retention(api, rows, settings):
    owner, org = rows.people["owner"], rows.org
    mine = make_automation(org=org, owner=owner, name="Mine")
    hidden = make_automation(org=org, owner=rows.people["org_admin"], name="Admin's own")
    run = AutomationRun.objects.create(
        automation=mine,
        organization=org,
        status="completed",
        triggered_by="event",
        scheduled_for=timezone.now(),
    )
    inbound = make_event(
        rows.rows["connection"],
        delivery_id="d-2",
        matches=[
            {"automation": mine.pk, "matched": True, "run": run.pk, "new": True},
            {
                "automation": hidden.pk,
                "matched": False,
                "reason": "filter candidate.email equals x@y.z, but the event has jane@example.com",
            },
        ],
    )
    client = api(owner)
    url = f"/api/v1/orgs/{org.slug}/events/{inbound.public_id}/"
    body = client.get(url).json()
    assert body["redacted"] is False and body["type"] == "candidate.stage_changed"
    assert body["matches"] == [
        {
            "automation": {"id": str(mine.public_id), "name": "Mine"},
            "matched": True,
            "reason": "",
            "run": str(run.public_id),
            "cancelled_run": None,
        }
    ]
    assert body["other_automations"] == 1  # the admin's automation is not the owner's to see
    assert body["event"]["candidate"] == {"id": "c1"}  # a member sees no candidate data
    admin_view = api(rows.people["org_admin"]).get(url).json()
    assert admin_view["event"]["candidate"]["name"] == "Jane Candidate"
    miss = next(m for m in admin_view["matches"] if not m["matched"])
    assert "jane@example.com" not in miss["reason"]  # candidate data is not quoted

    settings.RETENTION_HOURS = 1
    InboundEvent.objects.filter(pk=inbound.pk).update(
        received_at=timezone.now() - timedelta(hours=3)
    )
    inbound_purge_expired()
    after = api(rows.people["org_admin"]).get(url)
    assert after.status_code == 200
    redacted = after.json()
    assert redacted["redacted"] is True
    assert "Jane" not in after.content.decode() and "jane@" not in after.content.decode()
    assert {m["matched"] for m in redacted["matches"]} == {True, False}
    assert [m["reason"] for m in redacted["matches"] if not m["matched"]] == [
        "not shown: removed after the retention period"
    ]
    listed = api(owner).get(f"/api/v1/orgs/{org.slug}/events/").json()["results"]
    assert {e["id"]: e["redacted"] for e in listed}[str(inbound.public_id)] is True


def test_event_filters(api, rows):
    org, conn = rows.org, rows.rows["connection"]
    other = make_event(conn, delivery_id="d-3", event={"type": "application.created"})
    InboundEvent.objects.filter(pk=other.pk).update(received_at=timezone.now() - timedelta(days=2))
    client = api(rows.people["member"])
    base = f"/api/v1/orgs/{org.slug}/events/"

    def ids(query: str) -> set[str]:
        response = client.get(base + query)
        assert response.status_code == 200, response.content
        return {e["id"] for e in response.json()["results"]}

    first, second = str(rows.rows["event"].public_id), str(other.public_id)
    assert ids("") == {first, second}
    assert ids("?event_type=application.created") == {second}
    assert ids(f"?connection={conn.public_id}&page_size=1") <= {first, second}
    since = (timezone.now() - timedelta(days=1)).isoformat().replace("+", "%2B")
    assert ids(f"?received_since={since}") == {first}
    assert ids(f"?received_until={since}") == {second}
    assert ids(f"?connection={rows.rows['their_connection'].public_id}") == set()


def test_inbox_unread_filter_and_mark_read(api, rows):
    owner, org = rows.people["owner"], rows.org
    read = Notification.objects.create(
        organization=org, user=owner, title="Old", read_at=timezone.now()
    )
    client = api(owner)
    base = f"/api/v1/orgs/{org.slug}/notifications/"
    unread = client.get(base + "?unread=true").json()["results"]
    assert [n["id"] for n in unread] == [str(rows.rows["note"].public_id)]
    assert len(client.get(base).json()["results"]) == 2
    marked = client.post(f"{base}{rows.rows['note'].public_id}/read/")
    assert marked.status_code == 200 and marked.json()["read"] is True
    assert client.post(base + "read-all/").json() == {"marked": 0}
    assert Notification.objects.get(pk=read.pk).read_at is not None


def test_skills_show_their_parameter_schemas(api, rows):
    client = api(rows.people["member"])
    base = f"/api/v1/orgs/{rows.org.slug}/skills/"
    listed = client.get(base).json()["results"]
    assert "pipeline-report" in {s["slug"] for s in listed}
    one = client.get(base + "pipeline-report/").json()
    assert one["mode"] in ("deterministic", "llm") and isinstance(one["params_schema"], dict)
    assert client.get(base + "no-such-skill/").status_code == 404


HOSTILE = [
    b"{not json",
    b"null",
    b"[]",
    b'"x"',
    b'{"kind": null, "name": null, "config": null}',
    b'{"kind": ["email"], "name": {"a": 1}, "config": [1]}',
    b'{"name": "' + b"n" * 100_000 + b'", "kind": "email"}',
    b'{"name": "nul\\u0000", "kind": "email\\u0000", "config": {"to": ["\\u0000@x"]}}',
    b'{"provider": 5, "name": 7, "mode": [], "poll_interval_seconds": 1e400}',
    b'{"poll_interval_seconds": 99999999999999999999999, "base_url": "http://\\u0000"}',
    b'{"webhook_secret": ["x"], "api_key": {"k": 1}, "region": 3}',
    b'{"config": {"url": "file:///etc/passwd"}, "kind": "slack", "name": "s"}',
    b'{"unknown": 1, "\\u0000": 2}',
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_bodies_never_500(api, rows, body):
    org = rows.org
    base = f"/api/v1/orgs/{org.slug}/"
    channel, conn, note = (rows.rows[k].public_id for k in ("channel", "connection", "note"))
    client = api(rows.people["org_admin"])
    for method, path in [
        ("post", "channels/"),
        ("patch", f"channels/{channel}/"),
        ("post", f"channels/{channel}/test/"),
        ("post", "connections/"),
        ("patch", f"connections/{conn}/"),
        ("post", f"connections/{conn}/rotate/"),
        ("post", f"connections/{conn}/test/"),
        ("post", f"notifications/{note}/read/"),
        ("post", "notifications/read-all/"),
    ]:
        response = getattr(client, method)(base + path, body, content_type="application/json")
        assert response.status_code < 500, (method, path, response.content[:300])
        if response.status_code >= 400:
            assert_error(response)


@pytest.mark.parametrize(
    "path",
    [
        "skills/%00/",
        "skills/" + "s" * 500 + "/",
        "channels/not-a-uuid/",
        "connections/00000000-0000-0000-0000-000000000000/",
        "events/?connection=not-a-uuid",
        "events/?event_type=%00",
        "events/?event_type=" + "t" * 5000,
        "events/?received_since=yesterday&received_until=%00",
        "events/?status=nope&cursor=%00",
        "events/?page_size=-1&cursor=" + "A" * 3000,
        "events/not-a-uuid/",
        "notifications/?unread=maybe",
        "notifications/?unread=%00",
        "notifications/00000000-0000-0000-0000-000000000000/read/",
    ],
)
def test_hostile_reads_never_500(api, rows, path):
    client = api(rows.people["org_admin"])
    method = "post" if path.endswith("read/") else "get"
    response = getattr(client, method)(f"/api/v1/orgs/{rows.org.slug}/{path}")
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert_error(response)
