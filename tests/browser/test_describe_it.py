"""'Describe it' in a real browser: type what you want, read the card (the trigger and its
next three runs), confirm, and find the automation in the list with the right next run;
nonsense gets the help, whose examples fill the box."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from automations.models import Automation
from automations.plain_english import EXAMPLES
from automations.scheduling import cron
from tests.browser.conftest import assert_accessible, screenshot, sign_in
from tests.factories import OrganizationFactory, member, skill

LA = "America/Los_Angeles"
WEEKLY = "Every Monday at 9am, send me a summary of my pipeline"
FORMAT = "%a %-d %b %Y, %H:%M %Z"  # the dashboard's (automations/templatetags/dashboard.py)


@pytest.fixture(autouse=True)
def _no_model(settings):
    # No key: nonsense is "not understood" by the grammar alone, never sent to a model.
    settings.ANTHROPIC_API_KEY = ""


def _describe(page, text: str) -> None:
    page.get_by_label("Say what should happen and when, in your own words").fill(text)
    page.get_by_role("button", name="Describe it", exact=True).click()


def test_describe_confirm_and_find_it_in_the_list(page, site):
    skill("pipeline-report")  # the catalog, should a transactional test's flush have emptied it
    org = OrganizationFactory(name="Acme Talent", time_zone=LA)
    recruiter = member(org, username="recruiter")
    sign_in(page, site, recruiter)
    page.goto(f"{site}/automations/")
    expect(page.locator("#no-automations")).to_be_visible()

    _describe(page, WEEKLY)
    card = page.locator("#draft-card")
    expect(card).to_contain_text("Every Monday at 9:00 AM (America/Los_Angeles)")
    expect(card).to_contain_text("Run “Pipeline report”")
    expect(card).to_contain_text("Email to you (recruiter@example.test)")
    # The next three runs: next Monday 09:00 in the recruiter's zone, and the two after.
    fires = cron.fires("0 9 * * 1", LA, timezone.now(), 3)
    wanted = [f.astimezone(ZoneInfo(LA)).strftime(FORMAT) for f in fires]
    expect(card.locator(".next-runs li")).to_have_text(wanted)
    assert all(w.startswith("Mon ") and ", 09:00 P" in w for w in wanted)
    assert not Automation.objects.exists()  # nothing saved before Confirm
    assert_accessible(page, what="the draft's confirmation card")
    screenshot(page, "describe-it-card")

    card.get_by_role("button", name="Confirm").click()
    expect(page.locator(".msg.success")).to_contain_text("Created “")
    made = Automation.objects.get()
    assert (made.cron_expression, made.time_zone, made.owner) == ("0 9 * * 1", LA, recruiter)
    expect(page.locator(".msg.success")).to_contain_text(f"Created “{made.name}”")
    row = page.locator("#automation-results tbody tr").filter(has_text=made.name)
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text(wanted[0])  # its next run, as the card said


def test_nonsense_gets_the_help_and_an_example_fills_the_box(page, site):
    skill("stale-candidates")
    org = OrganizationFactory(name="Acme Talent", time_zone=LA)
    sign_in(page, site, member(org, username="recruiter"))
    page.goto(f"{site}/automations/")
    _describe(page, "asdf qwerty")
    help_ = page.locator("#draft-help")
    expect(help_).to_contain_text("I could not tell when this should run")
    expect(help_.get_by_role("button")).to_have_count(len(EXAMPLES))
    assert_accessible(page, what="the draft's help")
    help_.get_by_role("button", name=EXAMPLES[1]).click()
    box = page.get_by_label("Say what should happen and when, in your own words")
    expect(box).to_have_value(EXAMPLES[1])
    expect(box).to_be_focused()
    # The example, described, gets its card.
    page.get_by_role("button", name="Describe it", exact=True).click()
    expect(page.locator("#draft-card")).to_contain_text("Stale candidates")
