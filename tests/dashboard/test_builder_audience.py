"""The builder's "Who it is for" inputs: an org admin picks the owner and the audience; a
member sees none of it, and a member's posted owner or audience is never read."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from automations.models import Automation
from tests.dashboard.test_builder import form_data

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_an_admin_sees_owner_and_audience_and_a_member_does_not(org, org_admin, owner):
    admin_page = _client(org_admin).get(reverse("dashboard:automation-new")).content.decode()
    assert 'name="owner"' in admin_page and 'name="audience"' in admin_page
    assert "Who gets it" in admin_page
    member_page = _client(owner).get(reverse("dashboard:automation-new")).content.decode()
    assert 'name="owner"' not in member_page and 'name="audience"' not in member_page


def test_an_admin_creates_one_for_chosen_members(org, org_admin, owner, member):
    response = _client(org_admin).post(
        reverse("dashboard:automation-new"),
        form_data(owner=str(owner.pk), audience="members", audience_members=[str(member.pk)]),
    )
    assert response.status_code == 302
    auto = Automation.objects.get()
    assert auto.owner == owner and auto.audience == "members"
    assert list(auto.audience_members.all()) == [member]
    page = _client(org_admin).get(response["Location"]).content.decode()
    assert f'value="{member.pk}"' in page and "checked" in page


def test_an_admin_is_told_when_no_member_is_chosen(org, org_admin):
    response = _client(org_admin).post(
        reverse("dashboard:automation-new"), form_data(audience="members")
    )
    assert response.status_code == 422
    assert "Choose at least one member." in response.content.decode()
    assert not Automation.objects.exists()


def test_a_members_posted_owner_and_audience_are_ignored(org, owner, member):
    response = _client(owner).post(
        reverse("dashboard:automation-new"),
        form_data(owner=str(member.pk), audience="all_members"),
    )
    assert response.status_code == 302
    auto = Automation.objects.get()
    assert auto.owner == owner and auto.audience == "owner"


def test_a_member_sees_who_an_admins_automation_is_for(org, org_admin, owner):
    from tests.factories import automation

    auto = automation(org=org, owner=owner, by=org_admin, audience="all_members")
    page = (
        _client(owner)
        .get(reverse("dashboard:automation-edit", args=[auto.public_id]))
        .content.decode()
    )
    assert "For: every member of the org" in page


def test_the_list_and_the_history_say_who_each_run_is_for(org, org_admin, owner, member):
    from automations.firing import run_fire
    from tests.factories import automation

    auto = automation(org=org, owner=org_admin, audience="members", audience_members=[member])
    run, _ = run_fire(automation=auto, key="manual:1", triggered_by="manual", send=False)
    admin = _client(org_admin)
    listing = admin.get(reverse("dashboard:automations")).content.decode()
    assert "for chosen members: a run each" in listing
    history = admin.get(reverse("dashboard:runs")).content.decode()
    assert f"for {member.get_username()}" in history
    page = admin.get(reverse("dashboard:run", args=[run.public_id])).content.decode()
    assert "one member&#x27;s run" in page or "one member's run" in page
