"""Every automation endpoint against the isolation matrix (tests/api/access.py): status for
each role, the error format on refusals, and nothing changed by a refused request."""

from __future__ import annotations

import pytest

from automations.models import Automation, AutomationRun
from tests.api.access import ORG_LIST, OWNED_OBJECT, Case, check_case, expect, roles
from tests.factories import automation as make_automation

SECRET_NAME = "Owner's private pipeline"


def _base(w) -> str:
    return f"/api/v1/orgs/{w.org.slug}/automations/"


def _one(w, tail: str = "") -> str:
    return f"{_base(w)}{w.rows['automation'].public_id}/{tail}"


def _row(w):
    row = Automation.objects.filter(pk=w.rows["automation"].pk).first()
    return None if row is None else (row.name, row.status, row.paused_reason, row.cron_expression)


def _runs(w):
    return AutomationRun.objects.filter(automation_id=w.rows["automation"].pk).count()


def _count(w):
    return Automation.objects.count()


NEW = {
    "name": "Made through the API",
    "skill": "pipeline-report",
    "trigger_type": "cron",
    "cron_expression": "0 9 * * 1",
}
CREATED = expect(OWNED_OBJECT, owner=201, member=201, org_admin=201)

CASES = [
    Case(
        "automation-list",
        "get",
        _base,
        ORG_LIST,
        hidden_from={"member": [SECRET_NAME], "other_org_admin": [SECRET_NAME]},
    ),
    Case("automation-list", "post", _base, CREATED, data=lambda w: NEW, state=_count),
    Case("automation-detail", "get", _one, OWNED_OBJECT, hidden_from={"member": [SECRET_NAME]}),
    Case(
        "automation-detail",
        "patch",
        _one,
        OWNED_OBJECT,
        data=lambda w: {"name": "Renamed", "cron_expression": "0 10 * * 1"},
        state=_row,
    ),
    Case(
        "automation-detail",
        "delete",
        _one,
        expect(OWNED_OBJECT, owner=204, org_admin=204),
        state=_row,
    ),
    Case(
        "automation-pause",
        "post",
        lambda w: _one(w, "pause/"),
        OWNED_OBJECT,
        data=lambda w: {"reason": "holiday"},
        state=_row,
    ),
    Case("automation-resume", "post", lambda w: _one(w, "resume/"), OWNED_OBJECT, state=_row),
    Case(
        "automation-run-now",
        "post",
        lambda w: _one(w, "run-now/"),
        expect(OWNED_OBJECT, owner=202, org_admin=202),
        state=_runs,
    ),
    Case("automation-test", "post", lambda w: _one(w, "test/"), OWNED_OBJECT, state=_runs),
    Case(
        "automation-schedule-preview", "get", lambda w: _one(w, "schedule-preview/"), OWNED_OBJECT
    ),
    Case("automation-why", "get", lambda w: _one(w, "why/"), OWNED_OBJECT),
]


@pytest.fixture
def rows(world, owner, org, other_org, other_org_admin):
    world.rows["automation"] = make_automation(org=org, owner=owner, name=SECRET_NAME)
    # The other org has its own, so its admin's answers are not empty by accident.
    world.rows["theirs"] = make_automation(org=other_org, owner=other_org_admin, name="Theirs")
    return world


@pytest.mark.parametrize("role", roles())
@pytest.mark.parametrize("case", CASES, ids=str)
def test_automation_endpoints_isolation(case, role, rows):
    check_case(case, rows, role)


def test_operator_sees_org_but_not_another_orgs_row_through_it(api, rows, superuser):
    """A superuser acts in every org, but a row is only found under its own org's URL."""
    theirs = rows.rows["theirs"]
    response = api(superuser).get(f"/api/v1/orgs/{rows.org.slug}/automations/{theirs.public_id}/")
    assert response.status_code == 404
