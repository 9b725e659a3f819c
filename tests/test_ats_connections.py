"""ATS connections: the services' rules and who may call them, secrets encrypted at rest and
never shown after they are set, rotation, testing a connection against a real local HTTP
listener, the selectors' scoping, and API clients reused per connection until its key
changes."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection as db
from django.http import Http404
from werkzeug.wrappers import Response

from accounts.models import Membership
from tests.ats import post, signed
from tests.factories import OrganizationFactory, UserFactory, made_up_secret, member
from webhooks import services
from webhooks.ats_clients import api_client_for_connection, ats_client_for_org
from webhooks.ats_read import NotSupported
from webhooks.models import AtsConnection, InboundEvent
from webhooks.providers.greenhouse import GreenhouseApi
from webhooks.providers.provider import Provider
from webhooks.providers.records import ApiRecordsClient
from webhooks.providers.registry import PROVIDERS, provider_get, registered
from webhooks.providers.sandbox import SandboxClient
from webhooks.selectors import (
    connection_get_for_user,
    connections_for_user,
    event_get_for_user,
    events_for_user,
)

pytestmark = pytest.mark.django_db

API_KEY = made_up_secret("gh-api-key")
GH_BODY = json.dumps({"action": "reject_candidate", "payload": {"candidate": {"id": 1}}}).encode()


@pytest.fixture
def people():
    """An org with its admin and a member, and another org's admin (the trio)."""
    org, other = OrganizationFactory(), OrganizationFactory()
    return {
        "org": org,
        "other": other,
        "admin": member(org, role=Membership.Role.ADMIN),
        "member": member(org),
        "other_admin": member(other, role=Membership.Role.ADMIN),
        "superuser": UserFactory(is_superuser=True, is_staff=True),
    }


@pytest.fixture
def loopback_allowed(settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    settings.ATS_API_BACKOFF_SECONDS = [0.05, 0.05, 0.05]


def create(people, **fields):
    fields = {"provider": "greenhouse", "name": "Greenhouse", **fields}
    return services.connection_create(org=people["org"], by=people["admin"], **fields)


# -- who may write --------------------------------------------------------------------------


def test_an_org_admin_creates_a_connection_and_gets_its_generated_secret_once(people):
    connection, secret = create(people)
    assert secret and len(secret) >= 32
    assert connection.secrets == {"webhook_secret": secret}
    assert connection.secrets_rotated_at is not None


@pytest.mark.parametrize("who", ["member", "other_admin"])
def test_a_member_or_another_orgs_admin_may_not_write(people, who):
    with pytest.raises(PermissionDenied):
        services.connection_create(
            org=people["org"], by=people[who], provider="greenhouse", name="Nope"
        )
    assert not AtsConnection.objects.exists()
    connection, _ = create(people)
    writes = [
        lambda: services.connection_update(connection=connection, by=people[who], name="X"),
        lambda: services.connection_set_secrets(
            connection=connection, by=people[who], api_key="stolen-key"
        ),
        lambda: services.connection_rotate_webhook_secret(connection=connection, by=people[who]),
        lambda: services.connection_test(connection=connection, by=people[who]),
        lambda: services.connection_delete(connection=connection, by=people[who]),
    ]
    before = AtsConnection.objects.get(pk=connection.pk)
    for write in writes:
        with pytest.raises(PermissionDenied):
            write()
    after = AtsConnection.objects.get(pk=connection.pk)
    assert (after.name, after.secrets) == (before.name, before.secrets)


def test_a_superuser_may_write_any_org(people):
    connection, _ = services.connection_create(
        org=people["other"], by=people["superuser"], provider="lever", name="Lever"
    )
    services.connection_update(connection=connection, by=people["superuser"], name="Lever 2")
    assert AtsConnection.objects.get(pk=connection.pk).name == "Lever 2"


# -- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"provider": "bamboo"}, "provider"),
        ({"name": "  "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"mode": "carrier-pigeon"}, "mode"),
        ({"mode": "polling"}, "api_key"),  # polling asks the API: needs a key
        ({"base_url": "http://127.0.0.1:8000/v1"}, "base_url"),  # SSRF vetting
        ({"base_url": "http://10.0.0.7/v1"}, "base_url"),
        ({"base_url": "https://a@b.example/v1"}, "base_url"),
        ({"provider": "workable"}, "base_url"),  # no default host: one must be given
        ({"webhook_secret": "short"}, "webhook_secret"),
        ({"webhook_secret": "has a space in it"}, "webhook_secret"),
        ({"webhook_secret": "x" * 513}, "webhook_secret"),
        ({"api_key": "key\nwith-newline"}, "api_key"),
        ({"poll_interval_seconds": 5}, "poll_interval_seconds"),
        ({"region": "r" * 41}, "region"),
    ],
)
def test_create_refuses_with_the_field_named(people, fields, field):
    with pytest.raises(ValidationError) as exc:
        create(people, **fields)
    assert field in exc.value.message_dict
    assert not AtsConnection.objects.exists()
    secret = fields.get("webhook_secret") or fields.get("api_key")
    if secret:
        assert secret not in str(exc.value)  # errors never repeat a secret


def test_names_are_unique_per_org(people):
    create(people, name="Main ATS")
    with pytest.raises(ValidationError) as exc:
        create(people, name="main ats")
    assert "name" in exc.value.message_dict


def test_update_changes_only_what_it_may(people):
    connection, _ = create(people)
    with pytest.raises(ValidationError) as exc:
        services.connection_update(connection=connection, by=people["admin"], provider="lever")
    assert "provider" in exc.value.message_dict
    with pytest.raises(ValidationError):
        services.connection_update(connection=connection, by=people["admin"], mode="both")
    services.connection_set_secrets(connection=connection, by=people["admin"], api_key=API_KEY)
    saved = services.connection_update(connection=connection, by=people["admin"], mode="both")
    assert saved.mode == "both"
    with pytest.raises(ValidationError) as exc:  # a polling connection keeps its key
        services.connection_set_secrets(connection=connection, by=people["admin"], api_key="")
    assert "api_key" in exc.value.message_dict


def test_delete_removes_the_connection_and_its_events(people):
    connection, _ = create(people)
    InboundEvent.objects.create(connection=connection, delivery_id="d1")
    services.connection_delete(connection=connection, by=people["admin"])
    assert not AtsConnection.objects.exists() and not InboundEvent.objects.exists()


# -- secrets ------------------------------------------------------------------------------------


def test_secrets_are_encrypted_at_rest(people):
    connection, secret = create(people, api_key=API_KEY)
    with db.cursor() as cursor:
        cursor.execute("SELECT secrets FROM webhooks_atsconnection WHERE id = %s", [connection.pk])
        (column,) = cursor.fetchone()
    assert secret not in column and API_KEY not in column
    assert AtsConnection.objects.get(pk=connection.pk).secrets["api_key"] == API_KEY


def test_rotation_returns_a_new_secret_once_and_old_signatures_stop_verifying(
    people, client, django_capture_on_commit_callbacks
):
    connection, old = create(people)
    # The receiver has seen (and cached) the connection with its old secret.
    assert (
        post(client, connection, *signed("greenhouse", GH_BODY, secret=old)[:2]).status_code == 200
    )
    with django_capture_on_commit_callbacks(execute=True):
        new = services.connection_rotate_webhook_secret(connection=connection, by=people["admin"])
    assert new != old
    stored = AtsConnection.objects.get(pk=connection.pk)
    assert stored.secrets["webhook_secret"] == new
    assert stored.secrets_rotated_at >= connection.secrets_rotated_at
    other = json.dumps({"action": "hire_candidate", "payload": {"candidate": {"id": 2}}}).encode()
    refused = post(client, connection, *signed("greenhouse", other, secret=old)[:2])
    assert refused.status_code == 401
    assert post(client, connection, *signed("greenhouse", other, secret=new)[:2]).status_code == 200


def test_a_secret_the_ats_issues_cannot_be_rotated_here_only_pasted(people):
    connection, generated = create(people, provider="lever", name="Lever")
    assert generated is None and connection.secrets == {}  # Lever issues its token
    with pytest.raises(ValidationError) as exc:
        services.connection_rotate_webhook_secret(connection=connection, by=people["admin"])
    assert "webhook_secret" in exc.value.message_dict
    services.connection_set_secrets(
        connection=connection, by=people["admin"], webhook_secret="lever-token-from-lever"
    )
    assert AtsConnection.objects.get(pk=connection.pk).secrets == {
        "webhook_secret": "lever-token-from-lever"
    }


def test_every_provider_says_who_issues_its_webhook_secret():
    issued_by_us = {name for name, p in PROVIDERS.items() if p.we_choose_webhook_secret}
    assert issued_by_us == {"greenhouse", "ashby", "zoho"}
    assert set(PROVIDERS) == set(AtsConnection.Provider.values)


# -- the admin never shows a secret after it is set -------------------------------------------


def test_admin_add_stores_secrets_encrypted_and_never_shows_them(people, client):
    client.force_login(people["superuser"])
    response = client.post(
        "/admin/webhooks/atsconnection/add/",
        {
            "name": "GH",
            "organization": people["org"].pk,
            "provider": "greenhouse",
            "mode": "webhook",
            "base_url": "",
            "region": "",
            "poll_interval_seconds": 900,
            "webhook_secret": "pasted-webhook-secret-1",
            "api_key": API_KEY,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    connection = AtsConnection.objects.get(name="GH")
    assert connection.secrets == {"webhook_secret": "pasted-webhook-secret-1", "api_key": API_KEY}
    for url in (
        f"/admin/webhooks/atsconnection/{connection.pk}/change/",
        "/admin/webhooks/atsconnection/",
        f"/admin/webhooks/atsconnection/{connection.pk}/history/",
    ):
        html = client.get(url).content.decode()
        assert "pasted-webhook-secret-1" not in html and API_KEY not in html, url
    change = client.get(f"/admin/webhooks/atsconnection/{connection.pk}/change/").content.decode()
    assert "Webhook secret" in change and ">set<" in change


def test_admin_refused_save_does_not_echo_the_pasted_key(people, client):
    client.force_login(people["superuser"])
    connection, _ = create(people)
    response = client.post(
        f"/admin/webhooks/atsconnection/{connection.pk}/change/",
        {
            "name": connection.name,
            "mode": "webhook",
            "base_url": "",
            "region": "",
            "poll_interval_seconds": 900,
            "webhook_secret": "bad secret with spaces",
            "api_key": "",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "printable ASCII" in html and "bad secret with spaces" not in html


def test_admin_rotate_action_shows_the_new_secret_once_uncached(people, client):
    client.force_login(people["superuser"])
    connection, old = create(people)
    response = client.post(
        "/admin/webhooks/atsconnection/",
        {"action": "rotate_webhook_secret", "_selected_action": [connection.pk], "post": "yes"},
    )
    new = AtsConnection.objects.get(pk=connection.pk).secrets["webhook_secret"]
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    html = response.content.decode()
    assert new != old and new in html and old not in html
    assert (
        new
        not in client.get(f"/admin/webhooks/atsconnection/{connection.pk}/change/").content.decode()
    )


# -- testing a connection against a real local listener ---------------------------------------


def gh_connection(people, httpserver, **fields):
    connection, _ = create(people, base_url=httpserver.url_for("/v1"), api_key=API_KEY, **fields)
    return connection


def test_connection_test_ok(people, httpserver, loopback_allowed):
    httpserver.expect_request("/v1/jobs", query_string="per_page=1").respond_with_json(
        [{"id": 1, "name": "SRE"}]
    )
    result = services.connection_test(
        connection=gh_connection(people, httpserver), by=people["admin"]
    )
    assert result.ok and result.kind == "ok"
    assert httpserver.log[0][0].authorization.username == API_KEY


def test_connection_test_bad_key(people, httpserver, loopback_allowed):
    httpserver.expect_request("/v1/jobs").respond_with_data("no", status=401)
    result = services.connection_test(
        connection=gh_connection(people, httpserver), by=people["admin"]
    )
    assert not result.ok and result.kind == "bad_key" and "401" in result.message
    assert API_KEY not in result.message
    assert len(httpserver.log) == 1  # one try: someone is waiting


def test_connection_test_timeout(people, httpserver, loopback_allowed, settings):
    settings.OUTBOUND_TOTAL_TIMEOUT = 1

    release = threading.Event()

    def slow(request):
        release.wait(10)  # answers only after the client gave up
        return Response("[]", content_type="application/json")

    httpserver.expect_request("/v1/jobs").respond_with_handler(slow)
    started = time.monotonic()
    try:
        result = services.connection_test(
            connection=gh_connection(people, httpserver), by=people["admin"]
        )
        assert not result.ok and result.kind == "timeout", result
        assert time.monotonic() - started < 2.4
    finally:
        # Let the server finish this request now, so it is logged here and not in the log of
        # the next test using the shared server.
        release.set()
        deadline = time.monotonic() + 10
        while not httpserver.log and time.monotonic() < deadline:
            time.sleep(0.01)


def test_connection_test_unreachable(people, loopback_allowed):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    connection, _ = create(people, base_url=f"http://127.0.0.1:{port}/v1", api_key=API_KEY)
    result = services.connection_test(connection=connection, by=people["admin"])
    assert not result.ok and result.kind == "unreachable", result


def test_connection_test_refused_by_the_outbound_vetting(people, httpserver):
    # A URL accepted earlier (its host was allowed then): the test vets it again.
    connection = AtsConnection.objects.create(
        organization=people["org"],
        provider="greenhouse",
        name="old",
        base_url=httpserver.url_for("/v1"),
        secrets={"api_key": API_KEY},
    )
    result = services.connection_test(connection=connection, by=people["admin"])
    assert not result.ok and result.kind == "refused"
    assert httpserver.log == []


def test_connection_test_without_a_key_says_so(people):
    connection, _ = create(people)
    result = services.connection_test(connection=connection, by=people["admin"])
    assert not result.ok and result.kind == "no_api_key"


# -- selectors --------------------------------------------------------------------------------


def test_selectors_scope_connections_and_events(people):
    mine, _ = create(people)
    theirs, _ = services.connection_create(
        org=people["other"], by=people["other_admin"], provider="greenhouse", name="Theirs"
    )
    my_event = InboundEvent.objects.create(connection=mine, delivery_id="a")
    their_event = InboundEvent.objects.create(connection=theirs, delivery_id="b")

    for who in ("admin", "member"):
        user = people[who]
        assert list(connections_for_user(user=user)) == [mine]
        assert connection_get_for_user(user=user, public_id=mine.public_id) == mine
        assert list(events_for_user(user=user)) == [my_event]
        assert event_get_for_user(user=user, public_id=my_event.public_id) == my_event
        with pytest.raises(Http404):
            connection_get_for_user(user=user, public_id=theirs.public_id)
        with pytest.raises(Http404):
            event_get_for_user(user=user, public_id=their_event.public_id)

    assert connection_get_for_user(user=people["admin"], public_id=mine.public_id, write=True)
    with pytest.raises(PermissionDenied):  # a member reads, never writes
        connection_get_for_user(user=people["member"], public_id=mine.public_id, write=True)
    with pytest.raises(Http404):
        connection_get_for_user(user=people["member"], public_id="not-a-uuid")
    assert set(connections_for_user(user=people["superuser"], write=True)) == {mine, theirs}
    assert set(events_for_user(user=people["superuser"])) == {my_event, their_event}


# -- clients: one registry, reused per connection ---------------------------------------------


def test_two_runs_for_one_connection_share_one_client_until_its_key_changes(
    people, httpserver, loopback_allowed
):
    connection, _ = create(people, base_url=httpserver.url_for("/v1"), api_key=API_KEY)
    first = ats_client_for_org(org=people["org"])
    second = ats_client_for_org(org=people["org"])
    assert isinstance(first, ApiRecordsClient)
    assert first.api is second.api and first.api.http.session is second.api.http.session

    services.connection_set_secrets(
        connection=connection, by=people["admin"], api_key="rotated-key"
    )
    third = ats_client_for_org(org=people["org"])
    assert third.api is not first.api
    assert third.api.http.auth == ("rotated-key", "")

    services.connection_update(
        connection=connection, by=people["admin"], base_url=httpserver.url_for("/v2")
    )
    assert ats_client_for_org(org=people["org"]).api.base == httpserver.url_for("/v2")


def test_the_client_cache_is_bounded(people, monkeypatch, httpserver, loopback_allowed):
    from webhooks import ats_clients

    monkeypatch.setattr(ats_clients, "MAX_CACHED_CLIENTS", 2)
    ats_clients.api_clients_forget()
    made = [
        create(people, name=f"GH {n}", base_url=httpserver.url_for("/v1"), api_key=f"key-{n}")[0]
        for n in range(3)
    ]
    for connection in made:
        api_client_for_connection(connection)
    assert list(ats_clients._clients) == [made[1].pk, made[2].pk]


def test_an_org_without_an_api_key_reads_the_sandbox(people):
    create(people)
    assert isinstance(ats_client_for_org(org=people["org"]), SandboxClient)


class FakeApi(GreenhouseApi):
    NAME = "fakeats"
    GETS_CANDIDATE = False

    def list_applications(self, *, updated_since=None):
        return [{"id": "a1", "candidate_id": "c1", "candidate_name": "Ana", "status": "active"}]


def test_a_provider_registered_for_a_test_serves_clients_and_is_removed(people):
    fake = Provider(
        name="fakeats",
        verify_and_parse=provider_get("greenhouse").verify_and_parse,
        normalize=provider_get("greenhouse").normalize,
        api=FakeApi,
        we_choose_webhook_secret=True,
    )
    AtsConnection.objects.create(
        organization=people["org"], provider="fakeats", name="fake", secrets={"api_key": "k"}
    )
    with registered(fake):
        client = ats_client_for_org(org=people["org"])
        assert [a.candidate_name for a in client.list_applications()] == ["Ana"]
        with pytest.raises(NotSupported):  # said plainly, not probed with hasattr
            client.get_candidate("c1")
        assert client.gets_candidate is False
    assert provider_get("fakeats") is None
    assert isinstance(ats_client_for_org(org=people["org"]), SandboxClient)
