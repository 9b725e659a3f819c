"""The MCP server at /mcp/ (automations/mcp/), driven by the official `mcp` client SDK over
real HTTP against the live server on 127.0.0.1, as Claude Desktop or Claude Code would: the
handshake, the tool list, each tool, who may touch what, and refusals that stay refusals
(isError results, 401s), never a 500.

The client runs in `asyncio.run` (on a thread of its own) between ORM calls: the database is
set up before and checked after, never from inside the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import urllib.error
import urllib.request
from typing import Any

import httpx2
import mcp.types as types
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.exceptions import MCPError
from mcp.types.version import LATEST_HANDSHAKE_VERSION

from accounts.api_tokens import api_token_create
from accounts.models import AuditEvent
from automations.models import Automation, AutomationDraft, AutomationRun
from tests.factories import automation

pytestmark = pytest.mark.django_db(transaction=True)

WEEKLY = "Every Monday at 9am, send me a summary of my pipeline"
TOOL_NAMES = {
    "draft_automation",
    "confirm_automation",
    "list_automations",
    "pause_automation",
    "resume_automation",
    "automation_history",
}


@pytest.fixture(autouse=True)
def _catalog(transactional_db):
    """The skill catalog (a data migration's rows, gone after another test's flush)."""
    from skills.catalog import catalog_sync
    from skills.models import Skill

    catalog_sync(Skill)


@pytest.fixture
def url(live_server) -> str:
    return f"{live_server.url}/mcp/"


def token_for(user) -> str:
    return api_token_create(user=user, name="Claude")[1]


async def _session_calls(url: str, token: str | None, calls: list[tuple[str, dict]]):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(url, http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        init = await session.initialize()
        tools = await session.list_tools()
        results = [await session.call_tool(name, args) for name, args in calls]
        return init, tools, results


def in_own_loop(coro):
    """Run `coro` with asyncio.run on a thread of its own: a Playwright test earlier in the
    same xdist worker leaves an event loop running on the main thread, where asyncio.run
    refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def run(url: str, token: str | None, *calls: tuple[str, dict]):
    return in_own_loop(_session_calls(url, token, list(calls)))


def text(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content)


def post(url: str, body: Any, token: str | None, **headers: str) -> tuple[int, dict, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Accept", "application/json, text/event-stream")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else None


# -- the handshake and the tools ----------------------------------------------------------


def test_initialize_and_list_tools(url, org, owner):
    init, tools, _ = run(url, token_for(owner))
    assert init.protocol_version == LATEST_HANDSHAKE_VERSION
    assert init.server_info.name == "skillomatic"
    assert init.capabilities.tools is not None
    assert {tool.name for tool in tools.tools} == TOOL_NAMES
    for tool in tools.tools:
        assert tool.input_schema["type"] == "object" and tool.description


def test_the_sdks_default_client_falls_back_to_the_handshake(url, org, owner):
    """mcp.Client in its default "auto" mode first probes server/discover (the 2026 era);
    the server names the versions it speaks and the client goes on with initialize."""
    from mcp import Client

    async def listed():
        headers = {"Authorization": f"Bearer {token_for_owner}"}
        async with (
            create_mcp_http_client(headers=headers) as http,
            Client(streamable_http_client(url, http_client=http)) as client,
        ):
            return client.protocol_version, await client.list_tools()

    token_for_owner = token_for(owner)
    version, tools = in_own_loop(listed())
    assert version == LATEST_HANDSHAKE_VERSION
    assert {tool.name for tool in tools.tools} == TOOL_NAMES


def test_a_user_in_no_org_is_told_so(url, outsider):
    _, _, [answer] = run(url, token_for(outsider), ("list_automations", {}))
    assert answer.is_error and "not a member of any organization" in text(answer)


def test_draft_then_confirm_creates_the_automation(url, org, owner):
    token = token_for(owner)
    _, _, [drafted] = run(url, token, ("draft_automation", {"text": WEEKLY}))
    assert not drafted.is_error, text(drafted)
    card = text(drafted)
    assert "Trigger:" in card and "Pipeline report" in card and "Output:" in card
    draft = AutomationDraft.objects.get(user=owner)
    assert str(draft.public_id) in card
    assert not Automation.objects.filter(owner=owner).exists()  # nothing before confirming

    _, _, [confirmed] = run(url, token, ("confirm_automation", {"draft_id": str(draft.public_id)}))
    assert not confirmed.is_error, text(confirmed)
    created = Automation.objects.get(owner=owner)
    assert str(created.public_id) in text(confirmed)
    assert created.cron_expression == "0 9 * * 1"
    # Audited as made from the MCP surface.
    assert AuditEvent.objects.filter(
        target_id=str(created.public_id), surface=AuditEvent.Surface.MCP
    ).exists()


def test_another_users_token_cannot_confirm_the_draft(url, org, owner, member, org_admin):
    _, _, [drafted] = run(url, token_for(owner), ("draft_automation", {"text": WEEKLY}))
    assert not drafted.is_error
    draft_id = str(AutomationDraft.objects.get(user=owner).public_id)
    for other in (member, org_admin):  # drafts are personal, an admin's token included
        _, _, [refused] = run(url, token_for(other), ("confirm_automation", {"draft_id": draft_id}))
        assert refused.is_error and "no such draft" in text(refused).lower()
    assert not Automation.objects.exists()


def test_nonsense_is_not_understood_with_examples(url, org, owner):
    _, _, [answer] = run(url, token_for(owner), ("draft_automation", {"text": "purple monkey"}))
    assert answer.is_error
    assert "for example" in text(answer)
    assert not AutomationDraft.objects.exists()


def test_list_pause_resume_and_history(url, org, owner):
    mine = automation(org=org, owner=owner, name="Weekly pipeline")
    AutomationRun.objects.create(
        automation=mine,
        organization=org,
        status=AutomationRun.Status.FAILED,
        triggered_by=AutomationRun.TriggeredBy.SCHEDULE,
        idempotency_key="cron:test",
        scheduled_for=mine.created_at,
        finished_at=mine.created_at,
        error_code="ats_unavailable",
        error_message="The ATS did not answer.",
    )
    token = token_for(owner)
    ident = {"automation_id": str(mine.public_id)}
    _, _, [listed, paused, paused_list, resumed, history] = run(
        url,
        token,
        ("list_automations", {}),
        ("pause_automation", ident),
        ("list_automations", {"status": "paused"}),
        ("resume_automation", ident),
        ("automation_history", {**ident, "limit": 5}),
    )
    assert "Weekly pipeline" in text(listed) and str(mine.public_id) in text(listed)
    assert not paused.is_error and "Paused" in text(paused)
    assert "Weekly pipeline" in text(paused_list)
    assert not resumed.is_error and "Resumed" in text(resumed)
    assert "Failed" in text(history) and "The ATS did not answer." in text(history)
    mine.refresh_from_db()
    assert mine.status == Automation.Status.ACTIVE and mine.next_run_at is not None
    surfaces = set(
        AuditEvent.objects.filter(target_id=str(mine.public_id)).values_list("surface", flat=True)
    )
    assert AuditEvent.Surface.MCP in surfaces


def test_another_orgs_or_colleagues_automation_is_not_found(
    url, org, owner, member, other_org, other_org_admin
):
    theirs = automation(org=other_org, owner=other_org_admin, name="Their pipeline")
    colleagues = automation(org=org, owner=member, name="Colleague's pipeline")
    calls = [
        (tool, {"automation_id": str(row.public_id)})
        for row in (theirs, colleagues)
        for tool in ("pause_automation", "resume_automation", "automation_history")
    ]
    _, _, [listed, *refused] = run(url, token_for(owner), ("list_automations", {}), *calls)
    assert "Their pipeline" not in text(listed) and "Colleague" not in text(listed)
    for result in refused:
        assert result.is_error and "no such automation" in text(result).lower()
    theirs.refresh_from_db()
    colleagues.refresh_from_db()
    assert theirs.status == colleagues.status == Automation.Status.ACTIVE


@pytest.mark.parametrize(
    ("tool", "args", "says"),
    [
        ("draft_automation", {"text": "x" * 50_000}, "text"),
        ("draft_automation", {"text": 42}, "text"),
        ("draft_automation", {}, "text"),
        ("draft_automation", {"text": WEEKLY, "time_zone": "Mars/Olympus"}, "time zone"),
        ("draft_automation", {"text": WEEKLY, "time_zone": "../../etc/passwd"}, "time zone"),
        ("confirm_automation", {"draft_id": "not-a-uuid"}, "no such draft"),
        ("confirm_automation", {"draft_id": ["a"]}, "draft_id"),
        ("pause_automation", {"automation_id": "'; drop table"}, "no such automation"),
        ("automation_history", {"automation_id": "x", "limit": "ten"}, "limit"),
        ("automation_history", {"automation_id": "x", "limit": 10_000}, "limit"),
        ("list_automations", {"status": "nonsense"}, "status"),
        ("list_automations", {"extra": 1}, "extra"),
        ("no_such_tool", {}, "no tool"),
    ],
)
def test_hostile_arguments_are_refusals_not_errors(url, org, owner, tool, args, says):
    _, _, [result] = run(url, token_for(owner), (tool, args))
    assert result.is_error
    assert says in text(result).lower()


# -- authentication and the transport -----------------------------------------------------


@pytest.mark.parametrize("token", [None, "sko_nonsense", "sko_abcdefghij_wrongsecret"])
def test_no_token_or_a_bad_token_is_401_and_the_client_fails_cleanly(url, org, owner, token):
    status, headers, body = post(
        url,
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        token,
        MCP_Protocol_Version=LATEST_HANDSHAKE_VERSION,
    )
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert body["error"]["message"]
    with pytest.raises(BaseExceptionGroup) as raised:  # anyio's task group wraps it
        run(url, token)
    assert raised.group_contains(MCPError)


def test_revoked_token_is_refused(url, org, owner):
    from accounts.api_tokens import api_token_revoke

    row, token = api_token_create(user=owner, name="Claude")
    api_token_revoke(token=row, by=owner)
    status, _, body = post(url, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, token)
    assert status == 401 and "revoked" in body["error"]["message"]


def test_session_cookie_alone_is_not_enough(live_server, org, owner):
    """A signed-in browser's cookie must not work: the view reads the token only (it is
    csrf_exempt because of that)."""
    owner.set_password("pw")
    owner.save()
    with httpx2.Client(base_url=live_server.url) as client:
        client.get("/sign-in/")
        status, _, _ = post(
            f"{live_server.url}/mcp/",
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            None,
            Cookie="; ".join(f"{k}={v}" for k, v in client.cookies.items()),
        )
    assert status == 401


def test_transport_rules(url, org, owner):
    token = token_for(owner)
    # GET (a server stream) and DELETE (a session) are not offered in stateless mode.
    for method in ("GET", "DELETE"):
        request = urllib.request.Request(url, method=method)
        request.add_header("Authorization", f"Bearer {token}")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 405
    # A notification is accepted with nothing to say.
    status, _, body = post(url, {"jsonrpc": "2.0", "method": "notifications/initialized"}, token)
    assert (status, body) == (202, None)
    # Not JSON, not JSON-RPC, an unknown method, a protocol version we do not speak.
    status, _, body = post(url, b"{nope", token)
    assert status == 400 and body["error"]["code"] == types.PARSE_ERROR
    status, _, body = post(url, {"hello": "world"}, token)
    assert status == 400 and body["error"]["code"] == types.INVALID_REQUEST
    status, _, body = post(url, {"jsonrpc": "2.0", "id": 7, "method": "resources/list"}, token)
    assert status == 200 and body["id"] == 7 and body["error"]["code"] == types.METHOD_NOT_FOUND
    status, _, body = post(
        url, {"jsonrpc": "2.0", "id": 8, "method": "ping"}, token, MCP_Protocol_Version="1999-01-01"
    )
    assert status == 400 and body["error"]["code"] == types.UNSUPPORTED_PROTOCOL_VERSION
    # Wrong params for a known method: a JSON-RPC error, not a 500.
    status, _, body = post(
        url, {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": 5}}, token
    )
    assert status == 200 and body["error"]["code"] == types.INVALID_PARAMS
    # A batch on 2025-03-26 (the one version with batches).
    status, _, body = post(
        url,
        [
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
        ],
        token,
        MCP_Protocol_Version="2025-03-26",
    )
    assert status == 200 and [row["id"] for row in body] == [1, 2]
    assert {t["name"] for t in body[1]["result"]["tools"]} == TOOL_NAMES
    # A huge body is refused before it is read as JSON.
    status, _, _ = post(url, b"[" + b"1," * 200_000 + b"1]", token)
    assert status == 413


def test_rate_limited_like_the_api(url, org, owner, settings):
    from django.core.cache import cache

    cache.clear()  # earlier tests' counts (a flushed database reuses token ids)
    settings.API_RATE_PER_TOKEN = "2/min"
    token = token_for(owner)
    statuses = [
        post(url, {"jsonrpc": "2.0", "id": i, "method": "ping"}, token)[0] for i in range(3)
    ]
    assert statuses == [200, 200, 429]
