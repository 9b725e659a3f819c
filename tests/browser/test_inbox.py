"""Acceptance for the inbox: the header's badge goes up after a run delivers to the inbox
(a real worker runs it; the page is not reloaded), and down when the item is marked read;
axe on the inbox."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from automations.services import automation_run_now
from delivery.models import Notification
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import OrganizationFactory, automation, member

# The badge polls every 15 s while the page is visible (static/dashboard/app.js), and the
# worker may still be starting: wait for up to a few of its polls.
BADGE_WAIT_MS = 60_000


def test_the_badge_goes_up_after_a_run_and_down_when_read(page, site, worker):
    org = OrganizationFactory(name="Acme Talent")
    user = member(org, username="recruiter")
    auto = automation(
        org=org,
        owner=user,
        name="Monday pipeline",
        skill_slug="test-slow",
        params={"seconds": 0},
        channels=[{"kind": "in_app"}],
    )
    earlier = Notification.objects.create(
        organization=org,
        user=user,
        kind=Notification.Kind.ALERT,
        title="Channel “Old Slack channel” is failing",
        body_markdown="Slack answered 410: **no such hook**. Fix its URL, then send a test.\n",
        read_at=timezone.now() - timedelta(hours=1),
    )
    Notification.objects.filter(pk=earlier.pk).update(
        created_at=timezone.now() - timedelta(hours=3)
    )
    sign_in(page, site, user)
    page.goto(f"{site}/inbox/")
    badge = page.locator("#inbox-badge")
    expect(badge).to_have_class("badge empty")
    assert_accessible(page, what="the inbox, all read")

    automation_run_now(automation=auto, by=user)
    # No reload: the badge's own polling finds the new item.
    expect(badge).to_have_text(", 1 unread", timeout=BADGE_WAIT_MS)
    expect(badge).not_to_have_class("badge empty")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    item = page.locator("li.notification.unread")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Slow · Monday pipeline")
    expect(item).to_contain_text("Unread")
    expect(item.get_by_role("link", name="Open the run")).to_have_attribute(
        "href", f"/runs/{auto.runs.get().public_id}/"
    )
    assert_accessible(page, what="the inbox with an unread item")
    screenshot(page, "inbox")

    item.get_by_role("button", name="Mark read").click()
    expect(page.locator("li.notification.unread")).to_have_count(0)
    expect(badge).to_have_class("badge empty")
    assert Notification.objects.filter(user=user, read_at__isnull=True).count() == 0
