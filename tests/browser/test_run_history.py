"""The run history in a real browser: open a run and its delivery attempts, then bulk-rerun
the failed runs and watch the batch's counts move as a real worker runs them."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from automations.firing import run_fire
from automations.models import AutomationRun
from automations.run_keys import manual_key
from delivery.models import Delivery, DeliveryAttempt
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import OrganizationFactory, automation, member
from webhooks.sandbox_seed import seed_sandbox


def failed_run(auto, *, minutes_ago: int, **fields) -> AutomationRun:
    run, _ = run_fire(
        automation=auto,
        key=manual_key(),
        triggered_by=AutomationRun.TriggeredBy.SCHEDULE,
        trigger_data={"stage": {"from": "Phone screen", "to": "Onsite"}},
        send=False,
    )
    at = timezone.now() - timedelta(minutes=minutes_ago)
    AutomationRun.objects.filter(pk=run.pk).update(
        status="failed",
        attempt=1,
        created_at=at,
        scheduled_for=at,
        started_at=at + timedelta(seconds=2),
        finished_at=at + timedelta(seconds=3),
        duration_ms=1200,
        **fields,
    )
    return AutomationRun.objects.get(pk=run.pk)


def test_open_a_run_and_bulk_rerun_the_failed_ones(page, site, worker):
    org = OrganizationFactory(name="Acme Talent")
    seed_sandbox(org, now=timezone.now())
    owner = member(org, username="recruiter")
    good = automation(org=org, owner=owner, name="Weekly pipeline", channels=[{"kind": "in_app"}])
    flaky = automation(
        org=org, owner=owner, name="Flaky ATS report", skill_slug="test-fails", retry_limit=0
    )
    inbox = good.delivery_channels.get()
    opened = failed_run(
        good,
        minutes_ago=20,
        error_code="delivery_failed",
        error_message="No channel accepted the result (Inbox: the inbox was unavailable).",
        deliveries=[{"channel": inbox.name, "kind": "in_app", "status": "failed"}],
    )
    delivery = Delivery.objects.create(run=opened, channel=inbox, status="failed", attempts=2)
    for n, (code, error) in enumerate([(503, "Service Unavailable"), (502, "Bad Gateway")]):
        DeliveryAttempt.objects.create(
            delivery=delivery,
            started_at=opened.started_at + timedelta(seconds=n * 60),
            duration_ms=140 + n,
            ok=False,
            http_status=code,
            error=error,
        )
    failed_run(good, minutes_ago=30, error_code="ats_unavailable")
    failed_run(flaky, minutes_ago=40, error_code="ats_unavailable")
    for n in range(3):  # and some that went well, which the rerun leaves alone
        run = failed_run(good, minutes_ago=50 + n)
        AutomationRun.objects.filter(pk=run.pk).update(status="completed", error_code="")

    sign_in(page, site, owner)
    page.goto(f"{site}/runs/")
    expect(page.get_by_role("heading", name="Runs", exact=True)).to_be_visible()
    expect(page.locator("#run-results tbody tr")).to_have_count(6)
    assert_accessible(page, what="run history")
    screenshot(page, "runs")

    # Open the run and its delivery attempts.
    page.get_by_role("row").filter(has_text="delivery_failed").get_by_role("link").first.click()
    page.wait_for_url(f"{site}/runs/{opened.public_id}/")
    attempts = page.get_by_role("table", name=f"Attempts to deliver to {inbox.name}")
    expect(attempts.get_by_role("row")).to_have_count(3)
    expect(attempts).to_contain_text("503")
    expect(attempts).to_contain_text("Bad Gateway")
    expect(page.get_by_text("Onsite")).to_be_visible()
    assert_accessible(page, what="run page")
    screenshot(page, "run-page")

    # Filter to the failed runs (htmx swaps the table) and rerun them all.
    page.goto(f"{site}/runs/")
    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Show runs").click()
    page.wait_for_url(lambda url: "status=failed" in url)
    expect(page.locator("#run-results tbody tr")).to_have_count(3)
    page.get_by_label("Name this rerun").fill("This morning's failures")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Rerun all 3 matching").click()
    page.wait_for_url(lambda url: "/runs/reruns/" in url)
    expect(page.get_by_role("heading", name="Rerun: This morning's failures")).to_be_visible()
    assert asked == ["Rerun 3 runs now?"]
    # The worker runs them: the pipeline reports complete, the flaky one fails again, and
    # the counts (polled every 2 s) follow without a reload.
    expect(page.locator('[data-count="done"]')).to_have_text("2", timeout=90_000)
    expect(page.locator('[data-count="failed"]')).to_have_text("1", timeout=90_000)
    expect(page.locator('[data-count="queued"]')).to_have_text("0")
    expect(page.get_by_role("heading", name="Progress: finished")).to_be_visible()
    assert AutomationRun.objects.filter(rerun_of__isnull=False).count() == 3
    assert_accessible(page, what="rerun batch page")
    screenshot(page, "bulk-rerun")
