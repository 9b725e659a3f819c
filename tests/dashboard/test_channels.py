"""Channels in the dashboard: the list, adding each kind (a webhook's secret shown once), the
edit page that never shows a stored URL or secret, deleting, and "send a test message" with
its outcome inline, against a pytest-httpserver listener on 127.0.0.1."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from delivery.channel_services import channel_create, channel_delete
from delivery.models import DeliveryChannel
from tests.dashboard.access import ORG_PAGE, OWNED_OBJECT, Case, check_case
from tests.factories import automation, member

pytestmark = pytest.mark.django_db

OWNER_CHANNEL = "Hiring team hook of the owner"
# A write the owner and the org admin may make answers with a redirect; everyone else gets
# the fetcher's 404 (a colleague's channel is no channel to them), the person in no org the
# "not in an organization" page, and nobody signed in the sign-in page.
OWNED_WRITE = {**OWNED_OBJECT, "owner": 302, "org_admin": 302, "outsider": 403}


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]


@pytest.fixture(autouse=True)
def _owner_channel(world, httpserver):
    """The owner's webhook channel to a local listener that answers 204."""
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    channel, secret = channel_create(
        org=world.org,
        owner=world.people["owner"],
        kind="webhook",
        name=OWNER_CHANNEL,
        config={"url": httpserver.url_for("/hook")},
    )
    world.rows.update(channel=channel, secret=secret, httpserver=httpserver)
    return channel


def _channel_path(name):
    return lambda w: reverse(name, args=[w.rows["channel"].public_id])


def _channel_state(w):
    row = DeliveryChannel.objects.filter(pk=w.rows["channel"].pk).values("name", "status").first()
    return row, len(w.rows["httpserver"].log)


CASES = [
    Case(
        "channels",
        "get",
        lambda w: reverse("dashboard:channels"),
        ORG_PAGE,
        hidden_from={"member": [OWNER_CHANNEL], "other_org_admin": [OWNER_CHANNEL]},
    ),
    Case("channel-new", "get", lambda w: reverse("dashboard:channel-new"), ORG_PAGE),
    Case(
        "channel-new",
        "post",
        lambda w: reverse("dashboard:channel-new"),
        {**ORG_PAGE, "owner": 302, "member": 302, "org_admin": 302, "other_org_admin": 302},
        data=lambda w: {"kind": "in_app", "name": "Made by the case"},
        state=lambda w: DeliveryChannel.objects.filter(name="Made by the case").count(),
    ),
    Case(
        "channel-edit",
        "get",
        _channel_path("dashboard:channel-edit"),
        {**OWNED_OBJECT, "outsider": 403},
        hidden_from={"member": [OWNER_CHANNEL], "other_org_admin": [OWNER_CHANNEL]},
    ),
    Case(
        "channel-edit",
        "post",
        _channel_path("dashboard:channel-edit"),
        OWNED_WRITE,
        data=lambda w: {"name": "Renamed by the case"},
        state=_channel_state,
    ),
    Case(
        "channel-delete",
        "post",
        _channel_path("dashboard:channel-delete"),
        OWNED_WRITE,
        state=lambda w: DeliveryChannel.objects.filter(pk=w.rows["channel"].pk).exists(),
    ),
    Case(
        "channel-test",
        "post",
        _channel_path("dashboard:channel-test"),
        OWNED_WRITE,
        # Refused: nothing sent to the listener and the status untouched.
        state=_channel_state,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


@pytest.mark.parametrize("role", ["member", "other_org_admin"])
def test_a_colleague_cannot_test_edit_or_delete_the_owners_channel(world, client, role):
    channel, listener = world.rows["channel"], world.rows["httpserver"]
    client.force_login(world.people[role])
    for name, data in [
        ("dashboard:channel-test", {}),
        ("dashboard:channel-edit", {"name": "Hijacked", "url": listener.url_for("/theirs")}),
        ("dashboard:channel-delete", {}),
    ]:
        for htmx in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.post(reverse(name, args=[channel.public_id]), data, **htmx)
            assert response.status_code == 404, (name, response.status_code)
    assert listener.log == []
    channel.refresh_from_db()
    assert channel.name == OWNER_CHANNEL
    assert channel.config["url"] == listener.url_for("/hook")


# -- adding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "config"),
    [
        (
            "email",
            {"recipients": "a@x.test, B@Y.TEST\nc@z.test"},
            {"to": ["a@x.test", "B@y.test", "c@z.test"]},
        ),
        ("email", {"recipients": ""}, {"to": []}),
        (
            "slack",
            {"url": "http://127.0.0.1:9/services/T/B/x"},
            {"url": "http://127.0.0.1:9/services/T/B/x"},
        ),
        (
            "teams",
            {"url": "http://127.0.0.1:9/workflows/x"},
            {"url": "http://127.0.0.1:9/workflows/x"},
        ),
        ("in_app", {}, {}),
    ],
)
def test_add_a_channel_of_each_kind(world, client, kind, fields, config):
    owner = world.people["owner"]
    client.force_login(owner)
    form = client.get(reverse("dashboard:channel-new"), {"kind": kind})
    assert form.status_code == 200
    assert f'name="kind" value="{kind}"' in form.content.decode()
    response = client.post(
        reverse("dashboard:channel-new"), {"kind": kind, "name": f"My {kind}", **fields}
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:channels")
    channel = DeliveryChannel.objects.get(owner=owner, name=f"My {kind}")
    assert channel.kind == kind and channel.organization == world.org
    assert channel.config == config
    listing = client.get(reverse("dashboard:channels")).content.decode()
    assert f"My {kind}" in listing and f"Added the channel &#x27;My {kind}&#x27;" in listing


def test_the_webhook_secret_is_shown_once_and_never_again(world, client, httpserver):
    client.force_login(world.people["owner"])
    response = client.post(
        reverse("dashboard:channel-new"),
        {"kind": "webhook", "name": "Our endpoint", "url": httpserver.url_for("/ours")},
    )
    assert response.status_code == 200
    channel = DeliveryChannel.objects.get(name="Our endpoint")
    secret = channel.config["secret"]
    assert secret.startswith("whsec_")
    html = response.content.decode()
    assert f'<code id="signing-secret">{secret}</code>' in html
    assert 'data-copy="#signing-secret"' in html
    assert "webhook-signature" in html and "webhook-timestamp" in html and "webhook-id" in html
    assert "no-store" in response["Cache-Control"]
    # Reloading the page (a GET of the form), the list and the channel's page: never again.
    for url in (
        reverse("dashboard:channel-new"),
        reverse("dashboard:channel-new") + "?kind=webhook",
        reverse("dashboard:channels"),
        reverse("dashboard:channel-edit", args=[channel.public_id]),
    ):
        page = client.get(url).content.decode()
        assert secret not in page and secret.removeprefix("whsec_") not in page, url
    # The same form sent again (a browser's "resubmit") makes no second channel or secret.
    again = client.post(
        reverse("dashboard:channel-new"),
        {"kind": "webhook", "name": "Our endpoint", "url": httpserver.url_for("/ours")},
    )
    assert again.status_code == 422 and "whsec_" not in again.content.decode()
    assert DeliveryChannel.objects.filter(name="Our endpoint").count() == 1


def test_the_secret_answer_to_an_htmx_post_is_the_panel_only(world, client, httpserver):
    client.force_login(world.people["owner"])
    response = client.post(
        reverse("dashboard:channel-new"),
        {"kind": "webhook", "name": "Our endpoint", "url": httpserver.url_for("/ours")},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="channel-panel"')
    assert DeliveryChannel.objects.get(name="Our endpoint").config["secret"] in html


def test_kind_tabs_answer_htmx_with_the_panel_and_history_with_the_page(world, client):
    client.force_login(world.people["owner"])
    url = reverse("dashboard:channel-new")
    tab = client.get(url, {"kind": "slack"}, HTTP_HX_REQUEST="true").content.decode()
    assert tab.lstrip().startswith('<section id="channel-panel"')
    assert "Slack incoming-webhook URL" in tab
    # The back button after a pushed tab: htmx asks for the whole page.
    back = client.get(
        url, {"kind": "slack"}, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    ).content.decode()
    assert back.lstrip().startswith("<!doctype html>") and "Slack incoming-webhook URL" in back


def test_a_private_address_is_refused_beside_the_url_field(world, client, settings):
    settings.ALLOWED_OUTBOUND_HOSTS = []
    client.force_login(world.people["owner"])
    response = client.post(
        reverse("dashboard:channel-new"),
        {"kind": "slack", "name": "Internal", "url": "http://10.1.2.3/services/x"},
    )
    assert response.status_code == 422
    error = re.search(r'<p class="error" id="id_url_error">([^<]+)</p>', response.content.decode())
    assert error and "10.1.2.3" in error[1]
    assert not DeliveryChannel.objects.filter(name="Internal").exists()


def test_bad_form_values_come_back_with_errors_beside_their_fields(world, client):
    client.force_login(world.people["owner"])
    bad_email = client.post(
        reverse("dashboard:channel-new"),
        {"kind": "email", "name": "Team", "recipients": "a@x.test, not-an-address"},
    )
    assert bad_email.status_code == 422
    assert 'id="id_recipients_error"' in bad_email.content.decode()
    taken = client.post(reverse("dashboard:channel-new"), {"kind": "in_app", "name": OWNER_CHANNEL})
    assert taken.status_code == 422 and 'id="id_name_error"' in taken.content.decode()
    no_name = client.post(reverse("dashboard:channel-new"), {"kind": "in_app", "name": " "})
    assert no_name.status_code == 422 and 'id="id_name_error"' in no_name.content.decode()
    bad_kind = client.post(reverse("dashboard:channel-new"), {"kind": "fax", "name": "Fax"})
    assert bad_kind.status_code == 422 and "Choose one of" in bad_kind.content.decode()
    assert not DeliveryChannel.objects.filter(name__in=["Team", "Fax"]).exists()
    # An unknown kind in the link just shows the first kind's form.
    assert client.get(reverse("dashboard:channel-new"), {"kind": "<x>"}).status_code == 200


# -- editing --------------------------------------------------------------------------------


def test_the_edit_page_never_shows_the_stored_url_or_secret(world, client):
    channel, secret = world.rows["channel"], world.rows["secret"]
    slack, _ = channel_create(
        org=world.org,
        owner=world.people["owner"],
        kind="slack",
        name="Slack",
        config={"url": "http://127.0.0.1:9/services/T000/B000/XXXXSECRETXXXX"},
    )
    for role in ("owner", "org_admin"):
        client.force_login(world.people[role])
        hook_page = client.get(reverse("dashboard:channel-edit", args=[channel.public_id]))
        slack_page = client.get(reverse("dashboard:channel-edit", args=[slack.public_id]))
        for page, stored in [(hook_page, channel.config["url"]), (slack_page, "XXXXSECRETXXXX")]:
            html = page.content.decode()
            assert page.status_code == 200
            assert stored not in html
            assert "URL: <strong>set</strong>" in html
            assert '<label for="id_url">Replace the' in html
        html = hook_page.content.decode()
        assert secret not in html and secret.removeprefix("whsec_") not in html
        assert "Signing secret: <strong>set</strong>" in html


def test_editing_keeps_or_replaces_the_url_and_keeps_the_secret(world, client, httpserver):
    channel, secret = world.rows["channel"], world.rows["secret"]
    old_url = channel.config["url"]
    client.force_login(world.people["owner"])
    url = reverse("dashboard:channel-edit", args=[channel.public_id])
    assert client.post(url, {"name": "Renamed", "url": ""}).status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.config["url"], channel.config["secret"]) == (
        "Renamed",
        old_url,
        secret,
    )
    new_url = httpserver.url_for("/elsewhere")
    assert client.post(url, {"name": "Renamed", "url": new_url}).status_code == 302
    channel.refresh_from_db()
    assert channel.config == {"url": new_url, "secret": secret}


def test_editing_email_recipients_and_a_taken_name(world, client):
    owner = world.people["owner"]
    email, _ = channel_create(
        org=world.org, owner=owner, kind="email", name="Team", config={"to": ["a@x.test"]}
    )
    client.force_login(owner)
    url = reverse("dashboard:channel-edit", args=[email.public_id])
    page = client.get(url).content.decode()
    assert "a@x.test" in page  # recipients are not secret: they are edited in place
    assert client.post(url, {"name": "Team", "recipients": "b@x.test"}).status_code == 302
    email.refresh_from_db()
    assert email.config == {"to": ["b@x.test"]}
    # The owner's names are unique: an answer beside the field, not a server error.
    taken = client.post(url, {"name": OWNER_CHANNEL, "recipients": "b@x.test"})
    assert taken.status_code == 422 and 'id="id_name_error"' in taken.content.decode()
    email.refresh_from_db()
    assert email.name == "Team"
    bad = client.post(url, {"name": "Team", "recipients": "nope"})
    assert bad.status_code == 422 and 'id="id_recipients_error"' in bad.content.decode()


def test_a_malformed_channel_id_is_a_404(world, client):
    client.force_login(world.people["owner"])
    assert client.get("/channels/not-a-uuid/").status_code == 404
    assert client.get("/channels/00000000-0000-0000-0000-000000000000/").status_code == 404
    missing = "/channels/00000000-0000-0000-0000-000000000000/test/"
    assert client.post(missing).status_code == 404


# -- deleting -------------------------------------------------------------------------------


def test_deleting_an_unused_channel(world, client):
    channel = world.rows["channel"]
    client.force_login(world.people["owner"])
    response = client.post(
        reverse("dashboard:channel-delete", args=[channel.public_id]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'hx-swap-oob="true"' in response.content.decode()  # the message, out of band
    assert not DeliveryChannel.objects.filter(pk=channel.pk).exists()


def test_a_channel_in_use_is_not_deleted_and_the_page_says_by_which(world, client):
    channel, owner = world.rows["channel"], world.people["owner"]
    auto = automation(org=world.org, owner=owner, name="Monday pipeline")
    auto.delivery_channels.add(channel)
    client.force_login(owner)
    url = reverse("dashboard:channel-delete", args=[channel.public_id])
    htmx = client.post(url, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 409 and htmx["HX-Retarget"] == "#flash"
    assert "Monday pipeline" in htmx.content.decode()
    plain = client.post(url, follow=True)
    assert "is used by 1 automation" in plain.content.decode()
    assert DeliveryChannel.objects.filter(pk=channel.pk).exists()
    assert auto.delivery_channels.filter(pk=channel.pk).exists()
    page = client.get(reverse("dashboard:channel-edit", args=[channel.public_id])).content.decode()
    assert "Monday pipeline" in page and "cannot be deleted" in page
    listing = client.get(reverse("dashboard:channels")).content.decode()
    assert "1 automation<" in listing


def test_channel_delete_service_checks_who_asks(world):
    from django.core.exceptions import PermissionDenied

    channel = world.rows["channel"]
    with pytest.raises(PermissionDenied):
        channel_delete(channel=channel, by=world.people["member"])
    with pytest.raises(PermissionDenied):
        channel_delete(channel=channel, by=world.people["other_org_admin"])
    assert DeliveryChannel.objects.filter(pk=channel.pk).exists()
    channel_delete(channel=channel, by=world.people["org_admin"])
    assert not DeliveryChannel.objects.filter(pk=channel.pk).exists()


# -- testing --------------------------------------------------------------------------------


def test_a_test_message_reaches_the_listener_and_the_outcome_shows_inline(world, client):
    channel, listener = world.rows["channel"], world.rows["httpserver"]
    client.force_login(world.people["owner"])
    response = client.post(
        reverse("dashboard:channel-test", args=[channel.public_id]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "inbox-refresh" in response["HX-Trigger"]
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="channel-{channel.public_id}"')
    assert re.search(r"<strong>Sent</strong> in \d+ ms: The webhook endpoint answered 204", html)
    (request, _), *_ = listener.log
    assert request.headers["webhook-signature"].startswith("v1,")


def test_a_failing_test_shows_the_status_code_and_marks_the_channel_failing(
    world, client, httpserver
):
    channel, owner = world.rows["channel"], world.people["owner"]
    httpserver.expect_request("/gone").respond_with_data("no such hook", status=410)
    client.force_login(owner)
    client.post(
        reverse("dashboard:channel-edit", args=[channel.public_id]),
        {"name": channel.name, "url": httpserver.url_for("/gone")},
    )
    response = client.post(
        reverse("dashboard:channel-test", args=[channel.public_id]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "<strong>Failed</strong>" in html and "answered 410: no such hook" in html
    assert "<strong>Permanent:</strong>" in html
    assert '<span class="status failing">Failing</span>' in html
    channel.refresh_from_db()
    assert channel.status == "failing" and "410" in channel.last_error
    # The list shows the failing channel with its last error and when.
    listing = client.get(reverse("dashboard:channels")).content.decode()
    assert '<span class="status failing">Failing</span>' in listing
    assert re.search(r"answered 410: no such hook <span class=\"muted\">\(\w{3} \d", listing)


def test_a_temporary_failure_says_so(world, client, httpserver):
    channel = world.rows["channel"]
    httpserver.expect_request("/busy").respond_with_data("busy", status=503)
    client.force_login(world.people["owner"])
    client.post(
        reverse("dashboard:channel-edit", args=[channel.public_id]),
        {"name": channel.name, "url": httpserver.url_for("/busy")},
    )
    page = client.post(
        reverse("dashboard:channel-test", args=[channel.public_id]),
        {"from": "page"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert page.lstrip().startswith('<div class="test-outcome failed"')
    assert "answered 503" in page and "<strong>Temporary:</strong>" in page
    channel.refresh_from_db()
    assert channel.status == "ok"  # a transient failure is not the channel's fault


def test_without_javascript_a_test_redirects_back_with_the_outcome(world, client):
    channel = world.rows["channel"]
    client.force_login(world.people["owner"])
    url = reverse("dashboard:channel-test", args=[channel.public_id])
    back = client.post(url, {"from": "page"})
    assert back["Location"] == reverse("dashboard:channel-edit", args=[channel.public_id])
    page = client.post(url, follow=True).content.decode()
    assert re.search(r"Test message sent in \d+ ms", page)


def test_an_in_app_test_lands_in_the_owners_inbox(world, client):
    owner = world.people["owner"]
    inbox, _ = channel_create(org=world.org, owner=owner, kind="in_app", name="Inbox")
    client.force_login(owner)
    html = client.post(
        reverse("dashboard:channel-test", args=[inbox.public_id]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "added to the inbox" in html
    assert owner.notifications.filter(title__startswith="Test message").count() == 1


# -- the list -------------------------------------------------------------------------------


def test_the_admin_sees_the_orgs_channels_with_owners(world, client):
    client.force_login(world.people["org_admin"])
    html = client.get(reverse("dashboard:channels")).content.decode()
    assert OWNER_CHANNEL in html and '<th scope="col">Owner</th>' in html and ">owner<" in html


def _make_channels(org, owner, count, start=0):
    for i in range(start, start + count):
        channel, _ = channel_create(org=org, owner=owner, kind="in_app", name=f"Channel {i:03}")
        auto = automation(org=org, owner=owner, name=f"Uses {i}")
        auto.delivery_channels.add(channel)


def test_the_list_query_count_does_not_grow_with_rows(world, client):
    owner = world.people["owner"]
    # The admin's list also shows each channel's owner: one more join, never a query a row.
    client.force_login(world.people["org_admin"])
    _make_channels(world.org, owner, 2)
    client.get(reverse("dashboard:channels"))  # warm: session, content types
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("dashboard:channels"))
    _make_channels(world.org, owner, 20, start=2)
    with CaptureQueriesContext(connection) as big:
        html = client.get(reverse("dashboard:channels")).content.decode()
    assert html.count("1 automation<") == 22
    assert len(big) == len(small), [q["sql"] for q in big.captured_queries]


def test_the_list_is_paged_by_name(world, client, settings, monkeypatch):
    from automations.dashboard import channels as channels_view

    monkeypatch.setattr(channels_view, "PAGE_SIZE", 5)
    owner = world.people["owner"]
    for i in range(8):
        channel_create(org=world.org, owner=owner, kind="in_app", name=f"Ch {i}")
    client.force_login(owner)
    first = client.get(reverse("dashboard:channels")).content.decode()
    names = re.findall(r'<th scope="row"><a [^>]+>([^<]+)</a>', first)
    assert names == ["Ch 0", "Ch 1", "Ch 2", "Ch 3", "Ch 4"]
    after = re.search(r'\?after=([^"]+)" rel="next"', first)[1]
    second = client.get(reverse("dashboard:channels") + f"?after={after}").content.decode()
    names = re.findall(r'<th scope="row"><a [^>]+>([^<]+)</a>', second)
    assert names == ["Ch 5", "Ch 6", "Ch 7", OWNER_CHANNEL]
    assert 'rel="next"' not in second
    # A cursor that is not ours is ignored: the first page, not an error.
    for bad in ("garbage", after[:-3] + "xyz", "a" * 5000):
        page = client.get(reverse("dashboard:channels"), {"after": bad})
        assert page.status_code == 200 and "Ch 0" in page.content.decode()


def test_a_member_in_another_org_does_not_see_this_orgs_channels(world, client):
    other = member(world.other_org, username="elsewhere")
    client.force_login(other)
    html = client.get(reverse("dashboard:channels")).content.decode()
    assert OWNER_CHANNEL not in html and "No channels yet" in html
