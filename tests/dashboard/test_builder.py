"""The builder (automations/dashboard/builder.py): create and edit through the validation
path, errors beside their fields, the live preview, the params form from a skill's schema,
adding a channel inline, test (saved and draft), run now and delete."""

from __future__ import annotations

import sys
import types
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from automations.models import Automation, AutomationRun
from delivery.channel_services import channel_create
from delivery.models import Delivery, DeliveryChannel, Notification
from skills.models import Skill
from tests.dashboard.access import ORG_PAGE, OWNED_OBJECT, Case, check_case
from tests.factories import automation

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def form_data(**overrides) -> dict:
    """The builder's inputs for a daily 08:30 pipeline report."""
    data = {
        "name": "Morning pipeline",
        "trigger_type": "cron",
        "preset": "daily",
        "preset_time": "08:30",
        "preset_weekday": "1",
        "preset_day": "1",
        "preset_minutes": "15",
        "cron_expression": "",
        "time_zone": "",
        "event_type": "ats.candidate.stage_changed",
        "skill": "pipeline-report",
        "param_new_days": "7",
        "catch_up": "latest",
        "retry_limit": "3",
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def rows(world):
    world.rows["automation"] = automation(
        org=world.org, owner=world.people["owner"], name="Owner's report"
    )
    world.rows["channel"], _ = channel_create(
        org=world.org, owner=world.people["owner"], kind="in_app", name="Owner-only channel"
    )
    return world.rows


def _auto(w) -> Automation:
    return w.rows["automation"]


def _edit_url(w) -> str:
    return reverse("dashboard:automation-edit", args=[_auto(w).public_id])


def _state_of_automation(w):
    a = Automation.objects.filter(pk=_auto(w).pk).values_list("name", "cron_expression").first()
    return a


def _runs(w) -> int:
    return AutomationRun.objects.filter(automation=_auto(w)).count()


CREATED = {**ORG_PAGE, "owner": 302, "member": 302, "org_admin": 302, "other_org_admin": 302}
CHANGED = {**OWNED_OBJECT, "owner": 302, "org_admin": 302}
CASES = [
    Case(
        "automation-new",
        "get",
        lambda w: reverse("dashboard:automation-new"),
        ORG_PAGE,
        # The picker lists the user's own channels: not a colleague's, not another org's.
        hidden_from={"member": ["Owner-only channel"], "other_org_admin": ["Owner-only channel"]},
    ),
    Case(
        "automation-new",
        "post",
        lambda w: reverse("dashboard:automation-new"),
        CREATED,
        data=lambda w: form_data(),
        state=lambda w: Automation.objects.count(),
    ),
    Case(
        "automation-edit",
        "get",
        _edit_url,
        OWNED_OBJECT,
        hidden_from={"member": ["Owner's report"], "other_org_admin": ["Owner's report"]},
    ),
    Case(
        "automation-edit",
        "post",
        _edit_url,
        CHANGED,
        data=lambda w: form_data(name="Renamed"),
        state=_state_of_automation,
    ),
    Case(
        "automation-preview",
        "get",
        lambda w: reverse("dashboard:automation-preview"),
        ORG_PAGE,
        data=lambda w: form_data(),
        htmx=True,
    ),
    Case(
        "automation-preview",
        "post",
        lambda w: reverse("dashboard:automation-preview"),
        ORG_PAGE,
        data=lambda w: form_data(),
        htmx=True,
    ),
    Case(
        "automation-params",
        "get",
        lambda w: reverse("dashboard:automation-params"),
        ORG_PAGE,
        data=lambda w: {"skill": "stale-candidates"},
        htmx=True,
    ),
    Case(
        "automation-channel-add",
        "post",
        lambda w: reverse("dashboard:automation-channel-add"),
        ORG_PAGE,
        data=lambda w: form_data(new_channel_kind="in_app", new_channel_name="Side inbox"),
        state=lambda w: DeliveryChannel.objects.count(),
        htmx=True,
    ),
    Case(
        "automation-test-draft",
        "post",
        lambda w: reverse("dashboard:automation-test-draft"),
        ORG_PAGE,
        data=lambda w: form_data(),
        state=lambda w: (AutomationRun.objects.count(), Automation.objects.count()),
        htmx=True,
    ),
    Case(
        "automation-test",
        "post",
        lambda w: reverse("dashboard:automation-test", args=[_auto(w).public_id]),
        OWNED_OBJECT,
        state=_runs,
        htmx=True,
    ),
    Case(
        "automation-run-now",
        "post",
        lambda w: reverse("dashboard:automation-run-now", args=[_auto(w).public_id]),
        CHANGED,
        state=_runs,
    ),
    Case(
        "automation-delete",
        "post",
        lambda w: reverse("dashboard:automation-delete", args=[_auto(w).public_id]),
        CHANGED,
        state=lambda w: Automation.objects.filter(pk=_auto(w).pk).exists(),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


# -- create and edit ---------------------------------------------------------------------------


@pytest.fixture
def owner_client(client, world):
    client.force_login(world.people["owner"])
    return client


@pytest.mark.parametrize(
    ("inputs", "expression"),
    [
        ({"preset": "daily", "preset_time": "08:30"}, "30 8 * * *"),
        ({"preset": "weekdays", "preset_time": "9:05"}, "5 9 * * 1-5"),
        ({"preset": "weekly", "preset_time": "17:00", "preset_weekday": "5"}, "0 17 * * 5"),
        ({"preset": "monthly", "preset_time": "07:15", "preset_day": "28"}, "15 7 28 * *"),
        ({"preset": "minutes", "preset_minutes": "15"}, "*/15 * * * *"),
        ({"preset": "cron", "cron_expression": "0 6 * * 0"}, "0 6 * * 0"),
    ],
)
def test_create_from_a_preset(owner_client, world, inputs, expression):
    response = owner_client.post(reverse("dashboard:automation-new"), form_data(**inputs))
    assert response.status_code == 302, response.content.decode()[:3000]
    made = Automation.objects.get(name="Morning pipeline")
    assert response["Location"] == reverse("dashboard:automation-edit", args=[made.public_id])
    assert made.cron_expression == expression
    assert made.time_zone == world.org.time_zone  # the org's, for a new one
    assert made.owner == world.people["owner"] and made.params == {"new_days": 7}
    assert [c.kind for c in made.delivery_channels.all()] == ["in_app"]  # none picked: inbox
    page = owner_client.get(response["Location"]).content.decode()
    assert "Saved “Morning pipeline”" in page


def test_the_edit_page_shows_the_saved_fields_and_an_edit_keeps_the_rest(owner_client, world):
    auto = world.rows["automation"]  # "0 9 * * 1" (weekly, Monday 09:00)
    channel, _ = channel_create(
        org=world.org, owner=world.people["owner"], kind="email", name="Team", config={"to": []}
    )
    owner_client.post(
        reverse("dashboard:automation-edit", args=[auto.public_id]),
        form_data(
            name="Owner's report",
            preset="weekly",
            preset_time="09:00",
            preset_weekday="1",
            param_new_days="21",
            channels=[str(channel.public_id)],
            time_zone="Europe/Paris",
        ),
    )
    page = owner_client.get(reverse("dashboard:automation-edit", args=[auto.public_id]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'value="weekly" id="id_preset_2" checked' in html or (
        'id="id_preset_2"' in html and "checked" in html
    )
    assert 'name="preset_time" value="09:00"' in html
    assert 'name="param_new_days" value="21"' in html
    assert f'value="{channel.public_id}" checked' in html
    assert 'value="Europe/Paris"' in html
    # Rename only: the schedule, params, zone and channels stay.
    response = owner_client.post(
        reverse("dashboard:automation-edit", args=[auto.public_id]),
        form_data(
            name="Renamed",
            preset="weekly",
            preset_time="09:00",
            preset_weekday="1",
            param_new_days="21",
            channels=[str(channel.public_id)],
            time_zone="Europe/Paris",
        ),
    )
    assert response.status_code == 302
    auto.refresh_from_db()
    assert (auto.name, auto.cron_expression, auto.time_zone) == (
        "Renamed",
        "0 9 * * 1",
        "Europe/Paris",
    )
    assert auto.params == {"new_days": 21}
    assert list(auto.delivery_channels.all()) == [channel]


def test_errors_show_beside_their_fields_with_422(owner_client, world):
    before = Automation.objects.count()
    bad_cron = owner_client.post(
        reverse("dashboard:automation-new"),
        form_data(preset="cron", cron_expression="61 * * * *", name=""),
    )
    html = bad_cron.content.decode()
    assert bad_cron.status_code == 422
    assert 'id="schedule-errors"' in html and "is not a valid cron expression" in html
    assert 'id="id_name_error"' in html and "Give the automation a name." in html
    bad_time = owner_client.post(reverse("dashboard:automation-new"), form_data(preset_time="9am"))
    assert bad_time.status_code == 422
    assert "Enter a time as HH:MM" in bad_time.content.decode()
    bad_param = owner_client.post(
        reverse("dashboard:automation-new"), form_data(param_new_days="0")
    )
    html = bad_param.content.decode()
    assert bad_param.status_code == 422
    assert 'id="id_param_new_days_error"' in html and "less than the minimum of 1" in html
    not_a_number = owner_client.post(
        reverse("dashboard:automation-new"), form_data(param_new_days="many")
    )
    assert "is not of type" in not_a_number.content.decode()
    assert Automation.objects.count() == before


def test_a_free_plan_refuses_a_minute_schedule_beside_the_schedule(owner_client, world):
    world.org.plan = "free"
    world.org.save()
    page = owner_client.get(reverse("dashboard:automation-new")).content.decode()
    assert "Pro plan only" in page
    response = owner_client.post(
        reverse("dashboard:automation-new"), form_data(preset="minutes", preset_minutes="5")
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'id="schedule-errors"' in html and "at most once a day" in html
    assert not Automation.objects.filter(name="Morning pipeline").exists()
    # And the preview says so before saving.
    preview = owner_client.post(
        reverse("dashboard:automation-preview"),
        form_data(preset="minutes", preset_minutes="5"),
        **HX,
    ).content.decode()
    assert "at most once a day" in preview
    assert "Free plan: 1 of 5 active." in preview


def test_a_template_prefills_the_form(owner_client, monkeypatch):
    # The list helper's automations.templates_catalog, stood in for here only.
    stand_in = types.ModuleType("automations.templates_catalog")
    stand_in.template_get = lambda key: (
        {
            "key": "stale",
            "title": "Stale candidates weekly",
            "description": "Who is stuck.",
            "fields": {
                "name": "Stale check",
                "skill": "stale-candidates",
                "cron_expression": "0 8 * * 1",
                "params": {"days": 30},
            },
        }
        if key == "stale"
        else None
    )
    monkeypatch.setitem(sys.modules, "automations.templates_catalog", stand_in)
    html = owner_client.get(reverse("dashboard:automation-new") + "?template=stale").content
    html = html.decode()
    assert "Stale candidates weekly" in html and 'value="Stale check"' in html
    assert 'name="param_days" value="30"' in html
    assert 'value="weekly"' in html and 'name="preset_time" value="08:00"' in html
    unknown = owner_client.get(reverse("dashboard:automation-new") + "?template=nope")
    assert unknown.status_code == 200


# -- preview -----------------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 3, 6, 12, tzinfo=UTC), tick=False)
def test_the_preview_shows_five_runs_in_both_zones_and_the_dst_note(owner_client, world):
    from accounts.profile import profile_update

    profile_update(user=world.people["owner"], time_zone="Europe/London")
    response = owner_client.post(
        reverse("dashboard:automation-preview"),
        form_data(preset_time="02:30", time_zone="America/New_York"),
        **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="preview"')
    assert "At 02:30 every day (America/New_York)" in html
    assert html.count("<tr><td>") == 5
    assert "For you (Europe/London)" in html
    assert "Runs at 03:00 because 02:30 does not exist on Sun 8 Mar" in html
    assert "runs once per local day" in html
    assert "Sun 8 Mar 2026, 03:00 EDT" in html and "Sun 8 Mar 2026, 07:00 GMT" in html


@time_machine.travel(datetime(2026, 10, 30, 12, tzinfo=UTC), tick=False)
def test_the_preview_notes_a_repeated_hour(owner_client):
    html = owner_client.post(
        reverse("dashboard:automation-preview"),
        form_data(preset_time="01:30", time_zone="America/New_York"),
        **HX,
    ).content.decode()
    assert "Runs once, at the first 01:30" in html


def test_the_preview_of_other_triggers_and_bad_input(owner_client):
    url = reverse("dashboard:automation-preview")
    poll = owner_client.post(url, form_data(trigger_type="poll", poll_interval_seconds="900"), **HX)
    assert "Every 15 minutes from when it is saved." in poll.content.decode()
    rel = owner_client.post(
        url, form_data(trigger_type="relative", offset_amount="30", offset_side="before"), **HX
    )
    assert "30 minutes before each interview" in rel.content.decode()
    event = owner_client.post(
        url,
        form_data(
            trigger_type="event",
            event_type="ats.candidate.stage_changed",
            filter_field_0="stage.to",
            filter_op_0="equals",
            filter_value_0="Onsite",
        ),
        **HX,
    )
    assert (
        "When a candidate moves stage, if stage.to is &#x27;Onsite&#x27;" in event.content.decode()
    )
    bad = owner_client.post(url, form_data(preset="cron", cron_expression="nope"), **HX)
    assert bad.status_code == 200 and "cron expression has 5 fields" in bad.content.decode()
    # Without htmx the whole page comes back with the preview filled in.
    page = owner_client.post(url, form_data())
    assert "<h1>New automation</h1>" in page.content.decode()


def test_the_preview_says_when_a_new_one_would_need_approval(owner_client, world):
    world.org.approval_policy = "all"
    world.org.save()
    html = owner_client.post(
        reverse("dashboard:automation-preview"), form_data(), **HX
    ).content.decode()
    assert "would need an admin&#x27;s approval" in html


# -- params from the schema --------------------------------------------------------------------


def test_the_params_form_is_generated_from_the_skill_schema(owner_client):
    Skill.objects.create(
        slug="every-kind",
        name="Every kind",
        description="All the schema types.",
        mode="deterministic",
        params_schema={
            "type": "object",
            "properties": {
                "days": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3},
                "ratio": {"type": "number", "description": "A share."},
                "label": {"type": "string"},
                "loud": {"type": "boolean", "default": True},
                "tone": {"type": "string", "enum": ["warm", "formal"], "default": "warm"},
                "jobs": {"type": "array", "items": {"type": "string"}},
            },
        },
    )
    response = owner_client.get(
        reverse("dashboard:automation-params"), {"skill": "every-kind"}, **HX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="params"')
    assert 'name="param_days" value="3"' in html and "From 1 to 9. Default: 3." in html
    assert 'name="param_ratio"' in html and "A share." in html
    assert 'type="checkbox" id="id_param_loud" name="param_loud" value="1" checked' in html
    assert '<option value="formal">formal</option>' in html
    assert '<textarea id="id_param_jobs"' in html and "One per line." in html

    from automations.dashboard.builder_forms import params_from_form

    skill = Skill.objects.get(slug="every-kind")
    assert params_from_form(
        skill,
        {"param_days": "4", "param_ratio": "0.5", "param_label": " x ", "param_jobs": "a\nb, c"},
    ) == {"days": 4, "ratio": 0.5, "label": "x", "loud": False, "jobs": ["a", "b", "c"]}
    none = owner_client.get(reverse("dashboard:automation-params"), {"skill": "nope"}, **HX)
    assert "Choose a skill" in none.content.decode()


# -- channels ----------------------------------------------------------------------------------


def test_a_channel_added_inline_is_ticked_and_a_webhook_secret_shown_once(
    owner_client, world, settings
):
    settings.ALLOWED_OUTBOUND_HOSTS = ["hooks.example"]
    import socket

    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "hooks.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]
        return real(host, *args, **kwargs)

    from unittest import mock

    with mock.patch("socket.getaddrinfo", fake):
        response = owner_client.post(
            reverse("dashboard:automation-channel-add"),
            form_data(
                new_channel_kind="webhook",
                new_channel_name="Our hook",
                new_channel_url="https://hooks.example/in",
            ),
            **HX,
        )
    html = response.content.decode()
    assert response.status_code == 200, html[:2000]
    channel = DeliveryChannel.objects.get(name="Our hook")
    assert html.lstrip().startswith('<fieldset id="channel-picker"')
    assert f'value="{channel.public_id}" checked' in html
    assert channel.config["secret"] in html and "shown only now" in html
    # The page afterwards does not show it again.
    page = owner_client.get(reverse("dashboard:automation-new")).content.decode()
    assert channel.config["secret"] not in page and "Our hook" in page


def test_a_bad_inline_channel_is_422_with_the_error(owner_client):
    response = owner_client.post(
        reverse("dashboard:automation-channel-add"),
        form_data(new_channel_kind="email", new_channel_name="Mail", new_channel_to="not-an-email"),
        **HX,
    )
    assert response.status_code == 422
    assert "is not an email address" in response.content.decode()
    assert not DeliveryChannel.objects.filter(name="Mail").exists()


def test_without_javascript_adding_a_channel_keeps_the_form(owner_client):
    response = owner_client.post(
        reverse("dashboard:automation-channel-add"),
        form_data(name="Half done", new_channel_kind="in_app", new_channel_name="Second inbox"),
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="Half done"' in html and "Added the channel “Second inbox”" in html


# -- test, run now, delete ---------------------------------------------------------------------


def test_testing_a_saved_automation_keeps_a_test_run_and_delivers_nothing(owner_client, world):
    auto = world.rows["automation"]
    response = owner_client.post(reverse("dashboard:automation-test", args=[auto.public_id]), **HX)
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<section id="test-output"')
    run = AutomationRun.objects.get(automation=auto)
    assert run.triggered_by == AutomationRun.TriggeredBy.TEST
    assert run.status == AutomationRun.Status.COMPLETED, run.error_message
    assert run.idempotency_key.startswith("test:")
    assert run.output_summary and run.output_hash
    assert "Test result" in html and "Nothing was sent" in html
    assert reverse("run-detail", args=[run.public_id]) in html
    assert not Notification.objects.exists() and not Delivery.objects.exists()


def test_a_failing_test_shows_the_skill_error_in_the_panel(owner_client, world):
    auto = automation(org=world.org, owner=world.people["owner"], skill_slug="test-fails")
    response = owner_client.post(reverse("dashboard:automation-test", args=[auto.public_id]), **HX)
    assert response.status_code == 200
    assert "The test failed" in response.content.decode()
    run = AutomationRun.objects.get(automation=auto)
    assert run.status == AutomationRun.Status.FAILED  # not retried later
    auto.refresh_from_db()
    assert auto.consecutive_failures == 0


def test_a_draft_test_saves_and_sends_nothing(owner_client):
    counts = (Automation.objects.count(), AutomationRun.objects.count())
    response = owner_client.post(
        reverse("dashboard:automation-test-draft"), form_data(name="Draft"), **HX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was saved or sent." in html and "<h3>" in html
    assert (Automation.objects.count(), AutomationRun.objects.count()) == counts
    assert not Notification.objects.exists()
    invalid = owner_client.post(
        reverse("dashboard:automation-test-draft"), form_data(param_new_days="0"), **HX
    )
    assert invalid.status_code == 422 and "Fix the errors" in invalid.content.decode()


def test_an_event_test_uses_a_sample_event_when_none_arrived(owner_client):
    response = owner_client.post(
        reverse("dashboard:automation-test-draft"),
        form_data(
            trigger_type="event",
            event_type="ats.candidate.created",
            skill="new-candidate-alert",
            param_new_days="",
        ),
        **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200, html[:2000]
    assert "used a sample event" in html and "Sam Sample" in html


def test_run_now_creates_a_manual_run_and_links_it(owner_client, world):
    auto = world.rows["automation"]
    response = owner_client.post(
        reverse("dashboard:automation-run-now", args=[auto.public_id]), **HX
    )
    run = AutomationRun.objects.get(automation=auto)
    assert run.triggered_by == AutomationRun.TriggeredBy.MANUAL
    assert reverse("run-detail", args=[run.public_id]) in response.content.decode()
    plain = owner_client.post(reverse("dashboard:automation-run-now", args=[auto.public_id]))
    assert plain.status_code == 302 and "?run=" in plain["Location"]
    page = owner_client.get(plain["Location"]).content.decode()
    assert "Open the run" in page


def test_delete_removes_it(owner_client, world):
    auto = world.rows["automation"]
    response = owner_client.post(
        reverse("dashboard:automation-delete", args=[auto.public_id]), **HX
    )
    assert response["HX-Redirect"] == reverse("dashboard:automations")
    assert not Automation.objects.filter(pk=auto.pk).exists()


def test_the_edit_page_queries_do_not_grow_with_channels(owner_client, world):
    owner = world.people["owner"]
    auto = world.rows["automation"]
    url = reverse("dashboard:automation-edit", args=[auto.public_id])

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for i in range(15):
        channel_create(org=world.org, owner=owner, kind="in_app", name=f"Inbox {i}")
    assert count() == few


def test_the_pages_carry_no_inline_script_or_style(owner_client, world):
    for url in (
        reverse("dashboard:automation-new"),
        reverse("dashboard:automation-edit", args=[world.rows["automation"].public_id]),
    ):
        html = owner_client.get(url).content.decode()
        assert "<script>" not in html and " style=" not in html and "hx-on" not in html


def test_an_event_test_uses_the_latest_real_event_of_the_org(owner_client, world):
    from tests.ats import connection
    from webhooks.models import InboundEvent
    from webhooks.providers.common import event as canonical

    conn = connection(world.org, "greenhouse")
    for n, name in enumerate(["Older Person", "Newest Person"]):
        data = canonical(
            type="ats.candidate.created",
            raw_type="candidate_created",
            provider=conn.provider,
            delivery_id=f"d-{n}",
            candidate={"id": f"c-{n}", "name": name, "email": f"c{n}@example.test"},
        )
        InboundEvent.objects.create(
            connection=conn, delivery_id=f"d-{n}", raw_type="candidate_created", event=data
        )
    response = owner_client.post(
        reverse("dashboard:automation-test-draft"),
        form_data(
            trigger_type="event", event_type="ats.candidate.created", skill="new-candidate-alert"
        ),
        **HX,
    )
    html = response.content.decode()
    assert "most recent real ats.candidate.created event" in html
    assert "Newest Person" in html and "Older Person" not in html


def test_run_now_of_an_automation_waiting_for_approval_is_refused(owner_client, world):
    world.org.approval_policy = "all"
    world.org.save()
    response = owner_client.post(reverse("dashboard:automation-new"), form_data())
    made = Automation.objects.get(name="Morning pipeline")
    assert made.status == Automation.Status.PENDING_APPROVAL
    assert "waits for an admin" in owner_client.get(response["Location"]).content.decode()
    url = reverse("dashboard:automation-run-now", args=[made.public_id])
    refused = owner_client.post(url, **HX)
    assert refused.status_code == 409 and refused["HX-Retarget"] == "#flash"
    assert "waiting for an admin" in refused.content.decode()
    assert not AutomationRun.objects.filter(automation=made).exists()


@pytest.mark.parametrize(
    "junk",
    [
        {"trigger_type": "zzz"},
        {"preset": "zzz"},
        {"catch_up": "zzz", "retry_limit": "abc"},
        {"channels": ["not-a-uuid"]},
        {"skill": "no-such-skill"},
        {"time_zone": "x" * 500},
        {"trigger_type": "relative", "offset_amount": "9" * 40},
        {"trigger_type": "event", "event_type": "ats.nope", "filter_field_0": "stage.to"},
        {"trigger_type": "poll", "poll_interval_seconds": "-1"},
    ],
)
def test_junk_input_is_an_error_never_a_500(owner_client, junk):
    response = owner_client.post(reverse("dashboard:automation-new"), form_data(**junk))
    assert response.status_code == 422
    assert 'class="error' in response.content.decode()
    preview = owner_client.post(reverse("dashboard:automation-preview"), form_data(**junk), **HX)
    assert preview.status_code == 200
    test = owner_client.post(reverse("dashboard:automation-test-draft"), form_data(**junk), **HX)
    assert test.status_code == 422


def test_a_foreign_or_malformed_id_in_a_fragment_request_is_404(owner_client, world):
    other = automation(org=world.other_org, name="Theirs")
    for editing in ("not-a-uuid", str(other.public_id)):
        response = owner_client.post(
            reverse("dashboard:automation-preview"), form_data(editing=editing), **HX
        )
        assert response.status_code == 404
    assert owner_client.get(_edit_url(world) + "?run=junk").status_code == 200
