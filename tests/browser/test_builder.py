"""The builder in a real browser (acceptance): build a cron automation from a preset and
watch the preview follow the fields, test it and read the output, save, run it now with a
real worker and follow the link to the run; axe on the new and the edit page."""

from __future__ import annotations

from playwright.sync_api import expect

from automations.models import Automation, AutomationRun
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import OrganizationFactory, member, skill
from tests.live import wait_for


def test_build_preview_test_save_and_run_now(page, site, worker):
    org = OrganizationFactory(name="Acme Talent", time_zone="America/New_York")
    user = member(org, username="recruiter")
    # Both skills the test picks exist before any page lists them (a transactional test
    # that ran before in this worker may have emptied the catalog).
    skill("pipeline-report")
    skill("stale-candidates")
    sign_in(page, site, user)

    page.goto(f"{site}/automations/new/")
    assert_accessible(page, what="the builder (new)")
    page.get_by_label("Name", exact=True).fill("Morning pipeline")
    page.get_by_label("Skill").select_option("pipeline-report")
    expect(page.locator("#params")).to_contain_text("What counts as new, in days.")

    preview = page.locator("#preview")
    page.get_by_label("Daily at").check()
    page.get_by_label("At (HH:MM)").fill("07:45")
    expect(preview).to_contain_text("At 07:45 every day (America/New_York)")
    expect(preview.locator("tbody tr")).to_have_count(5)
    page.get_by_label("Weekly on").check()
    page.get_by_label("Day of the week").select_option("3")
    expect(preview).to_contain_text("At 07:45 on Wednesday")
    page.get_by_label("Time zone").fill("Europe/Paris")
    expect(preview).to_contain_text("(Europe/Paris)")
    expect(preview).to_contain_text("For you (America/New_York)")
    screenshot(page, "builder")

    page.get_by_role("button", name="Test without saving").click()
    output = page.locator("#test-output")
    expect(output).to_contain_text("Test result")
    expect(output).to_contain_text("Nothing was saved or sent.")
    assert not Automation.objects.exists()
    screenshot(page, "builder-test-output")

    page.get_by_role("button", name="Create automation").click()
    expect(page.locator("#flash")).to_contain_text("Saved “Morning pipeline”")
    made = Automation.objects.get(name="Morning pipeline")
    assert (made.cron_expression, made.time_zone) == ("45 7 * * 3", "Europe/Paris")
    expect(page.get_by_role("heading", level=1)).to_have_text("Morning pipeline")
    assert_accessible(page, what="the builder (edit)")
    # The params follow the skill on the edit page too (an unsaved change).
    page.get_by_label("Skill").select_option("stale-candidates")
    expect(page.locator("#params")).to_contain_text("Idle for more than this many days.")
    page.get_by_label("Skill").select_option("pipeline-report")
    expect(page.get_by_label("New days")).to_have_value("7")

    page.get_by_role("button", name="Run now").click()
    link = page.get_by_role("link", name="Open the run")
    expect(link).to_be_visible()
    run = AutomationRun.objects.get(automation=made, triggered_by="manual")
    wait_for(
        lambda: AutomationRun.objects.filter(pk=run.pk, status="completed").exists(),
        timeout=60,
        what="the worker to complete the manual run",
        stack=worker,
    )
    link.click()
    page.wait_for_url(f"{site}/runs/{run.public_id}/")
    expect(page.locator("body")).to_contain_text("Completed")

    # The run is in the automation's history, and the automation pauses and resumes from
    # its own page.
    page.goto(f"{site}/automations/{made.public_id}/")
    tabs = page.get_by_role("navigation", name="This automation")
    tabs.get_by_role("link", name="Runs", exact=True).click()
    page.wait_for_url(f"{site}/automations/{made.public_id}/runs/")
    row = page.locator("tr", has_text="Run now")
    expect(row).to_contain_text("Completed")
    page.goto(f"{site}/automations/{made.public_id}/")
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#flash")).to_contain_text("Paused")
    made.refresh_from_db()
    assert made.status == "paused"
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("#flash")).to_contain_text("Resumed")
    made.refresh_from_db()
    assert made.status == "active"
