"""Delivery channels against local servers: payload shapes, signatures, retries, SSRF
refusals, and secrets encrypted at rest."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import time

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from standardwebhooks.webhooks import Webhook
from werkzeug.wrappers import Response

from automations.engine import run_execute
from automations.firing import run_fire
from automations.run_keys import manual_key
from config import outbound
from delivery.channel_services import channel_create, channel_update
from delivery.formatting import markdown_to_html, markdown_to_text
from delivery.models import Delivery, DeliveryChannel, Notification
from delivery.services import channel_send_test
from tests.factories import automation
from tests.live import SmtpInbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]


def make_channel(auto, kind, url=None, name=None, **config):
    if url:
        config["url"] = url
    channel, secret = channel_create(
        org=auto.organization,
        owner=auto.owner,
        kind=kind,
        name=name or f"{kind} channel",
        config=config,
    )
    return channel, secret


def run_now(auto):
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    status = run_execute(run_id=run.pk)
    run.refresh_from_db()
    return run, status


def set_channels(auto, *channels):
    auto.delivery_channels.set(channels)


def test_slack_block_kit_payload(sandbox_org, httpserver):
    auto = automation(org=sandbox_org)
    channel, _ = make_channel(auto, "slack", httpserver.url_for("/slack"))
    set_channels(auto, channel)
    httpserver.expect_request("/slack", method="POST").respond_with_data("ok")
    run, status = run_now(auto)
    assert status == "completed"
    body = json.loads(httpserver.log[0][0].get_data())
    blocks = body["blocks"]
    assert body["text"] == "Pipeline report"
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Pipeline report", "emoji": True},
    }
    assert blocks[1]["type"] == "section" and blocks[1]["text"]["type"] == "mrkdwn"
    assert (
        "*37 active applications*" in blocks[1]["text"]["text"]
        or "active applications" in blocks[1]["text"]["text"]
    )
    context = blocks[-1]
    assert context["type"] == "context"
    assert f"/runs/{run.public_id}/|View in Skillomatic>" in context["elements"][0]["text"]


def test_slack_long_body_is_cut_within_limits_with_a_link(sandbox_org, httpserver):
    from delivery.channels import slack
    from delivery.message import OutgoingMessage

    message = OutgoingMessage(
        type="t",
        message_id="m",
        title="T" * 400,
        body_markdown="- line of text\n" * 9000,
        summary="",
        link="https://app.example/run/1",
        automation_name="A",
        owner=None,
        organization_id=1,
    )
    payload = slack.payload(message)
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    sections = [b for b in payload["blocks"] if b["type"] == "section"]
    assert len(payload["blocks"]) <= 50
    assert all(len(s["text"]["text"]) <= 3000 for s in sections)
    assert (
        "<https://app.example/run/1|Read the full result in Skillomatic>"
        in sections[-1]["text"]["text"]
    )


def test_slack_escapes_and_converts_markdown(settings):
    from delivery.formatting import markdown_to_slack

    # Only links to our own site stay links (issue 10); any other is shown as its label.
    settings.SITE_URL = "https://r"
    assert (
        markdown_to_slack("### Jobs\n**A & B** <x> [run](https://r/1) [x](https://e/1)")
        == "*Jobs*\n*A &amp; B* &lt;x&gt; <https://r/1|run> x"
    )


def test_teams_adaptive_card_payload(sandbox_org, httpserver):
    auto = automation(org=sandbox_org)
    channel, _ = make_channel(auto, "teams", httpserver.url_for("/teams"))
    set_channels(auto, channel)
    httpserver.expect_request("/teams").respond_with_data("", status=202)  # Workflows' answer
    run, status = run_now(auto)
    assert status == "completed"
    body = json.loads(httpserver.log[0][0].get_data())
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    # Text goes in RichTextBlocks of TextRuns (not markdown): headings are bold runs.
    assert card["body"][0]["inlines"][0]["text"] == "Pipeline report"
    heading = {"type": "TextRun", "text": "Account Executive (Sales)", "weight": "Bolder"}
    assert any(
        {**b["inlines"][0], "size": None} == {**heading, "size": None} for b in card["body"][1:]
    )
    assert card["actions"][0]["type"] == "Action.OpenUrl"
    assert card["actions"][0]["url"].endswith(f"/runs/{run.public_id}/")


def test_outbound_webhook_is_signed_per_standard_webhooks(sandbox_org, httpserver):
    auto = automation(org=sandbox_org)
    channel, secret = make_channel(auto, "webhook", httpserver.url_for("/hook"))
    assert secret.startswith("whsec_")
    set_channels(auto, channel)
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    run, status = run_now(auto)
    assert status == "completed"
    request = httpserver.log[0][0]
    raw = request.get_data()
    headers = {k.lower(): v for k, v in request.headers.items()}
    # An independent implementation verifies the signature (and rejects a tampered body).
    verified = Webhook(secret).verify(raw, headers)
    with pytest.raises(Exception):  # noqa: B017 - the library's own verification error
        Webhook(secret).verify(raw.replace(b"Pipeline", b"Pipeline!"), headers)
    assert verified["type"] == "automation.run.completed"
    assert verified["id"] == headers["webhook-id"]
    assert verified["data"]["automation"]["id"] == str(auto.public_id)
    assert verified["data"]["run"]["id"] == str(run.public_id)
    assert verified["data"]["result"]["title"] == "Pipeline report"


def test_email_channel_through_smtp(sandbox_org, settings):
    inbox = SmtpInbox().start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = (
            "127.0.0.1",
            inbox.port,
            False,
        )
        auto = automation(org=sandbox_org, channels=[{"kind": "email", "to": ["hm@example.test"]}])
        _run, status = run_now(auto)
    finally:
        inbox.stop()
    assert status == "completed"
    (message,) = inbox.messages
    parsed = email.message_from_bytes(message.content, policy=email.policy.default)
    assert message.rcpt_tos == ["hm@example.test"]
    assert parsed.get_body(("html",)) is not None and "Pipeline report" in parsed["Subject"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.0.0.1/hook", "10.0.0.1, a private"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata address"),
        ("http://localhost:8080/hook", "127.0.0.1, a private, loopback"),
        ("http://intranet.example.test/hook", "127.0.0.1, a private, loopback"),
        ("ftp://example.com/file", "Only http and https"),
    ],
)
def test_private_and_metadata_addresses_are_refused(url, message, monkeypatch):
    real = socket.getaddrinfo

    def resolver(host, *args, **kwargs):  # a DNS name that points at loopback
        if host == "intranet.example.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with pytest.raises(outbound.OutboundRefused, match=message):
        outbound.check_url(url)
    auto = automation()
    with pytest.raises(ValidationError, match=message.split(",")[0]):
        make_channel(auto, "slack", url)
    assert not DeliveryChannel.objects.filter(kind="slack").exists()


def test_redirect_to_a_private_address_is_refused(sandbox_org, httpserver):
    auto = automation(org=sandbox_org)
    channel, _ = make_channel(auto, "slack", httpserver.url_for("/moved"))
    set_channels(auto, channel)
    httpserver.expect_request("/moved").respond_with_response(
        Response(status=307, headers={"Location": "http://10.0.0.1/internal"})
    )
    run, _status = run_now(auto)
    (outcome,) = run.deliveries
    assert outcome["status"] == "failed" and outcome["permanent"]
    assert "10.0.0.1, a private" in outcome["error"]
    channel.refresh_from_db()
    assert channel.status == "failing"


def test_secrets_are_encrypted_at_rest_and_survive_key_rotation(settings):
    auto = automation()
    url = "http://127.0.0.1:9/services/T000/B000/XXXXSECRET"
    channel, _ = channel_create(
        org=auto.organization, owner=auto.owner, kind="slack", name="Slack", config={"url": url}
    )
    webhook, secret = channel_create(
        org=auto.organization,
        owner=auto.owner,
        kind="webhook",
        name="Hook",
        config={"url": "http://127.0.0.1:9/h"},
    )
    with connection.cursor() as cur:
        cur.execute("SELECT config FROM delivery_deliverychannel")
        raw = " ".join(row[0] for row in cur.fetchall())
    assert "XXXXSECRET" not in raw and "127.0.0.1" not in raw and secret not in raw

    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = f"{new_key},{old_key}"  # new key first, old still readable
    assert DeliveryChannel.objects.get(pk=channel.pk).config["url"] == url
    call_command("rotate_encryption_keys", stdout=__import__("io").StringIO())
    settings.FIELD_ENCRYPTION_KEY = new_key  # the old key is gone
    assert DeliveryChannel.objects.get(pk=channel.pk).config["url"] == url
    assert DeliveryChannel.objects.get(pk=webhook.pk).config["secret"] == secret


def test_503_then_200_delivers_once(sandbox_org, httpserver):
    auto = automation(org=sandbox_org)
    channel, _ = make_channel(auto, "slack", httpserver.url_for("/flaky"))
    set_channels(auto, channel)
    httpserver.expect_ordered_request("/flaky").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/flaky").respond_with_data("ok")
    run, status = run_now(auto)
    assert status == "completed"
    assert len(httpserver.log) == 2
    delivery = Delivery.objects.get(run=run)
    assert delivery.status == "sent" and delivery.attempts == 2
    first, second = delivery.attempt_log.order_by("started_at")
    assert (first.ok, first.http_status, first.permanent) == (False, 503, False)
    assert second.ok


def test_429_honours_retry_after(sandbox_org, httpserver):
    auto = automation(org=sandbox_org)
    channel, _ = make_channel(auto, "teams", httpserver.url_for("/busy"))
    set_channels(auto, channel)
    httpserver.expect_ordered_request("/busy").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    httpserver.expect_ordered_request("/busy").respond_with_data("1")
    started = time.monotonic()
    _run, status = run_now(auto)
    assert status == "completed" and time.monotonic() - started >= 1.0


def test_404_is_permanent_marks_the_channel_failing_and_tells_the_owner(sandbox_org, httpserver):
    auto = automation(org=sandbox_org)
    channel, _ = make_channel(auto, "slack", httpserver.url_for("/gone"), name="Team Slack")
    set_channels(auto, channel)
    httpserver.expect_request("/gone").respond_with_data("no_service", status=404)
    run, status = run_now(auto)
    assert len(httpserver.log) == 1  # not retried
    assert status == "failed" and run.attempt == 1  # nothing delivered, and retrying won't help
    channel.refresh_from_db()
    assert channel.status == "failing" and "404" in channel.last_error
    alert = Notification.objects.get(user=auto.owner, kind="alert")
    assert "Team Slack" in alert.title and "no_service" in markdown_to_text(alert.body_markdown)


def test_the_failing_channel_alert_quotes_names_and_answers_as_text(sandbox_org, httpserver):
    """The alert quotes the channel's name (typed by a user) and the receiver's answer: neither
    may become a link or markup in the inbox or anywhere the alert is shown."""
    auto = automation(org=sandbox_org)
    name = "[Fix it here](https://evil.example/phish)"
    channel, _ = make_channel(auto, "slack", httpserver.url_for("/gone"), name=name)
    set_channels(auto, channel)
    answer = "<a href='https://evil.example'>x</a> [again](javascript:alert(1)) # big"
    httpserver.expect_request("/gone").respond_with_data(answer, status=404)
    run_now(auto)
    alert = Notification.objects.get(user=auto.owner, kind="alert")
    html = str(markdown_to_html(alert.body_markdown))
    assert "<a" not in html and "<h1" not in html  # no link at all, no heading
    assert "[Fix it here]" in markdown_to_text(alert.body_markdown)


def test_413_fails_this_message_without_marking_the_channel_failing(sandbox_org, httpserver):
    """Too large is about the message: not retried, but the channel keeps working for the
    next (smaller) result and nobody is told to fix a channel that is fine."""
    auto = automation(org=sandbox_org)
    channel, _ = make_channel(auto, "teams", httpserver.url_for("/big"), name="Team Teams")
    set_channels(auto, channel)
    httpserver.expect_request("/big").respond_with_data("too large", status=413)
    _run, status = run_now(auto)
    assert len(httpserver.log) == 1  # not retried: the same body would be refused again
    assert status == "failed"
    channel.refresh_from_db()
    assert channel.status == "ok" and not Notification.objects.filter(kind="alert").exists()


def test_one_failing_channel_and_one_working_channel(sandbox_org, httpserver):
    auto = automation(org=sandbox_org)
    broken, _ = make_channel(auto, "slack", httpserver.url_for("/gone"), name="Broken")
    working, _ = make_channel(auto, "webhook", httpserver.url_for("/ok"), name="Working")
    set_channels(auto, broken, working)
    httpserver.expect_request("/gone").respond_with_data("", status=404)
    httpserver.expect_request("/ok").respond_with_data("", status=200)
    run, status = run_now(auto)
    assert status == "completed"
    outcomes = {d["channel"]: d["status"] for d in run.deliveries}
    assert outcomes == {"Broken": "failed", "Working": "sent"}
    assert set(Delivery.objects.filter(run=run).values_list("status", flat=True)) == {
        "failed",
        "sent",
    }


def test_a_passing_failure_retries_the_run_without_delivering_twice(sandbox_org, httpserver):
    from django.utils import timezone

    from automations.models import AutomationRun

    auto = automation(org=sandbox_org, retry_limit=2)
    ok, _ = make_channel(auto, "webhook", httpserver.url_for("/ok"), name="OK")
    down, _ = make_channel(auto, "slack", httpserver.url_for("/down"), name="Down")
    set_channels(auto, ok, down)
    slack_is_up = {"now": False}
    httpserver.expect_request("/ok").respond_with_data("")
    httpserver.expect_request("/down").respond_with_handler(
        lambda request: Response(
            "ok" if slack_is_up["now"] else "", 200 if slack_is_up["now"] else 500
        )
    )
    run, status = run_now(auto)  # three tries within the run, all 500
    assert status == "pending" and run.error_code == "delivery_failed"  # retried later
    assert "Down: Slack answered 500" in run.error_message

    slack_is_up["now"] = True
    AutomationRun.objects.filter(pk=run.pk).update(scheduled_for=timezone.now())
    assert run_execute(run_id=run.pk) == "completed"
    paths = [request.path for request, _ in httpserver.log]
    assert paths.count("/ok") == 1 and paths.count("/down") == 4
    assert set(Delivery.objects.filter(run=run).values_list("status", flat=True)) == {"sent"}


def test_send_a_test_message(httpserver):
    auto = automation()
    channel, _ = make_channel(auto, "slack", httpserver.url_for("/t"))
    httpserver.expect_ordered_request("/t").respond_with_data("ok")
    assert channel_send_test(channel=channel) == {"ok": True, "detail": "Slack answered 200"}
    assert "Test message from Skillomatic" in httpserver.log[0][0].get_data(as_text=True)
    httpserver.expect_ordered_request("/t").respond_with_data("invalid_token", status=403)
    outcome = channel_send_test(channel=channel)
    assert not outcome["ok"] and outcome["permanent"] and "invalid_token" in outcome["error"]
    channel.refresh_from_db()
    assert channel.status == "failing"
    # Fixing the configuration gives the channel another chance.
    channel_update(channel=channel, by=auto.owner, config={"url": httpserver.url_for("/t2")})
    channel.refresh_from_db()
    assert channel.status == "ok"


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Give the channel a name."),
        ("   ", "Give the channel a name."),
        ("x" * 121, "At most 120 characters (this has 121)."),
        ("bad\x00name", "Remove the NUL character."),
        ("Team inbox", "You already have a channel named 'Team inbox'."),
    ],
)
def test_a_channel_name_is_checked_the_same_on_create_and_rename(org, owner, name, message):
    channel_create(org=org, owner=owner, kind="in_app", name="Team inbox")
    other, _ = channel_create(org=org, owner=owner, kind="in_app", name="Other")
    with pytest.raises(ValidationError) as created:
        channel_create(org=org, owner=owner, kind="in_app", name=name)
    assert created.value.message_dict == {"name": [message]}
    with pytest.raises(ValidationError) as renamed:
        channel_update(channel=other, by=owner, name=name)
    assert renamed.value.message_dict == {"name": [message]}
    assert DeliveryChannel.objects.get(pk=other.pk).name == "Other"
    # Keeping its own name is no clash.
    assert channel_update(channel=other, by=owner, name=" Other ").name == "Other"
