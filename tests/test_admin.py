"""The Django admin as org admins use it: scoped to their org, writing through services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Membership, Organization
from automations.firing import run_fire
from automations.models import Automation
from delivery.models import Notification
from tests.factories import automation, skill

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups():
    call_command("seed_demo", "--quiet")  # creates the "Org admins" and "Recruiters" groups
    return {g.name: g for g in Group.objects.all()}


def staff(user, groups, role):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(groups["Org admins" if role == "admin" else "Recruiters"])
    return user


@pytest.fixture
def trio(groups, org, other_org, org_admin, owner, other_org_admin):
    """Two orgs: an admin and a member in the first, an admin in the second (the outsider):
    the shared people of tests/conftest.py, as admin staff."""
    admin = staff(org_admin, groups, Membership.Role.ADMIN)
    colleague = staff(owner, groups, Membership.Role.MEMBER)
    outsider = staff(other_org_admin, groups, Membership.Role.ADMIN)
    auto = automation(org=org, owner=colleague, name="Ours")
    theirs = automation(org=other_org, owner=outsider, name="Theirs")
    run, _ = run_fire(automation=auto, key="manual:1", triggered_by="manual", send=False)
    Notification.objects.create(organization=org, user=colleague, title="Our result", run=run)
    Notification.objects.create(organization=other_org, user=outsider, title="Their result")
    return {
        "org": org,
        "admin": admin,
        "colleague": colleague,
        "outsider": outsider,
        "auto": auto,
        "theirs": theirs,
    }


def test_automation_list_shows_only_own_org(client, trio):
    client.force_login(trio["admin"])
    page = client.get(reverse("admin:automations_automation_changelist")).content.decode()
    assert "Ours" in page and "Theirs" not in page
    assert "At 09:00 on Monday" in page  # the plain-English schedule column


def test_outsider_cannot_open_another_orgs_automation_or_run(client, trio):
    client.force_login(trio["outsider"])
    url = reverse("admin:automations_automation_change", args=[trio["auto"].pk])
    assert client.get(url).status_code == 302  # admin redirects "does not exist" to the list
    run = trio["auto"].runs.get()
    assert (
        client.get(reverse("admin:automations_automationrun_change", args=[run.pk])).status_code
        == 302
    )
    page = client.get(reverse("admin:automations_automationrun_changelist")).content.decode()
    assert "Ours" not in page


def test_inbox_member_sees_own_admin_sees_org_outsider_sees_neither(client, trio):
    url = reverse("admin:delivery_notification_changelist")
    client.force_login(trio["colleague"])
    assert "Our result" in client.get(url).content.decode()
    client.force_login(trio["admin"])
    page = client.get(url).content.decode()
    assert "Our result" in page and "Their result" not in page
    client.force_login(trio["outsider"])
    assert "Our result" not in client.get(url).content.decode()


def test_member_cannot_change_automations_in_admin(client, trio):
    client.force_login(trio["colleague"])
    url = reverse("admin:automations_automation_change", args=[trio["auto"].pk])
    response = client.post(url, {"name": "Renamed"})
    assert response.status_code == 403
    trio["auto"].refresh_from_db()
    assert trio["auto"].name == "Ours"


def test_admin_pause_action_goes_through_the_service(client, trio):
    client.force_login(trio["admin"])
    client.post(
        reverse("admin:automations_automation_changelist"),
        {"action": "pause", "_selected_action": [trio["auto"].pk, trio["theirs"].pk]},
    )
    trio["auto"].refresh_from_db()
    trio["theirs"].refresh_from_db()
    assert trio["auto"].status == "paused"
    assert not trio["auto"].periodic_task.enabled
    assert trio["theirs"].status == "active"  # not visible to this admin, so not touched


def test_a_superuser_operates_any_orgs_automations(client, trio, superuser):
    """Superusers are the operators: the admin shows them every org, and the services behind
    its actions let them act as an admin of an org they are not a member of."""
    client.force_login(superuser)
    changelist = reverse("admin:automations_automation_changelist")
    answer = client.post(changelist, {"action": "pause", "_selected_action": [trio["theirs"].pk]})
    assert answer.status_code == 302
    trio["theirs"].refresh_from_db()
    assert trio["theirs"].status == "paused"
    client.post(changelist, {"action": "resume", "_selected_action": [trio["theirs"].pk]})
    trio["theirs"].refresh_from_db()
    assert trio["theirs"].status == "active"
    client.post(changelist, {"action": "run_now", "_selected_action": [trio["theirs"].pk]})
    assert trio["theirs"].runs.filter(triggered_by="manual").exists()


def admin_form(org, owner, **overrides):
    data = {
        "name": "From the admin",
        "organization": org.pk,
        "owner": owner.pk,
        "skill": skill("pipeline-report").pk,
        "params": "{}",
        "trigger_type": "cron",
        "cron_expression": "0 9 * * 1",
        "time_zone": "Europe/Berlin",
        "event_type": "",
        "event_filter": "{}",
        "offset_minutes": "",
        "poll_interval_seconds": "",
        "channels": '[{"kind": "in_app"}]',
        "catch_up": "latest",
        "retry_limit": "3",
        "runs-TOTAL_FORMS": "0",
        "runs-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_admin_add_creates_the_automation_and_its_schedule(client, trio):
    client.force_login(trio["admin"])
    response = client.post(
        reverse("admin:automations_automation_add"), admin_form(trio["org"], trio["admin"])
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Automation.objects.get(name="From the admin")
    assert created.next_run_at and created.periodic_task.crontab.timezone.key == "Europe/Berlin"


def test_admin_add_shows_plan_and_cron_errors_and_saves_nothing(client, trio):
    org = trio["org"]
    Organization.objects.filter(pk=org.pk).update(plan="free")
    client.force_login(trio["admin"])
    url = reverse("admin:automations_automation_add")
    page = client.post(url, admin_form(org, trio["admin"], cron_expression="0 * * * *"))
    assert page.status_code == 200
    assert "at most once a day" in page.content.decode()
    page = client.post(url, admin_form(org, trio["admin"], cron_expression="0 9 * *"))
    assert "5 fields" in page.content.decode()
    assert not Automation.objects.filter(name="From the admin").exists()


def test_admin_cannot_assign_an_automation_to_another_org(client, trio):
    client.force_login(trio["admin"])
    other_org = trio["theirs"].organization
    page = client.post(
        reverse("admin:automations_automation_add"), admin_form(other_org, trio["admin"])
    )
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()
    assert not Automation.objects.filter(name="From the admin").exists()
