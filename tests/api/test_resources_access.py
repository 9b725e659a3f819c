"""The skills, channels, ATS connections, events and inbox endpoints against the isolation
matrix (tests/api/access.py): status for each role, the error format on refusals, nothing
changed by a refused request, and no other org's (or colleague's) names in any answer."""

from __future__ import annotations

import pytest

from delivery.models import DeliveryChannel, Notification
from tests.api.access import ORG_LIST, OWNED_OBJECT, Case, check_case, expect, roles
from tests.api.resources_world import CHANNEL_NAME, CONNECTION_NAME, NOTE_TITLE, fill
from webhooks.models import AtsConnection

# ATS connections are the org admins' (a member is told so: 403).
ADMINS = expect(OWNED_OBJECT, owner=403, member=403)
# An inbox item is its recipient's only: not even the org's admin sees it.
MINE_ONLY = expect(OWNED_OBJECT, org_admin=404)
THEIRS = {"other_org_admin": ["Their"], "member": [], "org_admin": []}


def _o(w, tail: str) -> str:
    return f"/api/v1/orgs/{w.org.slug}/{tail}"


def _channel(w, tail: str = "") -> str:
    return _o(w, f"channels/{w.rows['channel'].public_id}/{tail}")


def _connection(w, tail: str = "") -> str:
    return _o(w, f"connections/{w.rows['connection'].public_id}/{tail}")


def _note(w, tail: str = "") -> str:
    return _o(w, f"notifications/{w.rows['note'].public_id}/{tail}")


def _channel_state(w):
    row = DeliveryChannel.objects.filter(pk=w.rows["channel"].pk).first()
    return None if row is None else (row.name, row.config, row.status, row.last_error)


def _channels(w):
    return DeliveryChannel.objects.count()


def _connection_state(w):
    row = AtsConnection.objects.filter(pk=w.rows["connection"].pk).first()
    return None if row is None else (row.name, row.mode, row.secrets, row.secrets_rotated_at)


def _connections(w):
    return AtsConnection.objects.count()


def _reads(w):
    return sorted(Notification.objects.values_list("pk", "read_at"))


NEW_CHANNEL = {"kind": "email", "name": "New one", "config": {"to": ["a@example.com"]}}
NEW_CONNECTION = {"provider": "greenhouse", "name": "Another Greenhouse"}

CASES = [
    Case("skill-list", "get", lambda w: _o(w, "skills/"), ORG_LIST),
    Case("skill-detail", "get", lambda w: _o(w, "skills/pipeline-report/"), ORG_LIST),
    Case(
        "channel-list",
        "get",
        lambda w: _o(w, "channels/"),
        ORG_LIST,
        hidden_from={"member": [CHANNEL_NAME], "other_org_admin": [CHANNEL_NAME, "Their"]},
    ),
    Case(
        "channel-list",
        "post",
        lambda w: _o(w, "channels/"),
        expect(OWNED_OBJECT, owner=201, member=201, org_admin=201),
        data=lambda w: NEW_CHANNEL,
        state=_channels,
    ),
    Case("channel-detail", "get", _channel, OWNED_OBJECT, hidden_from={"member": [CHANNEL_NAME]}),
    Case(
        "channel-detail",
        "patch",
        _channel,
        OWNED_OBJECT,
        data=lambda w: {"name": "Renamed", "config": {"to": ["b@example.com"]}},
        state=_channel_state,
    ),
    Case(
        "channel-detail",
        "delete",
        _channel,
        expect(OWNED_OBJECT, owner=204, org_admin=204),
        state=_channel_state,
    ),
    Case(
        "channel-test", "post", lambda w: _channel(w, "test/"), OWNED_OBJECT, state=_channel_state
    ),
    Case(
        "connection-list",
        "get",
        lambda w: _o(w, "connections/"),
        ADMINS,
        hidden_from={"other_org_admin": [CONNECTION_NAME], "member": [CONNECTION_NAME]},
    ),
    Case(
        "connection-list",
        "post",
        lambda w: _o(w, "connections/"),
        expect(ADMINS, org_admin=201),
        data=lambda w: NEW_CONNECTION,
        state=_connections,
    ),
    Case(
        "connection-detail", "get", _connection, ADMINS, hidden_from={"member": [CONNECTION_NAME]}
    ),
    Case(
        "connection-detail",
        "patch",
        _connection,
        ADMINS,
        data=lambda w: {"name": "Renamed", "api_key": "a-new-key-value"},
        state=_connection_state,
    ),
    Case(
        "connection-detail",
        "delete",
        _connection,
        expect(ADMINS, org_admin=204),
        state=_connection_state,
    ),
    Case(
        "connection-rotate",
        "post",
        lambda w: _connection(w, "rotate/"),
        ADMINS,
        state=_connection_state,
    ),
    Case(
        "connection-test",
        "post",
        lambda w: _connection(w, "test/"),
        ADMINS,
        state=_connection_state,
    ),
    Case("event-list", "get", lambda w: _o(w, "events/"), ORG_LIST, hidden_from=THEIRS),
    Case(
        "event-detail",
        "get",
        lambda w: _o(w, f"events/{w.rows['event'].public_id}/"),
        ORG_LIST,
        hidden_from=THEIRS,
    ),
    Case(
        "notification-list",
        "get",
        lambda w: _o(w, "notifications/"),
        ORG_LIST,
        hidden_from={"member": [NOTE_TITLE], "org_admin": [NOTE_TITLE], **THEIRS},
    ),
    Case("notification-detail", "get", _note, MINE_ONLY),
    Case("notification-read", "post", lambda w: _note(w, "read/"), MINE_ONLY, state=_reads),
    Case(
        "notification-read-all",
        "post",
        lambda w: _o(w, "notifications/read-all/"),
        ORG_LIST,
        state=_reads,
    ),
]


@pytest.fixture
def rows(world):
    fill(world)
    return world


@pytest.mark.parametrize("role", roles())
@pytest.mark.parametrize("case", CASES, ids=str)
def test_resource_endpoints_isolation(case, role, rows):
    check_case(case, rows, role)


def test_read_all_marks_only_the_callers_own_items(api, rows):
    """The org's admin marking their inbox read leaves the owner's items unread."""
    response = api(rows.people["org_admin"]).post(
        f"/api/v1/orgs/{rows.org.slug}/notifications/read-all/"
    )
    assert response.status_code == 200
    assert response.json() == {"marked": 0}
    assert Notification.objects.get(pk=rows.rows["note"].pk).read_at is None


def test_operator_finds_no_other_orgs_row_under_this_org(api, rows, superuser):
    client = api(superuser)
    for tail in (
        f"channels/{rows.rows['their_channel'].public_id}/",
        f"connections/{rows.rows['their_connection'].public_id}/",
        f"events/{rows.rows['their_event'].public_id}/",
    ):
        assert client.get(f"/api/v1/orgs/{rows.org.slug}/{tail}").status_code == 404, tail
