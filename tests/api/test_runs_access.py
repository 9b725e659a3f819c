"""Every run and rerun-batch endpoint against the isolation matrix (tests/api/access.py):
status for each role, the error format on refusals, nothing changed by a refused request (no
rerun made), and the owner's rows hidden from everyone else."""

from __future__ import annotations

import pytest

from automations.firing import run_fire
from automations.models import AutomationRun, RerunBatch
from automations.reruns import runs_rerun_bulk
from automations.run_keys import manual_key
from automations.run_search import RunFilter
from tests.api.access import ORG_LIST, OWNED_OBJECT, Case, check_case, expect, roles
from tests.factories import automation as make_automation

SECRET_SUMMARY = "17 candidates for the secret req"


def make_run(auto, *, status="completed", **fields) -> AutomationRun:
    run, _ = run_fire(
        automation=auto,
        key=manual_key(),
        triggered_by=fields.pop("triggered_by", AutomationRun.TriggeredBy.SCHEDULE),
        trigger_data=fields.pop("trigger_data", None),
        send=False,
    )
    AutomationRun.objects.filter(pk=run.pk).update(status=status, **fields)
    run.refresh_from_db()
    return run


def _runs(w) -> str:
    return f"/api/v1/orgs/{w.org.slug}/runs/"


def _run(w, tail: str = "") -> str:
    return f"{_runs(w)}{w.rows['run'].public_id}/{tail}"


def _batches(w) -> str:
    return f"/api/v1/orgs/{w.org.slug}/rerun-batches/"


def _batch(w) -> str:
    return f"{_batches(w)}{w.rows['batch'].public_id}/"


def _run_count(w):
    return AutomationRun.objects.count()


def _batch_state(w):
    return RerunBatch.objects.count(), AutomationRun.objects.count()


# A member's bulk rerun takes only their own automations' runs: none match here, so a 400.
BATCH_MADE = expect(OWNED_OBJECT, owner=201, member=400, org_admin=201)

CASES = [
    Case(
        "run-list",
        "get",
        _runs,
        ORG_LIST,
        hidden_from={
            "member": [SECRET_SUMMARY],
            "outsider": [SECRET_SUMMARY],
            "other_org_admin": [SECRET_SUMMARY],
        },
    ),
    Case(
        "run-list",
        "get",
        lambda w: f"{_runs(w)}?status=failed&triggered_by=schedule",
        ORG_LIST,
        hidden_from={"member": [SECRET_SUMMARY]},
    ),
    Case("run-detail", "get", _run, OWNED_OBJECT, hidden_from={"member": [SECRET_SUMMARY]}),
    Case(
        "run-rerun",
        "post",
        lambda w: _run(w, "rerun/"),
        expect(OWNED_OBJECT, owner=202, org_admin=202),
        state=_run_count,
    ),
    Case(
        "rerun-batch-list",
        "get",
        _batches,
        ORG_LIST,
        hidden_from={"member": ["Owner's redo"], "other_org_admin": ["Owner's redo"]},
    ),
    Case(
        "rerun-batch-list",
        "post",
        _batches,
        BATCH_MADE,
        data=lambda w: {"name": "Redo failures", "status": "failed"},
        state=_batch_state,
    ),
    Case("rerun-batch-detail", "get", _batch, OWNED_OBJECT),
]


@pytest.fixture
def rows(world, owner, org, other_org, other_org_admin):
    auto = make_automation(org=org, owner=owner, name="Owner's report")
    world.rows["run"] = make_run(auto, status="failed", output_summary=SECRET_SUMMARY)
    world.rows["batch"] = runs_rerun_bulk(
        user=owner, org=org, filters=RunFilter(status="failed"), name="Owner's redo"
    )
    theirs = make_automation(org=other_org, owner=other_org_admin, name="Theirs")
    world.rows["theirs"] = make_run(theirs, status="failed")
    return world


@pytest.mark.parametrize("role", roles())
@pytest.mark.parametrize("case", CASES, ids=str)
def test_run_endpoints_isolation(case, role, rows):
    check_case(case, rows, role)


def test_another_orgs_run_is_not_found_under_this_org(api, rows, superuser):
    """An operator acts in every org, but a run is only found under its own org's URL, and
    rerunning it there makes nothing."""
    theirs = rows.rows["theirs"]
    client = api(superuser)
    base = f"/api/v1/orgs/{rows.org.slug}/runs/{theirs.public_id}/"
    before = AutomationRun.objects.count()
    assert client.get(base).status_code == 404
    assert client.post(f"{base}rerun/").status_code == 404
    assert AutomationRun.objects.count() == before
