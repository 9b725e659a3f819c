"""The automations list in a real browser: filters swapping the table, inline pause and
resume, selecting several for a bulk pause, the empty state offering the templates, and the
templates gallery; axe on both pages and their screenshots."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from automations.models import Automation
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import OrganizationFactory, automation, member


def _row(page, name):
    return page.locator("#automation-results tbody tr").filter(has_text=name)


def test_list_filters_inline_pause_resume_and_bulk_pause(page, site):
    org = OrganizationFactory(name="Acme Talent")
    owner = member(org, username="recruiter")
    automation(org=org, owner=owner, name="Weekly pipeline report")
    automation(
        org=org,
        owner=owner,
        name="Daily sourcing recap",
        skill_slug="sourcing-recap",
        cron_expression="0 17 * * 1-5",
        time_zone="Europe/London",
    )
    automation(
        org=org,
        owner=owner,
        name="Stale candidates",
        skill_slug="stale-candidates",
        cron_expression="0 9 * * 1-5",
    )
    automation(
        org=org,
        owner=owner,
        name="Offer accepted alert",
        skill_slug="offer-accepted-alert",
        trigger_type="event",
        event_type="ats.offer.accepted",
    )
    sign_in(page, site, owner)
    page.goto(f"{site}/automations/")
    rows = page.locator("#automation-results tbody tr")
    expect(rows).to_have_count(4)
    assert_accessible(page, what="automations list")

    # A filter swaps the table in place and the address keeps it.
    page.get_by_label("Trigger").select_option("event")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("When a candidate accepts an offer")
    page.wait_for_url(re.compile(r"trigger=event"))
    page.get_by_label("Trigger").select_option("")
    expect(rows).to_have_count(4)
    page.get_by_label("Search by name").fill("recap")
    expect(rows).to_have_count(1)
    page.get_by_label("Search by name").fill("")
    expect(rows).to_have_count(4)

    # Inline pause and resume: the row changes where it is.
    weekly = _row(page, "Weekly pipeline report")
    weekly.get_by_role("button", name="Pause Weekly pipeline report").click()
    expect(weekly.locator(".status")).to_have_text("Paused")
    expect(weekly).to_contain_text("Paused by recruiter from the dashboard")
    assert Automation.objects.get(name="Weekly pipeline report").status == "paused"
    weekly.get_by_role("button", name="Resume Weekly pipeline report").click()
    expect(weekly.locator(".status")).to_have_text("Active")

    # Select two and pause them together.
    page.get_by_label("Select Daily sourcing recap").check()
    page.get_by_label("Select Stale candidates").check()
    page.get_by_label("With the selected automations").select_option("pause")
    page.get_by_role("button", name="Apply to selected").click()
    expect(page.locator("#bulk-outcome")).to_contain_text("Paused 2.")
    expect(_row(page, "Daily sourcing recap").locator(".status")).to_have_text("Paused")
    expect(_row(page, "Stale candidates").locator(".status")).to_have_text("Paused")
    expect(_row(page, "Weekly pipeline report").locator(".status")).to_have_text("Active")
    assert set(Automation.objects.filter(status="paused").values_list("name", flat=True)) == {
        "Daily sourcing recap",
        "Stale candidates",
    }
    assert_accessible(page, what="automations list after a bulk action")
    screenshot(page, "automations-list")


def test_empty_state_offers_the_templates_and_the_gallery(page, site):
    org = OrganizationFactory(name="Acme Talent")
    newcomer = member(org, username="newcomer")
    sign_in(page, site, newcomer)
    page.goto(f"{site}/automations/")
    empty = page.locator("#no-automations")
    expect(empty).to_contain_text("No automations yet")
    link = empty.get_by_role("link", name="Weekly pipeline report")
    expect(link).to_have_attribute("href", "/automations/new/?template=weekly-pipeline-report")
    assert_accessible(page, what="automations list, empty")

    page.get_by_role("link", name="Start from a template").click()
    page.wait_for_url(f"{site}/templates/")
    cards = page.locator(".template-card")
    expect(cards).to_have_count(7)
    expect(page.locator("#template-interview-briefing")).to_contain_text("Not available yet")
    use = page.locator("#template-offer-accepted-alert").get_by_role("link")
    expect(use).to_contain_text("Use this template")
    expect(use).to_have_attribute("href", "/automations/new/?template=offer-accepted-alert")
    assert_accessible(page, what="templates gallery")
    screenshot(page, "templates")
