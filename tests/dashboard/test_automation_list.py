"""The automations list (filters, search, keyset pages, inline and bulk pause / resume /
delete) and the templates gallery."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Organization
from automations import bulk
from automations.bulk import MAX_BULK_IDS, automations_bulk
from automations.dashboard import automation_list_query
from automations.dashboard.page_cursor import cursor_make
from automations.models import Automation, AutomationRun
from automations.services import automation_pause
from tests.dashboard.access import ORG_PAGE, OWNED_OBJECT, Case, check_case
from tests.factories import OrganizationFactory, automation, member

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST = "/automations/"


@pytest.fixture
def world(world):
    """The access matrix's people, with an active and a paused automation of the owner."""
    owner = world.people["owner"]
    world.rows["active"] = automation(org=world.org, owner=owner, name="Owner weekly report")
    paused = automation(org=world.org, owner=owner, name="Owner paused recap")
    world.rows["paused"] = automation_pause(automation=paused, by=owner, reason="on holiday")
    return world


def _status(world, row):
    return Automation.objects.filter(pk=world.rows[row].pk).values_list("status").first()


def _statuses(world):
    return sorted(Automation.objects.values_list("name", "status"))


NO_JS_WRITE = {**OWNED_OBJECT, "owner": 302, "org_admin": 302}
HTMX_WRITE = {**OWNED_OBJECT, "owner": 200, "org_admin": 200}
# The bulk form is an org page: anyone in an org may post it; ids they may not change are
# reported "not found" (the state check below and test_colleague_bulk_... say nothing moved).
BULK = {**ORG_PAGE, "owner": 302, "member": 302, "org_admin": 302, "other_org_admin": 302}
HIDDEN = {
    "member": ["Owner weekly report"],
    "other_org_admin": ["Owner weekly report"],
    "outsider": ["Owner weekly report"],
}


def _bulk_data(action, row="active"):
    return lambda w: {"action": action, "ids": [str(w.rows[row].public_id)]}


CASES = [
    Case("automations", "get", lambda w: LIST, ORG_PAGE, hidden_from=HIDDEN),
    Case("automations", "get", lambda w: LIST, ORG_PAGE, htmx=True, hidden_from=HIDDEN),
    Case(
        "automation-pause",
        "post",
        lambda w: reverse("dashboard:automation-pause", args=[w.rows["active"].public_id]),
        NO_JS_WRITE,
        state=lambda w: _status(w, "active"),
    ),
    Case(
        "automation-pause",
        "post",
        lambda w: reverse("dashboard:automation-pause", args=[w.rows["active"].public_id]),
        HTMX_WRITE,
        state=lambda w: _status(w, "active"),
        htmx=True,
    ),
    Case(
        "automation-resume",
        "post",
        lambda w: reverse("dashboard:automation-resume", args=[w.rows["paused"].public_id]),
        NO_JS_WRITE,
        state=lambda w: _status(w, "paused"),
    ),
    Case(
        "automation-resume",
        "post",
        lambda w: reverse("dashboard:automation-resume", args=[w.rows["paused"].public_id]),
        HTMX_WRITE,
        state=lambda w: _status(w, "paused"),
        htmx=True,
    ),
    Case(
        "automations-bulk",
        "post",
        lambda w: reverse("dashboard:automations-bulk"),
        BULK,
        data=_bulk_data("pause"),
        state=_statuses,
    ),
    Case(
        "automations-bulk",
        "post",
        lambda w: reverse("dashboard:automations-bulk"),
        {**BULK, "owner": 200, "member": 200, "org_admin": 200, "other_org_admin": 200},
        data=lambda w: {
            "action": "delete",
            "confirm": "yes",
            "ids": [str(w.rows["active"].public_id)],
        },
        state=_statuses,
        htmx=True,
    ),
    Case("templates", "get", lambda w: reverse("dashboard:templates"), ORG_PAGE),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


# -- who sees what ----------------------------------------------------------------------------


def _page(client, query="", **headers):
    response = client.get(f"{LIST}?{query}" if query else LIST, **headers)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_members_see_their_own_and_admins_the_whole_org(world, client):
    colleague = world.people["member"]
    automation(org=world.org, owner=colleague, name="Colleague sourcing")
    automation(org=world.other_org, owner=world.people["other_org_admin"], name="Other org job")
    client.force_login(colleague)
    page = _page(client)
    assert "Colleague sourcing" in page
    assert "Owner weekly report" not in page and "Other org job" not in page
    assert 'name="owner"' not in page  # no owner filter for members
    client.force_login(world.people["org_admin"])
    page = _page(client)
    assert "Colleague sourcing" in page and "Owner weekly report" in page
    assert "Other org job" not in page
    assert 'name="owner"' in page and "by colleague" in page


def test_a_row_shows_trigger_skill_channels_status_next_and_last_run(world, client):
    client.force_login(world.people["owner"])
    active = world.rows["active"]
    AutomationRun.objects.create(
        automation=active,
        organization=world.org,
        triggered_by=AutomationRun.TriggeredBy.SCHEDULE,
        idempotency_key="cron:1",
        scheduled_for=timezone.now(),
        status=AutomationRun.Status.FAILED,
    )
    # A test run later does not count as the last run.
    AutomationRun.objects.create(
        automation=active,
        organization=world.org,
        triggered_by=AutomationRun.TriggeredBy.TEST,
        idempotency_key="test:1",
        scheduled_for=timezone.now(),
        status=AutomationRun.Status.COMPLETED,
    )
    page = _page(client)
    row = re.search(rf'<tr id="automation-{active.public_id}">(.*?)</tr>', page, re.S).group(1)
    assert "At 09:00 on Monday" in row  # trigger_words
    assert "Pipeline report" in row
    assert "Failed" in row and "Completed" not in row
    assert "Active" in row
    paused_row = re.search(
        rf'<tr id="automation-{world.rows["paused"].public_id}">(.*?)</tr>', page, re.S
    ).group(1)
    assert "Paused" in paused_row and "on holiday" in paused_row and "Never run" in paused_row


# -- filters, search, pages -------------------------------------------------------------------


@pytest.fixture
def mixed(world):
    owner = world.people["owner"]
    automation(
        org=world.org,
        owner=owner,
        name="Stale SLA",
        skill_slug="stale-candidates",
        params={"days": 10},
    )
    automation(
        org=world.org,
        owner=owner,
        name="Offer event",
        skill_slug="offer-accepted-alert",
        trigger_type="event",
        event_type="ats.offer.accepted",
    )
    automation(
        org=world.org,
        owner=world.people["member"],
        name="Colleague stale",
        skill_slug="stale-candidates",
    )
    return world


def _names(page):
    return set(re.findall(r'<a href="/automations/[0-9a-f-]{36}/">([^<]+)</a>', page))


def test_filters_and_search(mixed, client):
    client.force_login(mixed.people["owner"])
    assert _names(_page(client, "status=paused")) == {"Owner paused recap"}
    assert _names(_page(client, "trigger=event")) == {"Offer event"}
    assert _names(_page(client, "skill=stale-candidates")) == {"Stale SLA"}
    assert _names(_page(client, "q=REPORT")) == {"Owner weekly report"}
    assert _names(_page(client, "q=stale&status=active")) == {"Stale SLA"}
    # A member's owner filter is ignored: they see their own rows whatever it says.
    assert _names(_page(client, "owner=colleague")) == {
        "Owner weekly report",
        "Owner paused recap",
        "Stale SLA",
        "Offer event",
    }
    client.force_login(mixed.people["org_admin"])
    assert _names(_page(client, "owner=colleague")) == {"Colleague stale"}
    assert _names(_page(client, "owner=colleague&skill=stale-candidates")) == {"Colleague stale"}
    # The htmx answer is the results fragment only.
    fragment = _page(client, "status=paused", **HTMX)
    assert fragment.lstrip().startswith('<div id="automation-results">')
    assert "<html" not in fragment and _names(fragment) == {"Owner paused recap"}


SIGNED = {  # cursors signed with our salt but holding something else than (name, pk)
    "SIGNED_TEXT": lambda: signing.dumps(
        "just text", salt="skillomatic.dashboard.cursor:automations"
    ),
    "SIGNED_BAD_PK": lambda: cursor_make(what="automations", key=["name", "not a pk"]),
    "SIGNED_BOOL_PK": lambda: cursor_make(what="automations", key=[["list"], True]),
    "SIGNED_THREE": lambda: cursor_make(what="automations", key=["name", 1, 2]),
    "ANOTHER_LISTS": lambda: cursor_make(what="inbox", key=["name", 1]),
    "OTHER_SALT": lambda: signing.dumps(["x", 1], salt="another-salt"),
}


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "trigger=%00",
        "skill=no-such-skill",
        "owner=nobody",
        "q=" + "x" * 500,
        "after=garbage",
        "before=garbage",
        "after=" + "a" * 5000,
        "after=SIGNED_TEXT",
        "after=SIGNED_BAD_PK",
        "before=SIGNED_BOOL_PK",
        "before=OTHER_SALT",
        "status=active&status=paused",
    ],
    ids=lambda query: query[:30],
)
def test_bad_filter_and_cursor_values_are_ignored_never_a_500(world, client, query):
    for name, make in SIGNED.items():
        query = query.replace(name, make())
    client.force_login(world.people["org_admin"])
    response = client.get(f"{LIST}?{query}")
    assert response.status_code == 200
    page = response.content.decode()
    if query.startswith(("after=", "before=")):
        # A cursor that cannot be read is the first page.
        assert _names(page) == {"Owner weekly report", "Owner paused recap"}


def test_a_bad_filter_value_is_shown_beside_its_field(world, client):
    client.force_login(world.people["owner"])
    page = _page(client, "status=bogus")
    assert "Select a valid choice" in page
    assert _names(page) == {"Owner weekly report", "Owner paused recap"}


def test_empty_states_no_automations_offers_templates_and_no_match_says_so(world, client):
    colleague = world.people["member"]
    client.force_login(colleague)
    page = _page(client)
    assert 'id="no-automations"' in page and 'id="no-match"' not in page
    assert f"{reverse('dashboard:automation-new')}?template=weekly-pipeline-report" in page
    assert "?template=interview-briefing" in page
    client.force_login(world.people["owner"])
    page = _page(client, "q=nothing-like-this")
    assert 'id="no-match"' in page and 'id="no-automations"' not in page


def _follow(client, start, link):
    """Names page by page along the `link` ("Next" / "Previous") links."""
    pages, query = [], start
    for _ in range(20):
        page = _page(client, query)
        pages.append(re.findall(r'<a href="/automations/[0-9a-f-]{36}/">([^<]+)</a>', page))
        found = re.search(rf'<a href="/automations/\?([^"]+)"[^>]*>{link}</a>', page)
        if not found:
            return pages
        query = found.group(1).replace("&amp;", "&")
    raise AssertionError("pages never end")


def test_keyset_pages_cover_every_row_exactly_once_and_keep_the_filters(world, client, monkeypatch):
    monkeypatch.setattr(automation_list_query, "PAGE_SIZE", 7)
    owner = world.people["owner"]
    # Equal names too: the pk breaks the tie, so none is skipped or shown twice.
    for n in range(20):
        automation(org=world.org, owner=owner, name=f"Report {n % 6:02d}")
    client.force_login(owner)
    pages = _follow(client, "q=report&status=active", "Next")
    names = [name for page in pages for name in page]
    expected = list(
        Automation.objects.filter(name__icontains="report", status="active")
        .order_by("name", "pk")
        .values_list("name", flat=True)
    )
    assert len(expected) == 21 and names == expected
    assert [len(p) for p in pages] == [7, 7, 7]
    # And back: "Previous" from the last page walks the same pages in reverse.
    last_query = None
    page = _page(client, "q=report&status=active")
    for _ in range(2):
        last_query = re.search(r'<a href="/automations/\?([^"]+)"[^>]*>Next</a>', page).group(1)
        page = _page(client, last_query.replace("&amp;", "&"))
    back = _follow(client, last_query.replace("&amp;", "&"), "Previous")
    assert back == list(reversed(pages))
    assert "q=report" in last_query and "status=active" in last_query


def test_pages_turn_after_the_longest_names(world, client, monkeypatch):
    """A cursor holds the last row's name: at the longest a name may be (200 characters,
    here ones JSON quotes as 6 each) the next page still follows, not the first again."""
    monkeypatch.setattr(automation_list_query, "PAGE_SIZE", 2)
    owner = world.people["owner"]
    for n in range(5):
        # Distinct characters, so compressing the cursor cannot make it short.
        name = f"{n}" + "".join(chr(0x4E00 + 97 * i + n) for i in range(199))
        automation(org=world.org, owner=owner, name=name)
    client.force_login(owner)
    pages = _follow(client, "", "Next")
    names = [name for page in pages for name in page]
    assert len(names) == len(set(names)) == Automation.objects.filter(owner=owner).count()
    assert all(len(page) <= 2 for page in pages) and len(pages) >= 3


def _list_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        _page(client)
    return len(queries)


def test_the_query_count_does_not_grow_with_the_rows(world, client):
    admin = world.people["org_admin"]
    client.force_login(admin)

    def add(count):
        for n in range(count):
            made = automation(
                org=world.org,
                owner=world.people["owner"],
                name=f"Bulk {n:03d}-{uuid.uuid4().hex[:4]}",
                channels=[{"kind": "in_app"}, {"kind": "email", "to": ["a@example.test"]}],
            )
            AutomationRun.objects.create(
                automation=made,
                organization=world.org,
                triggered_by=AutomationRun.TriggeredBy.SCHEDULE,
                idempotency_key=f"cron:{n}",
                scheduled_for=timezone.now(),
                status=AutomationRun.Status.COMPLETED,
            )

    add(3)  # 5 with the world's two
    small = _list_queries(client)
    add(55)  # 60
    big = _list_queries(client)
    assert small == big, (small, big)


# -- inline pause and resume ------------------------------------------------------------------


def test_inline_pause_and_resume_swap_the_row(world, client):
    owner = world.people["owner"]
    client.force_login(owner)
    active = world.rows["active"]
    response = client.post(
        reverse("dashboard:automation-pause", args=[active.public_id]), {"here": "q=x"}, **HTMX
    )
    assert response.status_code == 200
    row = response.content.decode()
    assert row.lstrip().startswith(f'<tr id="automation-{active.public_id}">')
    assert "Paused by owner from the dashboard" in row and "Resume" in row
    active.refresh_from_db()
    assert active.status == "paused" and active.next_run_at is None
    assert 'value="/automations/?q=x"' in row  # the next no-JS post returns to the same list
    response = client.post(reverse("dashboard:automation-resume", args=[active.public_id]), **HTMX)
    assert response.status_code == 200 and "Pause" in response.content.decode()
    active.refresh_from_db()
    assert active.status == "active" and active.next_run_at is not None


def test_no_js_pause_redirects_back_with_a_message_and_only_to_this_site(world, client):
    client.force_login(world.people["owner"])
    active = world.rows["active"]
    url = reverse("dashboard:automation-pause", args=[active.public_id])
    response = client.post(url, {"next": "/automations/?status=active"})
    assert response.status_code == 302 and response["Location"] == "/automations/?status=active"
    page = client.get(response["Location"]).content.decode()
    assert "Paused Owner weekly report." in page
    response = client.post(
        reverse("dashboard:automation-resume", args=[active.public_id]),
        {"next": "https://evil.example/"},
    )
    assert response["Location"] == LIST


@pytest.fixture
def free_org(db):
    return OrganizationFactory(name="Free Co", plan=Organization.Plan.FREE)


def _free_with(free_org, *, active: int, paused: int):
    owner = member(free_org, username="free_owner")
    for n in range(active):
        automation(org=free_org, owner=owner, name=f"Active {n}")
    rows = []
    for n in range(paused):
        made = automation(org=free_org, owner=owner, name=f"Paused {n}") if active < 5 else None
        if made is None:  # the plan is full: make it as a paused row directly
            made = Automation.objects.create(
                organization=free_org,
                owner=owner,
                name=f"Paused {n}",
                skill_id=Automation.objects.filter(organization=free_org).first().skill_id,
                trigger_type="cron",
                cron_expression="0 9 * * 1",
                status="paused",
            )
        else:
            made = automation_pause(automation=made, by=owner)
        rows.append(made)
    return owner, rows


def test_resume_over_the_free_plan_is_a_message_beside_the_row_and_changes_nothing(
    free_org, client
):
    owner, (paused,) = _free_with(free_org, active=5, paused=1)
    client.force_login(owner)
    url = reverse("dashboard:automation-resume", args=[paused.public_id])
    response = client.post(url, **HTMX)
    assert response.status_code == 422
    body = response.content.decode()
    assert "The Free plan allows 5 active automations" in body and 'role="alert"' in body
    paused.refresh_from_db()
    assert paused.status == "paused"
    response = client.post(url, follow=True)  # without JS: back to the list, the message
    assert "The Free plan allows 5 active automations" in response.content.decode()


def test_a_pending_automation_cannot_be_paused_around_its_approval(world, client):
    world.org.approval_policy = "all"
    world.org.save()
    owner = world.people["owner"]
    pending = automation(org=world.org, owner=owner, name="Needs approval")
    assert pending.status == "pending_approval"
    client.force_login(owner)
    response = client.post(reverse("dashboard:automation-pause", args=[pending.public_id]), **HTMX)
    assert response.status_code == 422
    pending.refresh_from_db()
    assert pending.status == "pending_approval"
    outcome = automations_bulk(
        user=owner, org=world.org, public_ids=[pending.public_id], action="pause"
    )
    assert [r.name for r in outcome.failed] == ["Needs approval"]
    pending.refresh_from_db()
    assert pending.status == "pending_approval"


# -- bulk actions -----------------------------------------------------------------------------


def test_bulk_partial_failure_resumes_what_fits_and_says_why_the_rest_did_not(free_org, client):
    owner, paused = _free_with(free_org, active=3, paused=3)
    outcome = automations_bulk(
        user=owner, org=free_org, public_ids=[p.public_id for p in paused], action="resume"
    )
    assert [r.name for r in outcome.done] == ["Paused 0", "Paused 1"]
    assert [r.name for r in outcome.failed] == ["Paused 2"]
    sentences = outcome.sentences()
    assert sentences[0] == "Resumed 2."
    assert sentences[1].startswith("1 could not be resumed: Paused 2: The Free plan allows 5")
    assert Automation.objects.filter(organization=free_org, status="active").count() == 5


def test_bulk_through_the_page_with_htmx_and_without(world, client):
    owner = world.people["owner"]
    client.force_login(owner)
    ids = [str(world.rows["active"].public_id), str(world.rows["paused"].public_id)]
    response = client.post(
        reverse("dashboard:automations-bulk"), {"action": "pause", "ids": ids, "q": "owner"}, **HTMX
    )
    body = response.content.decode()
    assert response.status_code == 200 and 'id="bulk-outcome"' in body
    assert "Paused 1." in body and "1 was already paused." in body
    assert 'name="q" value="owner"' in body  # the filters stay on the re-rendered list
    response = client.post(
        reverse("dashboard:automations-bulk"), {"action": "resume", "ids": ids, "status": "paused"}
    )
    assert response.status_code == 302 and response["Location"] == "/automations/?status=paused"
    assert "Resumed 2." in client.get(response["Location"]).content.decode()


def test_colleague_bulk_pausing_the_owners_automation_changes_nothing(world, client):
    colleague = world.people["member"]
    active = world.rows["active"]
    outcome = automations_bulk(
        user=colleague, org=world.org, public_ids=[active.public_id, "not-a-uuid"], action="pause"
    )
    assert outcome.done == [] and outcome.failed == []
    assert sorted(outcome.not_found) == sorted([str(active.public_id), "not-a-uuid"])
    active.refresh_from_db()
    assert active.status == "active"
    client.force_login(colleague)
    response = client.post(
        reverse("dashboard:automations-bulk"),
        {"action": "delete", "confirm": "yes", "ids": [str(active.public_id)]},
        follow=True,
    )
    assert "1 was not found" in response.content.decode()
    assert Automation.objects.filter(pk=active.pk).exists()


def test_another_orgs_admin_cannot_reach_this_orgs_rows_in_bulk(world):
    outcome = automations_bulk(
        user=world.people["other_org_admin"],
        org=world.other_org,
        public_ids=[world.rows["active"].public_id],
        action="delete",
    )
    assert outcome.not_found == [str(world.rows["active"].public_id)]
    assert Automation.objects.filter(pk=world.rows["active"].pk).exists()
    # Nor by naming the org: the rows are what the user may change there.
    outcome = automations_bulk(
        user=world.people["other_org_admin"],
        org=world.org,
        public_ids=[world.rows["active"].public_id],
        action="delete",
    )
    assert outcome.not_found and Automation.objects.filter(pk=world.rows["active"].pk).exists()


def test_delete_asks_first_then_deletes(world, client):
    client.force_login(world.people["org_admin"])
    ids = [str(world.rows["active"].public_id), str(world.rows["paused"].public_id)]
    response = client.post(
        reverse("dashboard:automations-bulk"), {"action": "delete", "ids": ids, "skill": "x"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and "Delete 2 automations?" in body
    assert "Owner weekly report" in body and 'name="confirm" value="yes"' in body
    assert Automation.objects.filter(organization=world.org).count() == 2
    fragment = client.post(
        reverse("dashboard:automations-bulk"), {"action": "delete", "ids": ids}, **HTMX
    ).content.decode()
    assert fragment.lstrip().startswith('<div id="automation-results">')
    response = client.post(
        reverse("dashboard:automations-bulk"), {"action": "delete", "ids": ids, "confirm": "yes"}
    )
    assert response.status_code == 302
    assert not Automation.objects.filter(organization=world.org).exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"action": "pause"}, "Select at least one automation."),
        ({"action": "explode", "ids": ["x"]}, "Choose what to do"),
        ({"ids": ["x"]}, "Choose what to do"),
        (
            {"action": "pause", "ids": [str(uuid.uuid4()) for _ in range(MAX_BULK_IDS + 1)]},
            f"At most {MAX_BULK_IDS} automations at a time",
        ),
    ],
    ids=["no-ids", "bad-action", "no-action", "too-many"],
)
def test_bulk_requests_that_cannot_be_done_are_an_error_and_change_nothing(
    world, client, data, message
):
    client.force_login(world.people["owner"])
    before = _statuses(world)
    response = client.post(reverse("dashboard:automations-bulk"), data, **HTMX)
    assert response.status_code == 422 and message in response.content.decode()
    response = client.post(reverse("dashboard:automations-bulk"), data, follow=True)
    assert message in response.content.decode()
    assert _statuses(world) == before


def test_the_bulk_service_refuses_bad_actions_and_too_many_ids(world):
    owner = world.people["owner"]
    with pytest.raises(ValidationError) as bad:
        automations_bulk(user=owner, org=world.org, public_ids=[uuid.uuid4()], action="drop")
    assert "action" in bad.value.message_dict
    with pytest.raises(ValidationError) as many:
        automations_bulk(
            user=owner,
            org=world.org,
            public_ids=[uuid.uuid4() for _ in range(bulk.MAX_BULK_IDS + 1)],
            action="pause",
        )
    assert "ids" in many.value.message_dict


# -- templates gallery ------------------------------------------------------------------------


def test_templates_page_links_each_template_to_the_builder(world, client):
    from automations.templates_catalog import TEMPLATES

    client.force_login(world.people["owner"])
    page = client.get(reverse("dashboard:templates")).content.decode()
    for template in TEMPLATES:
        assert f"/automations/new/?template={template['key']}" in page
        assert template["title"] in page
    assert "Not available yet" in page  # the llm skills, labelled
    assert "Needs the Pro plan" not in page  # the factory org is on Pro


def test_templates_page_on_free_says_which_need_pro(free_org, client):
    owner = member(free_org, username="free_user", role=Membership.Role.MEMBER)
    client.force_login(owner)
    page = client.get(reverse("dashboard:templates")).content.decode()
    card = re.search(r'id="template-new-applicant-alert">(.*?)</li>', page, re.S).group(1)
    assert "Needs the Pro plan" in card
    weekly = re.search(r'id="template-weekly-pipeline-report">(.*?)</li>', page, re.S).group(1)
    assert "Needs the Pro plan" not in weekly
