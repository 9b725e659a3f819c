"""The dashboard's audit log (/audit/, org admins only): who sees it, what a row says (when in
the viewer's zone, who, from where, the action in words, the target linked while it exists,
the changed fields), the filters, the pages, and the surface a dashboard change logs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.audit import AuditAction
from accounts.models import AuditEvent
from automations import services
from tests.dashboard.access import Case, check_case
from tests.factories import automation

pytestmark = pytest.mark.django_db

ADMIN_PAGE = {
    "owner": 403,
    "member": 403,
    "org_admin": 200,
    "outsider": 403,
    "other_org_admin": 200,  # their own org's log: none of `org`'s events (hidden_from)
    "anonymous": 302,
}
SECRET_NAME = "Ours audited automation"

CASES = [
    Case(
        "audit",
        "get",
        lambda w: reverse("dashboard:audit"),
        ADMIN_PAGE,
        hidden_from={"other_org_admin": [SECRET_NAME], "member": [SECRET_NAME]},
    ),
    Case(
        "audit",
        "get",
        lambda w: reverse("dashboard:audit") + "?action=automation",
        ADMIN_PAGE,
        htmx=True,
        hidden_from={"other_org_admin": [SECRET_NAME]},
    ),
]


def _results(page: str) -> str:
    """The table part of the page (the filter's select lists every action's words)."""
    return page.split('id="audit-results"', 1)[1]


def _paused(world):
    auto = automation(org=world.org, owner=world.people["owner"], name=SECRET_NAME)
    services.automation_pause(automation=auto, by=world.people["owner"], reason="holiday")
    return auto


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    _paused(world)
    check_case(case, world, role, client_factory)


def test_a_dashboard_change_is_logged_as_made_from_the_dashboard(world, client):
    auto = automation(org=world.org, owner=world.people["owner"])
    client.force_login(world.people["owner"])
    response = client.post(reverse("dashboard:automation-pause", args=[auto.public_id]))
    assert response.status_code in (200, 302)
    event = AuditEvent.objects.get(action=AuditAction.AUTOMATION_PAUSE)
    assert event.surface == AuditEvent.Surface.DASHBOARD
    assert event.actor == world.people["owner"]


def test_a_row_says_when_who_where_what_and_links_the_automation(world, client):
    org_admin = world.people["org_admin"]
    auto = _paused(world)
    services.automation_update(automation=auto, by=org_admin, name="Renamed one")
    gone = automation(org=world.org, owner=world.people["owner"], name="Soon gone")
    services.automation_delete(automation=gone, by=org_admin)
    client.force_login(org_admin)
    whole = client.get(reverse("dashboard:audit")).content.decode()
    page = _results(whole)
    assert "Paused automation" in page and "Edited automation" in page
    assert "Deleted automation" in page
    assert "Dashboard" in page or "System" in page  # the surface column
    assert world.people["owner"].email in page and org_admin.email in page
    assert "holiday" in page  # the pause's reason
    assert "Weekly" not in page
    # The changed field, from -> to.
    assert "<code>name</code>: Ours audited automation → Renamed one" in page
    # The automation that still exists is linked; the deleted one is named only.
    assert reverse("dashboard:automation-edit", args=[auto.public_id]) in page
    assert "Soon gone" in page
    assert reverse("dashboard:automation-edit", args=[gone.public_id]) not in page
    # Times in the viewer's zone (the org's: America/New_York).
    assert "EST" in page or "EDT" in page
    # The nav links the page for admins.
    assert f'href="{reverse("dashboard:audit")}"' in whole


def test_members_get_no_nav_link(world, client):
    client.force_login(world.people["owner"])
    page = client.get(reverse("dashboard:automations")).content.decode()
    assert reverse("dashboard:audit") not in page


def test_filters(world, client):
    owner, org_admin = world.people["owner"], world.people["org_admin"]
    auto = _paused(world)
    services.automation_resume(automation=auto, by=org_admin)
    client.force_login(org_admin)
    url = reverse("dashboard:audit")

    def shown(**params) -> str:
        response = client.get(url, params)
        assert response.status_code == 200, response.status_code
        return _results(response.content.decode())

    page = shown(action=AuditAction.AUTOMATION_RESUME)
    assert "Resumed automation" in page and "Paused automation" not in page
    page = shown(person=str(owner.pk))
    assert "Paused automation" in page and "Resumed automation" not in page
    page = shown(what="deliverychannel")
    assert "No changes match this filter." in page
    page = shown(what="automation", target=str(auto.public_id))
    assert "Created automation" in page
    # A person not in the org, or a made-up action, is a form error, not a 500.
    assert client.get(url, {"person": "999999"}).status_code == 422
    assert client.get(url, {"action": "automation.explode"}).status_code == 422
    backwards = {"since": "2026-01-02T00:00", "until": "2026-01-01T00:00"}
    assert client.get(url, backwards).status_code == 422


def test_pages_follow_the_cursor_to_the_oldest(world, client, monkeypatch):
    from accounts import audit_reads

    monkeypatch.setitem(audit_reads.audit_page.__kwdefaults__, "size", 2)
    auto = automation(org=world.org, owner=world.people["owner"], name="Paged")
    for i in range(4):
        services.automation_update(automation=auto, by=world.people["owner"], name=f"Paged {i}")
    client.force_login(world.people["org_admin"])
    first = client.get(reverse("dashboard:audit")).content.decode()
    assert "Paged 3" in first and "More (older) changes" in first
    cursor = first.split("after=", 1)[1].split('"', 1)[0]
    second = client.get(reverse("dashboard:audit") + "?after=" + cursor).content.decode()
    assert "Paged 3</a>" not in second and "Paged 1" in second
    # A cursor that is not ours is the first page.
    assert client.get(reverse("dashboard:audit"), {"after": "junk"}).status_code == 200


def test_an_automations_tabs_link_its_changes_for_admins(world, client):
    auto = _paused(world)
    link = f"{reverse('dashboard:audit')}?what=automation&amp;target={auto.public_id}"
    edit = reverse("dashboard:automation-edit", args=[auto.public_id])
    client.force_login(world.people["org_admin"])
    assert link in client.get(edit).content.decode()
    changes = _results(client.get(link.replace("&amp;", "&")).content.decode())
    assert "Created automation" in changes and "Paused automation" in changes
    client.force_login(world.people["owner"])
    assert link not in client.get(edit).content.decode()
