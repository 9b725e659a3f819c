"""The fetchers (issue 11, section 5): who may see and change each kind of row, asked of the
shared people of tests/conftest.py. For every kind: who gets the row, who gets 404 (a foreign
row looks like no row), who gets PermissionDenied with write=True; every list gives exactly
the rows its get gives; and the services refuse exactly the people the fetchers refuse."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.models import Membership
from accounts.selectors import row_get_for_user
from automations import services
from automations.firing import run_fire
from automations.models import Automation, AutomationRun
from automations.selectors import (
    automation_get_for_user,
    automations_for_user,
    run_get_for_user,
    runs_for_user,
)
from delivery.channel_services import channel_create, channel_update
from delivery.models import DeliveryChannel, Notification
from delivery.selectors import (
    channel_get_for_user,
    channels_for_user,
    notification_get_for_user,
    notifications_for_user,
)
from tests.factories import automation

pytestmark = pytest.mark.django_db

PEOPLE = ["owner", "member", "outsider", "other_org_admin", "org_admin", "superuser"]

# kind: (model, get, list)
KINDS = {
    "automation": (Automation, automation_get_for_user, automations_for_user),
    "run": (AutomationRun, run_get_for_user, runs_for_user),
    "channel": (DeliveryChannel, channel_get_for_user, channels_for_user),
    "notification": (Notification, notification_get_for_user, notifications_for_user),
}

# Who may see the owner's row of each kind (the specification, written apart from the code).
# For every kind, whoever may see a row may also change it today (the services let owners
# change their own automations and channels, and mark their own items read), so nobody here
# gets PermissionDenied: `test_seen_but_not_writable_is_permission_denied` covers that branch.
SEES_OWNERS_ROW = {
    "automation": {"owner", "org_admin", "superuser"},
    "run": {"owner", "org_admin", "superuser"},
    "channel": {"owner", "org_admin", "superuser"},
    "notification": {"owner"},  # an inbox is its recipient's only
}


def rows_of(org, owner, tag: str) -> dict:
    """One row of each kind in `org`, owned by `owner` (their inbox channel comes with the
    automation)."""
    channel, _ = channel_create(
        org=org, owner=owner, kind="email", name=f"Email {tag}", config={"to": ["a@b.test"]}
    )
    auto = automation(org=org, owner=owner, name=f"Auto {tag}", channels=[channel])
    run, _ = run_fire(automation=auto, key=f"manual:{tag}", triggered_by="manual", send=False)
    notification = Notification.objects.create(
        organization=org, user=owner, title=f"Result {tag}", run=run
    )
    return {"automation": auto, "run": run, "channel": channel, "notification": notification}


@pytest.fixture
def people(owner, member, outsider, other_org_admin, org_admin, superuser) -> dict:
    return {
        "owner": owner,
        "member": member,
        "outsider": outsider,
        "other_org_admin": other_org_admin,
        "org_admin": org_admin,
        "superuser": superuser,
    }


@pytest.fixture
def rows(org, other_org, people) -> dict:
    """The owner's rows (the ones the matrix asks about), and rows of the org admin and of
    the other org, so the lists have something to leave out."""
    return {
        "owners": rows_of(org, people["owner"], "owner"),
        "admins": rows_of(org, people["org_admin"], "admin"),
        "other_orgs": rows_of(other_org, people["other_org_admin"], "other"),
    }


def outcome(get, user, public_id, *, write: bool) -> str:
    try:
        get(user=user, public_id=public_id, write=write)
    except Http404:
        return "404"
    except PermissionDenied:
        return "denied"
    return "ok"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("person", PEOPLE)
def test_who_gets_the_owners_row(kind, person, people, rows):
    _model, get, _list = KINDS[kind]
    row = rows["owners"][kind]
    want = "ok" if person in SEES_OWNERS_ROW[kind] else "404"
    assert outcome(get, people[person], row.public_id, write=False) == want
    assert outcome(get, people[person], row.public_id, write=True) == want


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("person", PEOPLE)
def test_a_list_gives_exactly_the_rows_its_get_gives(kind, person, people, rows):
    model, get, list_for = KINDS[kind]
    user = people[person]
    for write in (False, True):
        listed = set(list_for(user=user, write=write).values_list("pk", flat=True))
        fetched = {
            row.pk
            for row in model.objects.all()
            if outcome(get, user, row.public_id, write=write) == "ok"
        }
        assert listed == fetched, (kind, person, write)
    # And the list is not trivially empty where the matrix says the owner's row is seen.
    assert (rows["owners"][kind].pk in listed) == (person in SEES_OWNERS_ROW[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_nobody_gets_a_row_by_a_bad_or_unknown_id_or_without_logging_in(kind, people, rows):
    _model, get, list_for = KINDS[kind]
    for public_id in (uuid.uuid4(), "not-a-uuid", ""):
        assert outcome(get, people["superuser"], public_id, write=False) == "404"
    assert outcome(get, AnonymousUser(), rows["owners"][kind].public_id, write=False) == "404"
    assert not list_for(user=AnonymousUser()).exists()


@pytest.mark.parametrize("kind", ["automation", "run", "channel", "notification"])
def test_an_owner_who_left_the_org_no_longer_gets_their_rows(kind, org, people, rows):
    _model, get, list_for = KINDS[kind]
    Membership.objects.filter(user=people["owner"], organization=org).delete()
    assert outcome(get, people["owner"], rows["owners"][kind].public_id, write=False) == "404"
    assert not list_for(user=people["owner"]).exists()


@pytest.mark.parametrize("kind", ["automation", "run", "channel"])
def test_an_admin_elsewhere_who_is_a_plain_member_here_sees_only_their_own(kind, org, people, rows):
    _model, get, _list = KINDS[kind]
    both = people["other_org_admin"]
    Membership.objects.create(user=both, organization=org, role=Membership.Role.MEMBER)
    assert outcome(get, both, rows["owners"][kind].public_id, write=False) == "404"
    assert outcome(get, both, rows["other_orgs"][kind].public_id, write=True) == "ok"


def test_lists_narrow_to_one_org_or_automation(org, other_org, people, rows):
    root = people["superuser"]
    assert set(automations_for_user(user=root, org=other_org)) == {rows["other_orgs"]["automation"]}
    assert set(runs_for_user(user=root, automation=rows["admins"]["automation"])) == {
        rows["admins"]["run"]
    }
    assert set(channels_for_user(user=people["org_admin"], org=other_org)) == set()
    owner = people["owner"]
    assert list(notifications_for_user(user=owner, org=org)) == [rows["owners"]["notification"]]
    Notification.objects.filter(user=owner).update(read_at="2026-01-01T00:00:00Z")
    assert not notifications_for_user(user=owner, unread=True).exists()


def test_seen_but_not_writable_is_permission_denied(rows):
    """The branch no person above reaches today: a row the user may see, asked for with
    write=True, when the rule for changing it is narrower."""
    row = rows["owners"]["automation"]
    everything, nothing = Automation.objects.all(), Automation.objects.none()
    kwargs = {"readable": everything, "public_id": row.public_id, "what": "automation"}
    assert row_get_for_user(writable=nothing, write=False, **kwargs) == row
    with pytest.raises(PermissionDenied):
        row_get_for_user(writable=nothing, write=True, **kwargs)
    assert row_get_for_user(writable=None, write=True, **kwargs) == row
    with pytest.raises(Http404):
        row_get_for_user(
            readable=nothing, writable=None, public_id=row.public_id, write=False, what="automation"
        )


@pytest.mark.parametrize("person", PEOPLE)
def test_the_services_refuse_exactly_whom_the_fetchers_refuse(person, people, rows):
    user = people[person]
    auto, channel = rows["owners"]["automation"], rows["owners"]["channel"]

    fetcher_allows = outcome(automation_get_for_user, user, auto.public_id, write=True) == "ok"
    try:
        services.automation_pause(automation=auto, by=user)
        service_allows = True
    except PermissionDenied:
        service_allows = False
    assert service_allows == fetcher_allows
    auto.refresh_from_db()
    assert auto.status == ("paused" if service_allows else "active")

    fetcher_allows = outcome(channel_get_for_user, user, channel.public_id, write=True) == "ok"
    try:
        channel_update(channel=channel, by=user, name="Renamed")
        service_allows = True
    except PermissionDenied:
        service_allows = False
    assert service_allows == fetcher_allows
    channel.refresh_from_db()
    assert channel.name == ("Renamed" if service_allows else "Email owner")
