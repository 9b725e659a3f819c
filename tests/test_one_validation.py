"""One validation path: the same bad input gets the same field key and the same message from
automation_create, automation_update and the admin add form (tests/validation_cases.py holds
the table, for the API to reuse); good input makes the same automation through each; and the
trigger invariants hold in the database even for writes that go around the services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import Membership
from automations import services
from automations.models import Automation
from tests.factories import OrganizationFactory, automation, member, skill
from tests.validation_cases import (
    CASES,
    COMMON,
    GOOD,
    SKILL,
    BadInput,
    Context,
    as_form_text,
    resolve,
)

pytestmark = pytest.mark.django_db

FORM_KEYS = {"channels": "delivery_channels"}


def org_admin(org):
    """Staff, an admin of `org`, with the admin's automation permissions (no password hash)."""
    user = member(org, role=Membership.Role.ADMIN, is_staff=True, password="!")
    group, _ = Group.objects.get_or_create(name="Automation admins (test)")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="automations",
            codename__in=["add_automation", "change_automation", "view_automation"],
        )
    )
    user.groups.add(group)
    return user


def service_values(case: BadInput, ctx: Context) -> dict:
    return {
        **COMMON,
        **GOOD[case.trigger],
        "skill": skill(SKILL),
        **resolve(case.values, ctx),
    }


def form_post(values: dict, ctx: Context) -> dict:
    data = {
        "organization": ctx.org.pk,
        "owner": ctx.owner.pk,
        "runs-TOTAL_FORMS": "0",
        "runs-INITIAL_FORMS": "0",
    }
    for name in (
        "name",
        "skill",
        "params",
        "trigger_type",
        "cron_expression",
        "time_zone",
        "event_type",
        "event_filter",
        "offset_minutes",
        "poll_interval_seconds",
        "catch_up",
        "retry_limit",
    ):
        data[name] = as_form_text(name, values.get(name))
    if values.get("channels"):
        data["delivery_channels"] = as_form_text("channels", values["channels"])
    return data


def messages_of(exc: ValidationError) -> dict[str, list[str]]:
    return {FORM_KEYS.get(k, k): v for k, v in exc.message_dict.items()}


def check_expected(errors: dict[str, list[str]], case: BadInput) -> None:
    assert set(errors) == {FORM_KEYS.get(k, k) for k in case.expected}, errors
    for key, part in case.expected.items():
        assert part in " ".join(errors[FORM_KEYS.get(key, key)]), (key, errors)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_the_same_bad_input_gets_the_same_errors_from_every_surface(case, client):
    org = OrganizationFactory(plan=case.plan)
    ctx = Context(org=org, owner=org_admin(org))
    values = service_values(case, ctx)

    # (a) create
    with pytest.raises(ValidationError) as created:
        services.automation_create(org=org, owner=ctx.owner, **values)
    from_create = messages_of(created.value)
    check_expected(from_create, case)
    assert not Automation.objects.exists()

    # (b) update of a good automation of the same kind, changing only the case's fields
    good = {**COMMON, **GOOD[case.trigger], "skill": skill(SKILL)}
    existing = services.automation_create(org=org, owner=ctx.owner, **good)
    before = Automation.objects.filter(pk=existing.pk).values().get()
    changes = {k: values[k] for k in case.values}
    with pytest.raises(ValidationError) as updated:
        services.automation_update(automation=existing, by=ctx.owner, **changes)
    assert messages_of(updated.value) == from_create
    assert Automation.objects.filter(pk=existing.pk).values().get() == before

    # (c) the admin add form, as an org admin
    client.force_login(ctx.owner)
    page = client.post(reverse("admin:automations_automation_add"), form_post(values, ctx))
    assert page.status_code == 200, page.status_code
    form_errors = {k: list(v) for k, v in page.context["adminform"].form.errors.items()}
    assert form_errors == from_create
    assert Automation.objects.count() == 1  # only the good one made for (b)


def test_good_input_makes_the_same_automation_through_the_service_and_the_admin(client):
    org = OrganizationFactory()
    owner = org_admin(org)
    values = {
        **COMMON,
        **GOOD["relative"],
        "skill": skill(SKILL),
        "name": "Briefing",
        "event_filter": {"stage.to": "Interview"},
        "retry_limit": 5,
        "catch_up": "skip",
    }
    from_service = services.automation_create(org=org, owner=owner, **values)
    client.force_login(owner)
    ctx = Context(org=org, owner=owner)
    response = client.post(reverse("admin:automations_automation_add"), form_post(values, ctx))
    assert response.status_code == 302, response.context["adminform"].form.errors
    from_admin = Automation.objects.exclude(pk=from_service.pk).get()
    stored = [
        "name",
        "skill_id",
        "params",
        "trigger_type",
        "cron_expression",
        "time_zone",
        "event_type",
        "event_filter",
        "offset_minutes",
        "poll_interval_seconds",
        "catch_up",
        "retry_limit",
        "status",
        "owner_id",
    ]
    assert {f: getattr(from_admin, f) for f in stored} == {
        f: getattr(from_service, f) for f in stored
    }
    assert from_admin.event_type == "ats.interview.scheduled" and from_admin.params["days"] == 10
    # No channel picked: the owner's inbox, through either surface.
    assert [c.kind for c in from_admin.delivery_channels.all()] == ["in_app"]
    assert [c.kind for c in from_service.delivery_channels.all()] == ["in_app"]


def test_a_form_number_is_a_number_and_an_empty_box_is_none(client):
    """The form's text is converted only where it is unambiguous ("120" is 120)."""
    org = OrganizationFactory()
    owner = org_admin(org)
    client.force_login(owner)
    values = {**COMMON, **GOOD["poll"], "skill": skill(SKILL), "poll_interval_seconds": 86400}
    data = form_post(values, Context(org=org, owner=owner))
    data.update({"poll_interval_seconds": " 86400 ", "offset_minutes": "", "params": ""})
    response = client.post(reverse("admin:automations_automation_add"), data)
    assert response.status_code == 302
    made = Automation.objects.get()
    assert made.poll_interval_seconds == 86400 and made.offset_minutes is None
    assert made.params == {"days": 14}  # the schema's default


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("event", {"event_type": ""}),
        ("relative", {"event_type": ""}),
        ("relative", {"offset_minutes": None}),
        ("relative", {"offset_minutes": 10**6}),
        ("relative", {"offset_minutes": -(10**6)}),
        ("poll", {"poll_interval_seconds": None}),
        ("poll", {"poll_interval_seconds": 30 * 24 * 3600 + 1}),
        ("poll", {"poll_interval_seconds": 59}),
        ("cron", {"cron_expression": ""}),
    ],
    ids=lambda v: str(v),
)
def test_the_database_refuses_a_row_that_breaks_its_triggers_invariant(kind, change):
    made = automation(skill_slug=SKILL, **GOOD[kind])
    before = Automation.objects.filter(pk=made.pk).values().get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Automation.objects.filter(pk=made.pk).update(**change)
    assert Automation.objects.filter(pk=made.pk).values().get() == before


def test_a_paused_event_automation_may_not_lose_its_type_either():
    made = automation(skill_slug=SKILL, **GOOD["event"])
    services.automation_pause(automation=made, by=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        Automation.objects.filter(pk=made.pk).update(event_type="")
