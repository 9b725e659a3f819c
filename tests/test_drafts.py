"""Plain-English drafts (automations/drafts.py): the card a person confirms, and Confirm
creating the automation through the services, once, for the draft's own user only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.http import Http404

from accounts.models import AuditEvent, Membership, Organization
from automations.drafts import (
    EXPIRED,
    DraftCard,
    automation_draft_builder_initial,
    automation_draft_confirm,
    automation_draft_confirm_with_secret,
    automation_draft_create,
)
from automations.maintenance import purge_expired_data
from automations.models import Automation, AutomationDraft
from automations.plain_english import NotUnderstood
from automations.scheduling import cron
from delivery.models import DeliveryChannel
from skills.models import Skill
from tests.factories import automation
from tests.llm_fake import draft_answer

pytestmark = pytest.mark.django_db

LA = "America/Los_Angeles"
WEEKLY = "Every Monday at 9am, send me a summary of my pipeline"
# A Wednesday.
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_model(settings):
    # No key: Claude's fallback answers None without a request (fake_llm sets its own key).
    settings.ANTHROPIC_API_KEY = ""


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _card(org, user, text=WEEKLY, zone=LA) -> DraftCard:
    card = automation_draft_create(org=org, user=user, text=text, time_zone=zone)
    assert isinstance(card, DraftCard), card
    return card


def _slack(org, user, name):
    return DeliveryChannel.objects.create(
        organization=org, owner=user, kind="slack", name=name, config={"url": "https://127.0.0.1/s"}
    )


# -- the card ---------------------------------------------------------------------------------


def test_the_card_says_the_trigger_the_next_three_runs_the_action_and_the_output(org, owner):
    card = _card(org, owner)
    assert card.trigger_words == "Every Monday at 9:00 AM (America/Los_Angeles)"
    # The next three runs are the cron library's, shown in the user's zone: Mondays 09:00.
    assert list(card.next_runs) == cron.fires("0 9 * * 1", LA, NOW, 3)
    assert [t.strftime("%a %Y-%m-%d %H:%M") for t in card.next_runs] == [
        "Mon 2026-03-09 09:00",
        "Mon 2026-03-16 09:00",
        "Mon 2026-03-23 09:00",
    ]
    assert all(t.tzinfo == ZoneInfo(LA) for t in card.next_runs)
    assert card.skill_slug == "pipeline-report" and card.skill_name == "Pipeline report"
    assert card.params_words and "7 (the default)" in card.params_words[0]
    assert card.output_words == f"Email to you ({owner.email})"
    assert card.plan_ok and not card.needs_approval and card.can_confirm
    # Stored for its user, and nothing else exists until Confirm.
    row = AutomationDraft.objects.get(public_id=card.public_id)
    assert (row.user, row.organization, row.text) == (owner, org, WEEKLY)
    assert row.draft["trigger"] == {"type": "cron", "cron": "0 9 * * 1", "timezone": LA}
    assert row.expires_at == NOW + timedelta(minutes=60)
    assert not Automation.objects.exists()


def test_next_runs_are_shown_in_the_users_zone_when_the_schedule_names_another(org, owner):
    card = _card(org, owner, "Every weekday at 8:30 London time, send me a pipeline summary")
    assert card.schedule_zone == "Europe/London"
    assert list(card.next_runs) == cron.fires("30 8 * * 1-5", "Europe/London", NOW, 3)
    assert card.next_runs[0].tzinfo == ZoneInfo(LA)
    assert card.next_runs[0].strftime("%H:%M") == "00:30"


def test_poll_event_and_relative_cards_say_when_in_words(org, owner):
    poll = _card(org, owner, "Check for new applicants every 15 minutes and tell me in the app")
    assert poll.next_runs == () and poll.runs_words == "Every 15 minutes"
    event = _card(org, owner, "When a candidate moves to Onsite, send me an interview prep pack")
    assert event.next_runs == () and event.trigger_words == "When a candidate moves to Onsite"
    relative = _card(org, owner, "30 minutes before each interview, brief me in the app")
    assert relative.next_runs == () and relative.trigger_words == "30 minutes before each interview"


def test_nonsense_is_not_understood_with_examples_and_nothing_is_stored(org, owner):
    answer = automation_draft_create(org=org, user=owner, text="asdf qwerty", time_zone=LA)
    assert isinstance(answer, NotUnderstood)
    assert answer.examples and WEEKLY in answer.examples
    hostile = automation_draft_create(org=org, user=owner, text="a\x00b" * 3000, time_zone=LA)
    assert isinstance(hostile, NotUnderstood) and "too long" in hostile.message
    assert not AutomationDraft.objects.exists()


def test_a_draft_the_validation_path_refuses_is_not_understood_naming_why(org, owner):
    Skill.objects.filter(slug="pipeline-report").update(active=False)
    answer = automation_draft_create(org=org, user=owner, text=WEEKLY, time_zone=LA)
    assert isinstance(answer, NotUnderstood)
    assert "cannot be set up" in answer.message and "switched off" in answer.message
    assert "Trigger: Every Monday at 9:00 AM (America/Los_Angeles)" in answer.understood
    assert not AutomationDraft.objects.exists()


def test_over_the_plans_frequency_the_card_says_so_and_confirm_is_refused(org, owner):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.FREE)
    org.refresh_from_db()
    card = _card(org, owner, "Check for new applicants every 15 minutes and tell me in the app")
    assert not card.plan_ok and not card.can_confirm
    assert "at most once a day" in card.plan_message
    with pytest.raises(ValidationError, match="at most once a day"):
        automation_draft_confirm(org=org, user=owner, draft_id=card.public_id)
    assert not Automation.objects.exists()


def test_over_the_plans_count_of_active_automations_the_card_says_so(org, owner):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.FREE)
    org.refresh_from_db()
    for n in range(5):
        automation(org=org, owner=owner, name=f"weekly {n}")
    card = _card(org, owner)
    assert not card.plan_ok and "allows 5 active automations" in card.plan_message
    with pytest.raises(ValidationError, match="allows 5 active"):
        automation_draft_confirm(org=org, user=owner, draft_id=card.public_id)
    assert Automation.objects.count() == 5


def test_a_member_sees_it_needs_approval_and_confirm_makes_it_wait(org, owner, org_admin):
    Organization.objects.filter(pk=org.pk).update(approval_policy="all")
    org.refresh_from_db()
    card = _card(org, owner)
    assert card.needs_approval and "requires approval" in card.approval_reason
    assert card.can_confirm
    made = automation_draft_confirm(org=org, user=owner, draft_id=card.public_id)
    assert made.status == Automation.Status.PENDING_APPROVAL and made.next_run_at is None
    admins = _card(org, org_admin)
    assert not admins.needs_approval


# -- confirm ----------------------------------------------------------------------------------


def test_confirm_creates_the_automation_once_through_the_services(org, owner):
    card = _card(org, owner)
    made = automation_draft_confirm(org=org, user=owner, draft_id=card.public_id)
    again = automation_draft_confirm(org=org, user=owner, draft_id=str(card.public_id))
    assert again.pk == made.pk and Automation.objects.count() == 1
    assert made.owner == owner and made.status == Automation.Status.ACTIVE
    assert (made.trigger_type, made.cron_expression, made.time_zone) == ("cron", "0 9 * * 1", LA)
    assert made.skill.slug == "pipeline-report"
    assert made.next_run_at == card.next_runs[0]
    assert made.name == card.name and made.name.startswith("Every Monday at 9:00 AM")
    # Audited as every create is, once.
    assert AuditEvent.objects.filter(action="automation.create").count() == 1
    row = AutomationDraft.objects.get(public_id=card.public_id)
    assert row.confirmed_automation == made


def test_another_users_draft_is_not_found_like_a_missing_one(org, owner, member, org_admin):
    card = _card(org, owner)
    missing = str(uuid.uuid4())
    with pytest.raises(Http404) as absent:
        automation_draft_confirm(org=org, user=owner, draft_id=missing)
    for someone in (member, org_admin):
        with pytest.raises(Http404) as refused:
            automation_draft_confirm(org=org, user=someone, draft_id=card.public_id)
        assert str(refused.value) == str(absent.value)
    with pytest.raises(Http404):
        automation_draft_confirm(org=org, user=owner, draft_id="not a uuid")
    assert not Automation.objects.exists()


def test_a_draft_is_not_found_in_another_org_of_its_user(org, other_org, owner):
    Membership.objects.create(user=owner, organization=other_org, role="member")
    card = _card(org, owner)
    with pytest.raises(Http404):
        automation_draft_confirm(org=other_org, user=owner, draft_id=card.public_id)


def test_an_expired_draft_is_refused_with_a_clear_error(org, owner):
    card = _card(org, owner)
    later = time_machine.travel(NOW + timedelta(minutes=61), tick=False)
    with later, pytest.raises(ValidationError) as refused:
        automation_draft_confirm(org=org, user=owner, draft_id=card.public_id)
    assert refused.value.messages == [EXPIRED]
    assert not Automation.objects.exists()


def test_expired_drafts_are_purged_confirmed_or_not(org, owner):
    old = _card(org, owner)
    automation_draft_confirm(org=org, user=owner, draft_id=old.public_id)
    with time_machine.travel(NOW + timedelta(minutes=50), tick=False):
        fresh = _card(org, owner)
    with time_machine.travel(NOW + timedelta(minutes=61), tick=False):
        assert purge_expired_data() >= 1
    assert list(AutomationDraft.objects.values_list("public_id", flat=True)) == [fresh.public_id]
    assert Automation.objects.count() == 1  # the confirmed automation stays


# -- channels ---------------------------------------------------------------------------------


def _channel_of(org, user, text):
    card = _card(org, user, text)
    made = automation_draft_confirm(org=org, user=user, draft_id=card.public_id)
    (channel,) = made.delivery_channels.all()
    return card, channel


def test_email_to_you_and_to_addresses_and_the_inbox(org, owner):
    _, mine = _channel_of(org, owner, WEEKLY)
    assert (mine.kind, mine.config) == ("email", {"to": []})  # the owner's own address
    card, theirs = _channel_of(
        org, owner, "Every Monday at 9am email ana@example.test a summary of my pipeline"
    )
    assert card.output_words == "Email to ana@example.test"
    assert (theirs.kind, theirs.config) == ("email", {"to": ["ana@example.test"]})
    _, inbox = _channel_of(org, owner, "Every Monday at 9am, pipeline summary in the app")
    assert inbox.kind == "in_app" and inbox.owner == owner


def test_slack_without_a_channel_is_refused_pointing_to_edit(org, owner, member):
    _slack(org, member, "hiring")  # a colleague's: not the owner's to use
    card = _card(org, owner, "Every Monday at 9am send me a pipeline summary on Slack")
    assert not card.can_confirm and "no Slack channel" in card.channel_problem
    assert "Edit" in card.channel_problem
    with pytest.raises(ValidationError, match="Edit"):
        automation_draft_confirm(org=org, user=owner, draft_id=card.public_id)
    assert not Automation.objects.exists()


def test_slack_uses_the_users_only_channel_or_the_one_named(org, owner):
    only = _slack(org, owner, "Team alerts")
    _, channel = _channel_of(org, owner, "Every Monday at 9am pipeline summary on Slack")
    assert channel == only
    hiring = _slack(org, owner, "#hiring")
    card = _card(org, owner, "Every Monday at 9am send me a pipeline summary on Slack")
    assert "2 Slack channels" in card.channel_problem
    _, channel = _channel_of(org, owner, "Every Monday at 9am, pipeline summary to #hiring")
    assert channel == hiring


def test_a_webhook_url_makes_a_new_channel_through_its_ssrf_checks(org, owner, settings):
    refused = _card(org, owner, "Every day at 9am post a pipeline report to https://10.0.0.5/h")
    assert not refused.can_confirm and "cannot be used" in refused.channel_problem
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    card = _card(org, owner, "Every day at 9am post a pipeline report to https://127.0.0.1/hook")
    assert card.can_confirm
    made, secret = automation_draft_confirm_with_secret(
        org=org, user=owner, draft_id=card.public_id
    )
    (channel,) = made.delivery_channels.all()
    assert channel.kind == "webhook" and channel.config["url"] == "https://127.0.0.1/hook"
    assert secret and channel.config["secret"] == secret
    # The same URL again reuses that channel.
    _, again = _channel_of(
        org, owner, "Every day at 5pm post a pipeline report to https://127.0.0.1/hook"
    )
    assert again == channel


def test_an_outside_destination_needs_approval_under_the_external_policy(org, owner):
    Organization.objects.filter(pk=org.pk).update(approval_policy="external")
    org.refresh_from_db()
    assert not _card(org, owner).needs_approval
    # Not made yet, a Slack destination still counts as outside.
    card = _card(org, owner, "Every Monday at 9am send me a pipeline summary on Slack")
    assert card.needs_approval and "Slack" in card.approval_reason


# -- edit -------------------------------------------------------------------------------------


def test_the_builder_initial_fields_say_the_draft(org, owner):
    only = _slack(org, owner, "Team alerts")
    card = _card(org, owner, "Every weekday at 8:30, post stale candidates (7 days) to Slack")
    fields = automation_draft_builder_initial(AutomationDraft.objects.get(public_id=card.public_id))
    assert fields["trigger_type"] == "cron" and fields["cron_expression"] == "30 8 * * 1-5"
    assert fields["time_zone"] == LA and fields["skill"] == "stale-candidates"
    assert fields["channels"] == [str(only.public_id)]
    relative = _card(org, owner, "30 minutes before each interview, brief me in the app")
    fields = automation_draft_builder_initial(
        AutomationDraft.objects.get(public_id=relative.public_id)
    )
    assert (fields["offset_amount"], fields["offset_side"]) == (30, "before")


def test_a_non_member_cannot_describe(org, outsider):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        automation_draft_create(org=org, user=outsider, text=WEEKLY, time_zone=LA)
    assert not AutomationDraft.objects.exists()


# -- Claude's fallback --------------------------------------------------------------------------

VAGUE = "do the usual thing for me, you know the one"  # the grammar cannot read it


def test_the_grammar_runs_first_and_costs_nothing(org, owner, fake_llm):
    _card(org, owner)
    assert fake_llm.requests == []


def test_claudes_draft_of_what_the_grammar_could_not_read_gets_a_card(org, owner, fake_llm):
    recruiting = _slack(org, owner, "recruiting")
    _slack(org, owner, "alerts")
    fake_llm.reply_tool_use("draft_automation", draft_answer())
    card = _card(org, owner, VAGUE)
    assert len(fake_llm.requests) == 1
    assert list(card.next_runs) == cron.fires("0 9 1-7 * 1", "Europe/London", NOW, 3)
    assert card.output_words == "Slack: “recruiting”" and card.can_confirm
    made = automation_draft_confirm(org=org, user=owner, draft_id=card.public_id)
    assert made.params == {"new_days": 14} and list(made.delivery_channels.all()) == [recruiting]


def test_claudes_draft_meets_the_same_plan_rule(org, owner, fake_llm):
    Organization.objects.filter(pk=org.pk).update(plan=Organization.Plan.FREE)
    org.refresh_from_db()
    fake_llm.reply_tool_use(
        "draft_automation", draft_answer(cron="*/5 * * * *", channel="in_app", channel_name="")
    )
    card = _card(org, owner, VAGUE)
    assert not card.plan_ok and "at most once a day" in card.plan_message
