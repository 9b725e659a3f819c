"""The inbox: the recipient's own items in the current org, newest first and paged, bodies
rendered as text, mark read (only by the recipient, not even by an org admin), mark all
read, and the header's unread badge."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from automations.firing import run_fire
from automations.run_keys import manual_key
from delivery.inbox import notification_mark_read, notifications_mark_all_read
from delivery.models import Notification
from tests.dashboard.access import ORG_PAGE, Case, check_case
from tests.factories import automation

pytestmark = pytest.mark.django_db

OWNER_ITEM = "Pipeline report for the owner"


def _item(user, org, title="An item", **fields) -> Notification:
    return Notification.objects.create(organization=org, user=user, title=title, **fields)


@pytest.fixture(autouse=True)
def _owner_item(world):
    world.rows["item"] = _item(world.people["owner"], world.org, OWNER_ITEM)


def _read_at(w):
    return Notification.objects.filter(pk=w.rows["item"].pk).values_list("read_at").first()


# Only the recipient marks an item read: the org admin gets the same 404 as a colleague.
RECIPIENT_WRITE = {
    "owner": 302,
    "member": 404,
    "org_admin": 404,
    "outsider": 403,
    "other_org_admin": 404,
    "anonymous": 302,
}
CASES = [
    Case(
        "inbox",
        "get",
        lambda w: reverse("dashboard:inbox"),
        ORG_PAGE,
        hidden_from={
            role: [OWNER_ITEM] for role in ("member", "org_admin", "other_org_admin", "outsider")
        },
    ),
    Case(
        "notification-read",
        "post",
        lambda w: reverse("dashboard:notification-read", args=[w.rows["item"].public_id]),
        RECIPIENT_WRITE,
        state=_read_at,
    ),
    Case(
        "inbox-read-all",
        "post",
        lambda w: reverse("dashboard:inbox-read-all"),
        {**ORG_PAGE, "owner": 302, "member": 302, "org_admin": 302, "other_org_admin": 302},
        state=_read_at,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


@pytest.mark.parametrize("role", ["member", "org_admin", "other_org_admin"])
def test_nobody_but_the_recipient_marks_an_item_read(world, client, role):
    item = world.rows["item"]
    client.force_login(world.people[role])
    url = reverse("dashboard:notification-read", args=[item.public_id])
    assert client.post(url).status_code == 404
    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 404
    # Their "mark all read" marks their own items only.
    client.post(reverse("dashboard:inbox-read-all"))
    item.refresh_from_db()
    assert item.read_at is None
    with pytest.raises(PermissionDenied):
        notification_mark_read(notification=item, by=world.people[role])


def test_not_even_a_superuser_marks_someone_elses_item(world, superuser):
    with pytest.raises(PermissionDenied):
        notification_mark_read(notification=world.rows["item"], by=superuser)


# -- the page -------------------------------------------------------------------------------


def test_items_show_title_time_automation_run_link_and_a_safe_body(world, client):
    owner = world.people["owner"]
    auto = automation(org=world.org, owner=owner, name="Monday pipeline")
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    item = _item(
        owner,
        world.org,
        "Pipeline <b>report</b>",
        automation=auto,
        run=run,
        body_markdown=(
            "### Stages\n- **Onsite**: 3\n<script>alert(1)</script> <img src=x onerror=alert(1)>\n"
            "[ours](http://127.0.0.1:8000/runs/) [theirs](https://evil.example/)\n"
        ),
    )
    client.force_login(owner)
    html = client.get(reverse("dashboard:inbox")).content.decode()
    block = html[html.index(f'id="notification-{item.public_id}"') :]
    block = block[: block.index("</article>")]
    assert "Pipeline &lt;b&gt;report&lt;/b&gt;" in block
    assert "<h3>Stages</h3>" in block and "<li><strong>Onsite</strong>: 3</li>" in block
    assert "<script>" not in block and "<img" not in block
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in block
    assert 'href="https://evil.example/' not in block and "theirs" in block
    assert "Automation: Monday pipeline" in block
    assert f'href="{reverse("run-detail", args=[run.public_id])}"' in block
    assert re.search(
        r'<time datetime="[^"]+">\w{3} \d+ \w{3} \d{4}, \d\d:\d\d E[SD]T</time>', block
    )
    # Unread is said in words, not only by colour.
    assert '<span class="status unread">Unread</span>' in block


def test_newest_first_and_paged_by_a_cursor(world, client, monkeypatch):
    from automations.dashboard import inbox as inbox_view

    monkeypatch.setattr(inbox_view, "PAGE_SIZE", 4)
    owner = world.people["owner"]
    base = timezone.now() - timedelta(days=1)
    items = [_item(owner, world.org, f"Item {i:02}") for i in range(9)]
    for i, item in enumerate(items):
        # Two items share each instant: the id breaks the tie, so none is lost or repeated.
        Notification.objects.filter(pk=item.pk).update(created_at=base + timedelta(hours=i // 2))
    Notification.objects.filter(pk=world.rows["item"].pk).update(created_at=base - timedelta(1))
    client.force_login(owner)
    seen, url = [], reverse("dashboard:inbox")
    for _ in range(5):
        html = client.get(url).content.decode()
        seen += re.findall(r'<h2 id="title-[^"]+">(?:<span[^>]*>Unread</span> )?([^<]+)</h2>', html)
        more = re.search(r'href="([^"]+)" rel="next">Older', html)
        if not more:
            break
        url = more[1].replace("&amp;", "&")
    assert seen == [f"Item {i:02}" for i in [8, 7, 6, 5, 4, 3, 2, 1, 0]] + [OWNER_ITEM]
    for bad in ("nonsense", "a" * 3000, "W10:1:abc"):
        page = client.get(reverse("dashboard:inbox"), {"after": bad})
        assert page.status_code == 200 and "Item 08" in page.content.decode()


def test_only_the_current_orgs_items_and_only_ones_own(world, client):
    owner = world.people["owner"]
    _item(world.people["member"], world.org, "The colleague's item")
    from tests.factories import MembershipFactory

    MembershipFactory(user=owner, organization=world.other_org)
    _item(owner, world.other_org, "From the other org")
    client.force_login(owner)
    html = client.get(reverse("dashboard:inbox")).content.decode()
    assert OWNER_ITEM in html
    assert "The colleague&#x27;s item" not in html and "From the other org" not in html


def test_an_empty_inbox_says_so(world, client):
    client.force_login(world.people["member"])
    assert "Nothing here yet" in client.get(reverse("dashboard:inbox")).content.decode()


# -- marking read ---------------------------------------------------------------------------


def test_mark_read_swaps_the_item_and_refreshes_the_badge(world, client):
    item, owner = world.rows["item"], world.people["owner"]
    client.force_login(owner)
    response = client.post(
        reverse("dashboard:notification-read", args=[item.public_id]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "inbox-refresh" in response["HX-Trigger"]
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li id="notification-{item.public_id}"')
    assert "Unread" not in html and "Mark read" not in html and "Read " in html
    item.refresh_from_db()
    first = item.read_at
    assert first is not None
    # Again: still read, with its first read time.
    client.post(reverse("dashboard:notification-read", args=[item.public_id]))
    item.refresh_from_db()
    assert item.read_at == first


def test_mark_read_without_javascript_redirects_back(world, client):
    item = world.rows["item"]
    client.force_login(world.people["owner"])
    response = client.post(reverse("dashboard:notification-read", args=[item.public_id]))
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:inbox")
    page = client.get(response["Location"]).content.decode()
    assert "Marked &#x27;Pipeline report for the owner&#x27; read." in page


def test_mark_all_read_marks_only_the_users_own_items_in_this_org(world, client):
    owner, colleague = world.people["owner"], world.people["member"]
    mine = [world.rows["item"], _item(owner, world.org), _item(owner, world.org)]
    already = _item(owner, world.org, read_at=timezone.now() - timedelta(days=2))
    theirs = _item(colleague, world.org)
    from tests.factories import MembershipFactory

    MembershipFactory(user=owner, organization=world.other_org)
    elsewhere = _item(owner, world.other_org)
    client.force_login(owner)
    response = client.post(reverse("dashboard:inbox-read-all"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "inbox-refresh" in response["HX-Trigger"]
    html = response.content.decode()
    assert "Marked 3 items read." in html and "Unread</span>" not in html
    assert all(Notification.objects.get(pk=n.pk).read_at for n in mine)
    assert Notification.objects.get(pk=already.pk).read_at == already.read_at
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert Notification.objects.get(pk=elsewhere.pk).read_at is None


def test_mark_all_read_is_one_update(world):
    owner = world.people["owner"]
    for _ in range(5):
        _item(owner, world.org)
    with CaptureQueriesContext(connection) as queries:
        assert notifications_mark_all_read(user=owner, org=world.org) == 6
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    with pytest.raises(PermissionDenied):
        notifications_mark_all_read(user=world.people["other_org_admin"], org=world.org)


# -- the badge ------------------------------------------------------------------------------


def test_the_badge_counts_the_users_unread_items_in_this_org(world, client):
    owner = world.people["owner"]
    _item(owner, world.org)
    _item(owner, world.org, read_at=timezone.now())
    _item(world.people["member"], world.org)
    client.force_login(owner)

    def badge() -> str:
        return client.get(reverse("dashboard:inbox-badge"), HTTP_HX_REQUEST="true").content.decode()

    assert '2<span class="visually-hidden"> unread</span>' in badge()
    page = client.get(reverse("dashboard:inbox")).content.decode()
    assert '2<span class="visually-hidden"> unread</span>' in page
    client.post(reverse("dashboard:notification-read", args=[world.rows["item"].public_id]))
    assert '1<span class="visually-hidden"> unread</span>' in badge()
    client.post(reverse("dashboard:inbox-read-all"))
    assert 'class="badge empty"' in badge() and "unread" not in badge()


# -- cost -----------------------------------------------------------------------------------


def _fill(owner, org, count):
    auto = automation(org=org, owner=owner, name=f"Auto {count}")
    for _ in range(count):
        run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
        _item(owner, org, automation=auto, run=run, body_markdown="- a line\n")


def test_the_inbox_query_count_does_not_grow_with_rows(world, client):
    owner = world.people["owner"]
    client.force_login(owner)
    _fill(owner, world.org, 2)
    client.get(reverse("dashboard:inbox"))
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("dashboard:inbox"))
    _fill(owner, world.org, 20)
    with CaptureQueriesContext(connection) as big:
        html = client.get(reverse("dashboard:inbox")).content.decode()
    assert html.count("Open the run") == 22
    assert len(big) == len(small), [q["sql"] for q in big.captured_queries]
