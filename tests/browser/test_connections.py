"""An org admin connects Greenhouse, sees the webhook URL and the secret once with copy
buttons, and after a badly signed delivery to the live receiver sees why it was refused."""

from __future__ import annotations

import json
import re

import requests
from playwright.sync_api import expect

from accounts.models import Membership
from tests.ats import hexmac
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import OrganizationFactory, member
from webhooks.models import AtsConnection


def test_connect_greenhouse_and_see_a_refused_delivery(page, site, settings):
    settings.SITE_URL = site
    org = OrganizationFactory(name="Acme Talent")
    admin = member(org, role=Membership.Role.ADMIN, username="ats-admin")
    sign_in(page, site, admin)

    page.goto(f"{site}/connections/")
    expect(page.get_by_role("heading", name="No ATS connected yet")).to_be_visible()
    assert_accessible(page, what="connections list (empty)")
    page.get_by_role("link", name="Connect an ATS").first.click()
    page.wait_for_url(f"{site}/connections/new/")
    assert_accessible(page, what="connect form")

    page.get_by_label("ATS").select_option("greenhouse")
    page.get_by_label("Name").fill("Acme Greenhouse")
    page.get_by_role("button", name="Connect").click()
    expect(page.get_by_role("heading", name="Connected Acme Greenhouse")).to_be_visible()
    connection = AtsConnection.objects.get(name="Acme Greenhouse")
    secret = connection.secrets["webhook_secret"]
    hook = f"{site}/webhooks/ats/greenhouse/{connection.public_id}/"
    expect(page.locator("#webhook-url")).to_have_text(hook)
    expect(page.locator("#webhook-secret")).to_have_text(secret)
    expect(page.get_by_role("button", name="Copy URL")).to_be_visible()
    expect(page.get_by_role("button", name="Copy secret")).to_be_visible()
    assert_accessible(page, what="connected (secret shown once)")

    # The ATS (or someone pretending to be it) posts with the wrong signature.
    body = json.dumps({"action": "reject_candidate", "payload": {}}).encode()
    answer = requests.post(
        hook,
        data=body,
        headers={
            "Content-Type": "application/json",
            "Signature": f"sha256 {hexmac('not-the-secret', body)}",
        },
        timeout=10,
    )
    assert answer.status_code == 401
    answer = requests.post(
        hook,
        data=body,
        headers={"Content-Type": "application/json", "Signature": f"sha256 {hexmac(secret, body)}"},
        timeout=10,
    )
    assert answer.status_code == 200

    page.get_by_role("link", name="Go to the connection").click()
    expect(page.get_by_role("heading", name=re.compile("Acme Greenhouse"), level=1)).to_be_visible()
    refused = page.get_by_role("table", name=re.compile("refused"))
    expect(refused).to_contain_text("signature check failed: Signature does not match the body")
    expect(refused).to_contain_text("401")
    expect(page.locator("body")).not_to_contain_text(secret)

    # Test the connection: no API key yet, said inline.
    page.get_by_role("button", name="Test the connection").click()
    expect(page.locator("#test-result")).to_contain_text("No API key")
    assert_accessible(page, what="connection page")
    screenshot(page, "connection")

    page.goto(f"{site}/connections/")
    expect(page.get_by_role("table")).to_contain_text("Refused 401")
    assert_accessible(page, what="connections list")
    screenshot(page, "connections")
