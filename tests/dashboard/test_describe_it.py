"""The automations page's "Describe it" box: the card (htmx and without JavaScript), the help
for nonsense with its examples, Confirm creating the automation, Edit opening the builder
filled in, and hostile text."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from automations.drafts import automation_draft_create
from automations.models import Automation, AutomationDraft
from automations.plain_english import EXAMPLES
from delivery.models import DeliveryChannel
from tests.dashboard.access import ORG_PAGE, Case, check_case
from tests.factories import automation

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
DESCRIBE = "/automations/describe/"
WEEKLY = "Every Monday at 9am, send me a summary of my pipeline"


@pytest.fixture(autouse=True)
def _no_model(settings):
    # No key: nonsense is "not understood" by the grammar alone, never sent to a model.
    settings.ANTHROPIC_API_KEY = ""


def _draft(world, user="owner", text=WEEKLY):
    person = world.people[user]
    return automation_draft_create(org=world.org, user=person, text=text, time_zone="UTC")


@pytest.fixture
def world(world):
    world.rows["draft"] = _draft(world)
    return world


def _confirm_url(world):
    return reverse("dashboard:automation-draft-confirm", args=[world.rows["draft"].public_id])


def _automations(world):
    return sorted(Automation.objects.values_list("name", "owner__username"))


# Drafts are personal: only their own user may confirm one; an org admin's answer is the same
# 404 as for a draft that does not exist.
CONFIRM = {
    "owner": 302,
    "member": 404,
    "org_admin": 404,
    "outsider": 403,
    "other_org_admin": 404,
    "anonymous": 302,
}
CONFIRM_HTMX = {**CONFIRM, "owner": 200}
CASES = [
    Case(
        "automation-describe", "post", lambda w: DESCRIBE, ORG_PAGE, data=lambda w: {"text": WEEKLY}
    ),
    Case(
        "automation-describe",
        "post",
        lambda w: DESCRIBE,
        ORG_PAGE,
        data=lambda w: {"text": WEEKLY},
        htmx=True,
    ),
    Case("automation-draft-confirm", "post", _confirm_url, CONFIRM, state=_automations),
    Case(
        "automation-draft-confirm",
        "post",
        _confirm_url,
        CONFIRM_HTMX,
        state=_automations,
        htmx=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


# -- the box ----------------------------------------------------------------------------------


def test_the_box_is_on_the_list_and_in_its_empty_state(world, client):
    client.force_login(world.people["owner"])
    empty = client.get("/automations/").content.decode()
    assert 'id="no-automations"' in empty and 'id="describe-text"' in empty
    automation(org=world.org, owner=world.people["owner"], name="Weekly")
    listed = client.get("/automations/").content.decode()
    assert 'id="no-automations"' not in listed and listed.count('id="describe-text"') == 1


def test_htmx_answers_the_card_alone(world, client):
    client.force_login(world.people["owner"])
    response = client.post(DESCRIBE, {"text": WEEKLY}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and 'id="draft-card"' in body
    assert "Every Monday at 9:00 AM (America/New_York)" in body
    # The next three runs, in the user's zone (the org's, New York, for them).
    assert body.count("<li>Mon ") == 3 and "EST" in body
    assert "Run “Pipeline report”" in body and "Email to you (owner@example.test)" in body
    assert "Your plan allows it." in body and "Not needed" in body
    draft = AutomationDraft.objects.filter(user=world.people["owner"]).latest("created_at")
    assert reverse("dashboard:automation-draft-confirm", args=[draft.public_id]) in body
    assert f"/automations/new/?draft={draft.public_id}" in body
    assert Automation.objects.count() == 0  # nothing is saved without Confirm


def test_without_javascript_the_page_comes_back_with_the_card(world, client):
    client.force_login(world.people["owner"])
    response = client.post(DESCRIBE, {"text": WEEKLY})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" in body and 'id="draft-card"' in body and 'id="no-automations"' in body
    assert f">{WEEKLY}</textarea>" in body  # the box keeps the text


def test_nonsense_gets_the_help_with_examples_that_fill_the_box(world, client):
    client.force_login(world.people["owner"])
    before = AutomationDraft.objects.count()
    for headers in ({}, HTMX):
        response = client.post(DESCRIBE, {"text": "asdf qwerty"}, **headers)
        assert response.status_code == 200
        body = response.content.decode()
        assert 'id="draft-help"' in body and 'id="draft-card"' not in body
        for example in EXAMPLES:
            assert f'value="{example}" data-fill="#describe-text"' in body
    assert AutomationDraft.objects.count() == before


def test_the_help_says_what_was_understood(world, client):
    client.force_login(world.people["owner"])
    body = client.post(DESCRIBE, {"text": "every monday at 9am"}, **HTMX).content.decode()
    assert "What should it run?" in body and "Trigger: Every Monday at 9:00 AM" in body


def test_plan_and_approval_are_on_the_card(world, client):
    org = world.org
    org.plan, org.approval_policy = "free", "all"
    org.save()
    client.force_login(world.people["owner"])
    text = "Check for new applicants every 15 minutes and tell me in the app"
    body = client.post(DESCRIBE, {"text": text}, **HTMX).content.decode()
    assert 'id="draft-plan"' in body and "at most once a day" in body
    assert 'id="draft-approval"' in body and "requires approval" in body
    assert ">Confirm</button>" not in body  # the plan refuses it: only Edit


# -- confirm and edit -------------------------------------------------------------------------


def test_confirm_creates_it_and_redirects_to_the_list_with_a_message(world, client):
    client.force_login(world.people["owner"])
    response = client.post(_confirm_url(world), follow=True)
    assert response.redirect_chain[-1] == ("/automations/", 302)
    made = Automation.objects.get()
    assert made.owner == world.people["owner"] and made.cron_expression == "0 9 * * 1"
    body = response.content.decode()
    assert escape(f"Created “{made.name}”") in body
    # Twice (a double click): the same automation, no second one.
    assert client.post(_confirm_url(world)).status_code == 302
    assert Automation.objects.count() == 1


def test_htmx_confirm_redirects_the_page(world, client):
    client.force_login(world.people["owner"])
    response = client.post(_confirm_url(world), **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == "/automations/"
    assert Automation.objects.count() == 1


def test_a_refused_confirm_shows_the_card_with_the_reason(world, client):
    owner = world.people["owner"]
    card = _draft(world, text="Every Monday at 9am send me a pipeline summary on Slack")
    client.force_login(owner)
    url = reverse("dashboard:automation-draft-confirm", args=[card.public_id])
    response = client.post(url, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert 'id="draft-error"' in body and "no Slack channel" in body and "Edit" in body
    assert 'id="draft-card"' in body
    response = client.post(url)
    assert response.status_code == 422 and "<html" in response.content.decode()
    assert not Automation.objects.exists()


def test_edit_opens_the_builder_filled_in_from_the_draft(world, client):
    owner = world.people["owner"]
    slack = DeliveryChannel.objects.create(
        organization=world.org, owner=owner, kind="slack", name="Hiring", config={"url": "x"}
    )
    card = _draft(
        world, text="Every weekday at 8:30, post candidates not contacted in 10 days to Slack"
    )
    client.force_login(owner)
    body = client.get(f"/automations/new/?draft={card.public_id}").content.decode()
    assert 'name="cron_expression" id="id_cron_expression" value="30 8 * * 1-5"' in body
    assert 'value="weekdays" id="id_preset_1" checked' in body
    assert 'name="preset_time" value="08:30"' in body
    assert '<option value="stale-candidates" selected>' in body
    assert f'value="{slack.public_id}" checked' in body
    assert 'name="param_days" value="10"' in body
    # Someone else's draft opens a blank builder: nothing of it shows.
    client.force_login(world.people["member"])
    blank = client.get(f"/automations/new/?draft={card.public_id}").content.decode()
    assert "30 8 * * 1-5" not in blank and 'stale-candidates" selected' not in blank


def test_hostile_text_never_answers_500(world, client):
    client.force_login(world.people["owner"])
    for text in (
        "a\x00b",
        "x" * 5000,
        "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"),
        '"><script>alert(1)</script>{{ 7*7 }}',
        "",
    ):
        for headers in ({}, HTMX):
            response = client.post(DESCRIBE, {"text": text}, **headers)
            assert response.status_code == 200, (text[:20], response.status_code)
            assert "<script>alert(1)" not in response.content.decode()
    response = client.post(DESCRIBE, {"text": ["one", "two"]}, **HTMX)
    assert response.status_code == 200
    bad = client.post("/automations/drafts/not-a-uuid/confirm/")
    assert bad.status_code == 404


def test_a_new_webhook_channel_shows_its_signing_secret_once(world, client, settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    owner = world.people["owner"]
    card = _draft(world, text="Every day at 9am post a pipeline report to https://127.0.0.1/hook")
    client.force_login(owner)
    url = reverse("dashboard:automation-draft-confirm", args=[card.public_id])
    response = client.post(url)
    assert response.status_code == 200
    channel = DeliveryChannel.objects.get(owner=owner, kind="webhook")
    secret = channel.config["secret"]
    assert f'<code id="signing-secret">{secret}</code>' in response.content.decode()
    # Confirmed again, the same automation and no secret shown a second time.
    again = client.post(url)
    assert again.status_code == 302 and secret not in again.content.decode()
    assert Automation.objects.get().delivery_channels.get() == channel


def test_an_expired_draft_says_so_and_offers_only_edit(world, client):
    client.force_login(world.people["owner"])
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        response = client.post(_confirm_url(world), **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert "This draft expired; describe it again." in body
    assert ">Confirm</button>" not in body and "?draft=" in body
    assert not Automation.objects.exists()
