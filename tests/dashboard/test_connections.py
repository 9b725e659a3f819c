"""ATS connections in the dashboard (org admins only): connecting shows the webhook URL and
the secret once, API keys are write-only, rotation, "test the connection" against a real
local listener, delete, health and the recent deliveries with their refusals."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from werkzeug.wrappers import Response

from accounts.models import Membership
from tests.ats import post, signed
from tests.dashboard.access import Case, check_case
from tests.factories import OrganizationFactory, member
from webhooks import services
from webhooks.models import AtsConnection, InboundEvent, WebhookRefusal

pytestmark = pytest.mark.django_db

API_KEY = "gh-api-key-never-shown-0123"
BODY = json.dumps({"action": "reject_candidate", "payload": {"candidate": {"id": 1}}}).encode()

ADMIN_PAGE = {
    "owner": 403,
    "member": 403,
    "org_admin": 200,
    "outsider": 403,
    "other_org_admin": 200,  # their own org's list: none of `org`'s rows (hidden_from)
    "anonymous": 302,
}
CONNECTION_PAGE = {**ADMIN_PAGE, "other_org_admin": 404}
CONNECTION_WRITE = {**CONNECTION_PAGE, "org_admin": 302}


def _conn(w) -> AtsConnection:
    return w.rows["connection"]


def _edit(w) -> str:
    return reverse("dashboard:connection-edit", args=[_conn(w).public_id])


def _secrets_state(w):
    row = AtsConnection.objects.filter(pk=_conn(w).pk).first()
    return row and (row.secrets, row.secrets_rotated_at)


def _name_state(w):
    return AtsConnection.objects.filter(pk=_conn(w).pk).values_list("name", "mode").first()


def _on(name):
    return lambda w: reverse(f"dashboard:{name}", args=[_conn(w).public_id])


HIDDEN = {"other_org_admin": ["Main Greenhouse"], "member": ["Main Greenhouse"]}
CASES = [
    Case(
        "connections",
        "get",
        lambda w: reverse("dashboard:connections"),
        ADMIN_PAGE,
        hidden_from=HIDDEN,
    ),
    Case("connection-new", "get", lambda w: reverse("dashboard:connection-new"), ADMIN_PAGE),
    Case(
        "connection-new",
        "post",
        lambda w: reverse("dashboard:connection-new"),
        ADMIN_PAGE,
        data=lambda w: {
            "provider": "lever",
            "name": "Lever",
            "mode": "webhook",
            "poll_minutes": "15",
        },
        state=lambda w: AtsConnection.objects.filter(organization=w.org).count(),
    ),
    Case("connection-edit", "get", _edit, CONNECTION_PAGE, hidden_from={"member": [API_KEY]}),
    Case(
        "connection-edit",
        "post",
        _edit,
        CONNECTION_WRITE,
        data=lambda w: {"name": "Renamed", "mode": "webhook", "poll_minutes": "15"},
        state=_name_state,
    ),
    Case(
        "connection-secrets",
        "post",
        _on("connection-secrets"),
        CONNECTION_WRITE,
        data=lambda w: {"secrets-api_key": "a-new-api-key"},
        state=_secrets_state,
    ),
    Case(
        "connection-rotate",
        "post",
        _on("connection-rotate"),
        CONNECTION_PAGE,
        state=_secrets_state,
    ),
    Case(
        "connection-rotate",
        "post",
        _on("connection-rotate"),
        CONNECTION_PAGE,
        state=_secrets_state,
        htmx=True,
    ),
    Case("connection-test", "post", _on("connection-test"), CONNECTION_WRITE),
    Case("connection-test", "post", _on("connection-test"), CONNECTION_PAGE, htmx=True),
    Case(
        "connection-delete",
        "post",
        _on("connection-delete"),
        CONNECTION_WRITE,
        state=lambda w: AtsConnection.objects.filter(pk=_conn(w).pk).exists(),
    ),
]


def _add_connection(world) -> AtsConnection:
    connection, _ = services.connection_create(
        org=world.org,
        by=world.people["org_admin"],
        provider="greenhouse",
        name="Main Greenhouse",
        api_key=API_KEY,
    )
    world.rows["connection"] = connection
    return connection


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    _add_connection(world)
    check_case(case, world, role, client_factory)


# -- who sees what -----------------------------------------------------------------------------


def test_a_member_is_told_only_admins_manage_connections(world, client):
    _add_connection(world)
    client.force_login(world.people["member"])
    for url in (reverse("dashboard:connections"), _edit(world)):
        response = client.get(url)
        assert response.status_code == 403
        assert "Only your organization&#x27;s admins manage" in response.content.decode()
    # The nav link is for admins only.
    page = client.get(reverse("dashboard:profile")).content.decode()
    assert reverse("dashboard:connections") not in page


def test_a_malformed_id_is_a_404(world, client):
    client.force_login(world.people["org_admin"])
    assert client.get("/connections/not-a-uuid/").status_code == 404
    assert client.post("/connections/00000000-0000-0000-0000-000000000000/test/").status_code == 404


# -- connecting: the URL and the secret once ----------------------------------------------------


def _connect(client, **fields):
    data = {"provider": "greenhouse", "name": "GH", "mode": "webhook", "poll_minutes": "15"}
    return client.post(reverse("dashboard:connection-new"), {**data, **fields})


def test_connect_shows_the_webhook_url_and_the_secret_once(world, client, settings):
    settings.SITE_URL = "https://skillomatic.example"
    client.force_login(world.people["org_admin"])
    response = _connect(client)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    connection = AtsConnection.objects.get(organization=world.org, name="GH")
    secret = connection.secrets["webhook_secret"]
    html = response.content.decode()
    url = f"https://skillomatic.example/webhooks/ats/greenhouse/{connection.public_id}/"
    assert url in html and secret in html
    assert 'data-copy="#webhook-secret"' in html and 'data-copy="#webhook-url"' in html
    assert "Dev Center" in html  # where to paste it in Greenhouse
    # Never again: not on the connection's page, the list, nor a resubmitted form.
    for page in (client.get(_edit_of(connection)), client.get(reverse("dashboard:connections"))):
        assert page.status_code == 200 and secret not in page.content.decode()
    assert url in client.get(_edit_of(connection)).content.decode()
    again = _connect(client)
    assert again.status_code == 422 and secret not in again.content.decode()
    assert "already has a connection named" in again.content.decode()


def _edit_of(connection) -> str:
    return reverse("dashboard:connection-edit", args=[connection.public_id])


def test_an_ats_that_issues_its_secret_gets_it_pasted_and_never_shown(world, client):
    client.force_login(world.people["org_admin"])
    response = _connect(client, provider="lever", name="Lever")
    html = response.content.decode()
    assert response.status_code == 200 and "Lever issues the webhook secret" in html
    connection = AtsConnection.objects.get(name="Lever")
    assert connection.secrets == {}
    saved = client.post(
        reverse("dashboard:connection-secrets", args=[connection.public_id]),
        {"secrets-webhook_secret": "lever-token-from-lever"},
    )
    assert saved.status_code == 302
    connection.refresh_from_db()
    assert connection.secrets == {"webhook_secret": "lever-token-from-lever"}
    page = client.get(_edit_of(connection)).content.decode()
    assert "lever-token-from-lever" not in page and "Webhook secret: <strong>set" in page
    # Lever's token cannot be made up here: no rotate button, and a crafted POST is refused.
    assert "Rotate the webhook secret" not in page
    refused = client.post(reverse("dashboard:connection-rotate", args=[connection.public_id]))
    assert refused.status_code == 302
    connection.refresh_from_db()
    assert connection.secrets == {"webhook_secret": "lever-token-from-lever"}


def test_the_api_key_is_never_rendered_back(world, client):
    client.force_login(world.people["org_admin"])
    created = _connect(client, api_key=API_KEY)
    assert created.status_code == 200 and API_KEY not in created.content.decode()
    connection = AtsConnection.objects.get(name="GH")
    assert connection.secrets["api_key"] == API_KEY
    for url in (_edit_of(connection), reverse("dashboard:connections")):
        assert API_KEY not in client.get(url).content.decode()
    # A refused save (a space in the key) answers 422 without echoing what was pasted.
    bad = "bad key " + API_KEY
    refused = client.post(
        reverse("dashboard:connection-secrets", args=[connection.public_id]),
        {"secrets-api_key": bad},
    )
    assert refused.status_code == 422
    html = refused.content.decode()
    assert "printable ASCII" in html and API_KEY not in html
    # A refused connect form does not echo it either.
    again = _connect(client, name="GH", api_key="another-key-123")
    assert again.status_code == 422 and "another-key-123" not in again.content.decode()


def test_connect_form_errors_sit_beside_their_fields(world, client):
    client.force_login(world.people["org_admin"])
    response = _connect(client, provider="workable", name="WK")
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="id_base_url_error"' in html and "no single API host" in html
    response = _connect(client, base_url="http://10.0.0.7/v1")
    assert response.status_code == 422 and 'id="id_base_url_error"' in response.content.decode()
    response = _connect(client, provider="bamboo")
    assert response.status_code == 422 and 'id="id_provider_error"' in response.content.decode()
    response = _connect(client, mode="polling")  # polling needs a key
    assert response.status_code == 422 and 'id="id_api_key_error"' in response.content.decode()
    assert not AtsConnection.objects.exists()


def test_edit_changes_the_settings_through_the_service(world, client):
    connection = _add_connection(world)
    client.force_login(world.people["org_admin"])
    response = client.post(
        _edit_of(connection),
        {"name": "Renamed", "mode": "both", "base_url": "", "region": "eu", "poll_minutes": "30"},
    )
    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.name, connection.mode, connection.region) == ("Renamed", "both", "eu")
    assert connection.poll_interval_seconds == 1800
    bad = client.post(_edit_of(connection), {"name": "", "mode": "both", "poll_minutes": "0"})
    assert bad.status_code == 422
    assert 'id="id_name_error"' in bad.content.decode()
    assert 'id="id_poll_minutes_error"' in bad.content.decode()


def test_rotating_shows_the_new_secret_once_in_the_page(world, client):
    connection = _add_connection(world)
    old = connection.secrets["webhook_secret"]
    client.force_login(world.people["org_admin"])
    response = client.post(
        reverse("dashboard:connection-rotate", args=[connection.public_id]),
        HTTP_HX_REQUEST="true",
    )
    connection.refresh_from_db()
    new = connection.secrets["webhook_secret"]
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert new != old and new in html and old not in html and "<html" not in html
    assert new not in client.get(_edit_of(connection)).content.decode()
    # Without JavaScript: the whole page, shown once as well.
    page = client.post(reverse("dashboard:connection-rotate", args=[connection.public_id]))
    connection.refresh_from_db()
    assert connection.secrets["webhook_secret"] in page.content.decode()


def test_delete_removes_the_connection(world, client):
    connection = _add_connection(world)
    client.force_login(world.people["org_admin"])
    response = client.post(
        reverse("dashboard:connection-delete", args=[connection.public_id]), follow=True
    )
    assert "Deleted the connection Main Greenhouse" in response.content.decode()
    assert not AtsConnection.objects.filter(pk=connection.pk).exists()


# -- test the connection: one real call to a local listener ------------------------------------


@pytest.fixture
def loopback_allowed(settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]


def _gh(world, base_url, api_key=API_KEY):
    connection, _ = services.connection_create(
        org=world.org,
        by=world.people["org_admin"],
        provider="greenhouse",
        name="GH local",
        base_url=base_url,
        api_key=api_key,
    )
    return connection


def _test(client, connection):
    return client.post(
        reverse("dashboard:connection-test", args=[connection.public_id]), HTTP_HX_REQUEST="true"
    )


def test_the_connection_test_says_ok_or_what_went_wrong(
    world, client, httpserver, loopback_allowed
):
    client.force_login(world.people["org_admin"])
    connection = _gh(world, httpserver.url_for("/v1"))
    httpserver.expect_oneshot_request("/v1/jobs").respond_with_json([{"id": 1, "name": "SRE"}])
    ok = _test(client, connection).content.decode()
    assert "OK" in ok and "accepted the API key" in ok and "<html" not in ok
    httpserver.expect_oneshot_request("/v1/jobs").respond_with_data("no", status=401)
    bad = _test(client, connection).content.decode()
    assert "API key refused" in bad and "401" in bad and API_KEY not in bad
    httpserver.expect_oneshot_request("/v1/jobs").respond_with_data("<html>not json</html>")
    assert "Bad answer" in _test(client, connection).content.decode()
    # Without JavaScript: the outcome as a message on the connection's page.
    httpserver.expect_oneshot_request("/v1/jobs").respond_with_json([])
    page = client.post(
        reverse("dashboard:connection-test", args=[connection.public_id]), follow=True
    )
    assert "Test: OK." in page.content.decode()


def test_the_connection_test_without_a_key_unreachable_refused_and_timeout(
    world, client, httpserver, settings, loopback_allowed
):
    client.force_login(world.people["org_admin"])
    no_key = _gh(world, "", api_key=None)
    assert "No API key" in _test(client, no_key).content.decode()

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    AtsConnection.objects.filter(pk=no_key.pk).delete()
    closed = _gh(world, f"http://127.0.0.1:{port}/v1")
    assert "Unreachable" in _test(client, closed).content.decode()

    settings.ALLOWED_OUTBOUND_HOSTS = []  # the URL saved earlier no longer passes the vetting
    assert "URL not allowed" in _test(client, closed).content.decode()

    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    settings.OUTBOUND_TOTAL_TIMEOUT = 1
    release = threading.Event()
    httpserver.expect_request("/v1/jobs").respond_with_handler(
        lambda request: (release.wait(10), Response("[]", content_type="application/json"))[1]
    )
    AtsConnection.objects.filter(pk=closed.pk).delete()
    slow = _gh(world, httpserver.url_for("/v1"))
    try:
        assert "Timed out" in _test(client, slow).content.decode()
    finally:
        release.set()
        deadline = time.monotonic() + 10
        while not httpserver.log and time.monotonic() < deadline:
            time.sleep(0.01)


# -- health and recent deliveries --------------------------------------------------------------


def _events(connection, n, *, status="processed", source="webhook", at=None):
    rows = InboundEvent.objects.bulk_create(
        InboundEvent(
            connection=connection,
            delivery_id=f"{status}-{source}-{uuid.uuid4()}",
            raw_type="candidate_stage_change",
            status=status,
            source=source,
            event={"type": "ats.candidate.stage_changed", "candidate": {"name": "Ada Secret"}},
            raw_body=b'{"candidate": "Ada Secret"}',
            matches=[
                {"automation": 1, "matched": True, "run": 9},
                {"automation": 2, "matched": False, "reason": "wrong type"},
            ],
        )
        for i in range(n)
    )
    if at is not None:
        InboundEvent.objects.filter(pk__in=[r.pk for r in rows]).update(received_at=at)
    return rows


def _refusals(connection, n, *, status=401, reason="signature check failed: bad", at=None):
    rows = WebhookRefusal.objects.bulk_create(
        WebhookRefusal(connection=connection, status_code=status, reason=reason) for _ in range(n)
    )
    if at is not None:
        WebhookRefusal.objects.filter(pk__in=[r.pk for r in rows]).update(received_at=at)


def test_health_counts_the_last_24_hours_by_outcome(world, client):
    connection = _add_connection(world)
    old = timezone.now() - timezone.timedelta(hours=30)
    _events(connection, 3)
    _events(connection, 2, status="ignored")
    _events(connection, 4, source="poll")
    _events(connection, 7, at=old)  # outside the window
    _refusals(connection, 2)
    _refusals(connection, 1, status=400, reason="malformed body: body is not JSON")
    _refusals(connection, 5, at=old)
    client.force_login(world.people["org_admin"])
    for url in (reverse("dashboard:connections"), _edit_of(connection)):
        html = client.get(url).content.decode()
        assert "<strong>5</strong> accepted" in html, url
        assert "3 processed" in html and "2 ignored" in html
        assert "<strong>4</strong> found by polling" in html
        assert "<strong>3</strong> refused" in html and "401: 2" in html and "400: 1" in html
        assert "Ada Secret" not in html  # never candidate data


def test_the_connection_page_lists_recent_deliveries_and_refusals(world, client):
    connection = _add_connection(world)
    _events(connection, 25)
    _refusals(connection, 1, reason="signature check failed: Signature does not match the body")
    client.force_login(world.people["org_admin"])
    html = client.get(_edit_of(connection)).content.decode()
    assert html.count("ats.candidate.stage_changed") == 20  # the latest 20
    assert "Signature does not match the body" in html and "Ada Secret" not in html
    assert "<td>1</td>" in html  # one automation fired by each


def test_pages_take_a_constant_number_of_queries(world, client):
    client.force_login(world.people["org_admin"])

    def counts():
        out = []
        for url in [reverse("dashboard:connections"), *map(_edit_of, AtsConnection.objects.all())][
            :2
        ]:
            with CaptureQueriesContext(db) as queries:
                assert client.get(url).status_code == 200
            out.append(len(queries))
        return out

    first = _add_connection(world)
    _events(first, 2)
    _refusals(first, 1)
    small = counts()
    for i in range(6):
        more, _ = services.connection_create(
            org=world.org, by=world.people["org_admin"], provider="ashby", name=f"Ashby {i}"
        )
        _events(more, 5)
        _refusals(more, 3, status=400)
    _events(first, 40)
    _refusals(first, 30)
    assert counts() == small


# -- refusals are recorded by the receiver ------------------------------------------------------


def test_a_badly_signed_delivery_is_recorded_with_its_reason(world, client):
    connection = _add_connection(world)
    response = post(client, connection, *signed("greenhouse", BODY, secret="not-the-secret")[:2])
    assert response.status_code == 401
    (refusal,) = WebhookRefusal.objects.all()
    assert refusal.connection == connection and refusal.status_code == 401
    assert refusal.reason == "signature check failed: Signature does not match the body"
    client.force_login(world.people["org_admin"])
    assert refusal.reason in client.get(_edit_of(connection)).content.decode()


def test_other_admins_never_see_the_refusals(world, client):
    connection = _add_connection(world)
    _refusals(connection, 1, reason="a reason only Org A may read")
    other = OrganizationFactory()
    admin = member(other, role=Membership.Role.ADMIN)
    client.force_login(admin)
    assert client.get(_edit_of(connection)).status_code == 404
    assert (
        "a reason only Org A" not in client.get(reverse("dashboard:connections")).content.decode()
    )


def test_health_counts_stop_at_a_cap_and_say_so(world, client, monkeypatch):
    from webhooks import selectors

    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    connection = _add_connection(world)
    _events(connection, 8)
    client.force_login(world.people["org_admin"])
    html = client.get(_edit_of(connection)).content.decode()
    assert "<strong>5+</strong> accepted" in html and "Counted over the latest" in html
