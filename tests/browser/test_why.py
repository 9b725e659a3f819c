"""Acceptance: "why didn't it fire?" answered in the browser, for a paused automation and for
an event automation whose filter did not match a webhook posted to the real receiver."""

from __future__ import annotations

import urllib.request

from playwright.sync_api import expect

from automations import services
from automations.triggers.drain import inbound_drain
from tests.ats import FIXTURES, connection, signed, url
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import OrganizationFactory, automation, member
from webhooks.models import InboundEvent


def test_why_a_paused_automation_did_not_fire(page, site):
    org = OrganizationFactory(name="Acme Talent")
    recruiter = member(org, username="recruiter")
    weekly = automation(org=org, owner=recruiter, name="Monday pipeline report")
    services.automation_pause(
        automation=weekly, by=recruiter, reason="Paused by recruiter from the dashboard"
    )
    sign_in(page, site, recruiter)
    page.goto(f"{site}/automations/{weekly.public_id}/why/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Why didn't “Monday pipeline report” fire?"
    )
    status = page.get_by_role("region", name="Status: Paused")
    expect(status).to_contain_text("Stops it: Paused by recruiter")
    expect(page.get_by_role("region", name="Next fire")).to_contain_text("None: it is paused.")
    assert_accessible(page, what="why panel (paused)")
    # "Check again" swaps the panel in place (htmx), and still answers the same.
    page.get_by_role("link", name="Check again").click()
    expect(status).to_contain_text("Paused by recruiter")


def test_why_an_event_automation_did_not_fire_for_a_posted_webhook(page, site):
    org = OrganizationFactory(name="Acme Talent")
    recruiter = member(org, username="recruiter")
    conn = connection(org, "greenhouse")
    offers = automation(
        org=org,
        owner=recruiter,
        name="Offer stage alert",
        trigger_type="event",
        event_type="ats.candidate.stage_changed",
        event_filter={"stage.to": "Offer"},
        skill_slug="new-candidate-alert",
    )
    # The ATS moves Ana Lima to "Onsite Interview": posted, signed, to the live receiver.
    raw = (FIXTURES / "greenhouse" / "candidate_stage_change.json").read_bytes()
    body, headers, _ = signed("greenhouse", raw)
    request = urllib.request.Request(
        site + url(conn),
        data=body,
        method="POST",
        headers={**headers, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert inbound_drain() == 1  # the worker's drain, in this process
    assert InboundEvent.objects.get().status == "ignored"

    sign_in(page, site, recruiter)
    page.goto(f"{site}/automations/{offers.public_id}/why/")
    events = page.get_by_role("region", name="Recent ATS events that did not fire it")
    expect(events).to_contain_text(
        "filter stage.to equals 'Offer', but the event has 'Onsite Interview'"
    )
    expect(events).to_contain_text("ats.candidate.stage_changed")
    expect(page.get_by_role("region", name="Next fire")).to_contain_text(
        "On the next matching event from your ATS."
    )
    # The owner, a plain member, sees why, but nothing the event says about the candidate.
    assert "Lima" not in page.content()
    assert_accessible(page, what="why panel (event not matched)")
    screenshot(page, "why")
