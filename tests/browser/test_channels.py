"""Acceptance for channels: add a webhook channel, copy its secret (shown once), send it a
test message to a listener on 127.0.0.1 and see the outcome inline; axe on the list and the
new-channel form."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest
from playwright.sync_api import expect

from delivery.channel_services import channel_create
from delivery.services import channel_send_test
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import OrganizationFactory, automation, member


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    # The live server runs in this process: the listener on 127.0.0.1 may be posted to.
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]


def test_add_a_webhook_channel_copy_its_secret_and_send_a_test(page, site, httpserver):
    org = OrganizationFactory(name="Acme Talent")
    user = member(org, username="recruiter")
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    sign_in(page, site, user)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Channels").click()
    expect(page.get_by_role("heading", name="No channels yet")).to_be_visible()
    assert_accessible(page, what="channels list, empty")

    page.get_by_role("link", name="Add a channel").first.click()
    expect(page.get_by_role("heading", name="Add a channel")).to_be_visible()
    assert_accessible(page, what="new channel form (email)")
    page.get_by_role("link", name="Webhook", exact=True).click()
    expect(page.get_by_label("Endpoint URL")).to_be_visible()
    assert page.url.endswith("/channels/new/?kind=webhook")
    assert_accessible(page, what="new channel form (webhook)")
    page.get_by_label("Name").fill("Hiring hook")
    page.get_by_label("Endpoint URL").fill(httpserver.url_for("/hook"))
    page.get_by_role("button", name="Add the channel").click()

    secret_box = page.locator("#signing-secret")
    expect(secret_box).to_contain_text("whsec_")
    secret = secret_box.inner_text().strip()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    copy = page.locator('button[data-copy="#signing-secret"]')
    expect(copy).to_have_text("Copy the secret")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret
    expect(copy).to_have_text("Copy the secret")
    assert_accessible(page, what="the new webhook's secret")
    screenshot(page, "channel-secret")

    page.get_by_role("button", name="Send a test message").click()
    outcome = page.locator("#test-outcome")
    expect(outcome).to_contain_text(
        re.compile(r"Sent in \d+ ms: The webhook endpoint answered 204")
    )
    # The listener got one message, signed with the secret the page showed.
    (request, _), *_ = httpserver.log
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{request.headers['webhook-id']}.{request.headers['webhook-timestamp']}.".encode()
    digest = hmac.new(key, signed + request.get_data(), hashlib.sha256).digest()
    assert request.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()

    # Reloading shows the form again, never the secret.
    page.reload()
    expect(page.get_by_role("heading", name="Add a channel")).to_be_visible()
    expect(page.locator("#signing-secret")).to_have_count(0)
    assert secret not in page.content()

    page.goto(f"{site}/channels/")
    row = page.get_by_role("row", name=re.compile("Hiring hook"))
    expect(row).to_contain_text("OK")
    row.get_by_role("button", name="Send a test message to Hiring hook").click()
    expect(row.locator(".test-outcome")).to_contain_text("Sent in")
    assert len(httpserver.log) == 2
    assert secret not in page.content()


def test_the_list_shows_a_failing_channel_and_a_test_outcome(page, site, httpserver):
    org = OrganizationFactory(name="Acme Talent")
    user = member(org, username="recruiter")
    httpserver.expect_request("/gone").respond_with_data("no such hook", status=410)
    httpserver.expect_request("/ok").respond_with_data("ok")
    broken, _ = channel_create(
        org=org,
        owner=user,
        kind="slack",
        name="Old Slack channel",
        config={"url": httpserver.url_for("/gone")},
    )
    channel_send_test(channel=broken, by=user)  # fails for good: the channel is failing
    channel_create(
        org=org,
        owner=user,
        kind="teams",
        name="Hiring team (Teams)",
        config={"url": httpserver.url_for("/ok")},
    )
    channel_create(org=org, owner=user, kind="email", name="Me by email", config={"to": []})
    inbox, _ = channel_create(org=org, owner=user, kind="in_app", name="My inbox")
    auto = automation(org=org, owner=user, name="Monday pipeline")
    auto.delivery_channels.set([inbox])
    sign_in(page, site, user)
    page.goto(f"{site}/channels/")
    failing = page.get_by_role("row", name=re.compile("Old Slack channel"))
    expect(failing).to_contain_text("Failing")
    expect(failing).to_contain_text("answered 410: no such hook")
    expect(page.get_by_role("row", name=re.compile("My inbox"))).to_contain_text("1 automation")
    teams = page.get_by_role("row", name=re.compile("Hiring team"))
    teams.get_by_role("button", name=re.compile("Send a test message")).click()
    expect(teams.locator(".test-outcome")).to_contain_text("Sent in")
    assert_accessible(page, what="channels list")
    screenshot(page, "channels")

    # The failing channel's page: its last error, the URL "set" but never shown.
    failing.get_by_role("link", name="Old Slack channel", exact=True).click()
    expect(page.get_by_role("heading", name="Old Slack channel")).to_be_visible()
    expect(page.get_by_label("Replace the slack incoming-webhook URL")).to_have_value("")
    assert "/gone" not in page.content()
    assert_accessible(page, what="a failing channel's page")
    page.go_back()

    # Deleting the channel in use is refused with the automations named; the other goes.
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete My inbox").click()
    expect(page.locator("#flash")).to_contain_text("Monday pipeline")
    expect(page.get_by_role("row", name=re.compile("My inbox"))).to_have_count(1)
    page.get_by_role("button", name="Delete Old Slack channel").click()
    expect(page.get_by_role("row", name=re.compile("Old Slack channel"))).to_have_count(0)
    expect(page.locator("#flash")).to_contain_text("Deleted")
