"""The access matrix every dashboard URL is checked against: the owner of the rows, a
colleague in the same org, the org's admin, a user in no org, another org's admin, and
nobody signed in. Each area's test module lists its URLs as `CASES` (one Case per URL name
and method) and runs them with `check_case`; tests/dashboard/test_every_url_covered.py
fails when a dashboard URL has no case.

A refused write must change nothing: a Case's `state` reads what the write would change,
before and after, and the two must be equal for every role the write was refused to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ROLES = ("owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous")
# What each role gets for an object of `owner` in `org` (the usual rule of the fetchers):
# the owner and the org admin may see and change it; the colleague sees a 404 (a row of
# someone else is no row to them), so do the outsider and the other org's admin, who are in
# no org or another one (the outsider's list pages are a 403 "not in an organization").
OWNED_OBJECT = {
    "owner": 200,
    "member": 404,
    "org_admin": 200,
    "outsider": 404,
    "other_org_admin": 404,
    "anonymous": 302,
}
ORG_PAGE = {
    "owner": 200,
    "member": 200,
    "org_admin": 200,
    "outsider": 403,
    "other_org_admin": 200,  # their own org's page: tests check no row of `org` shows
    "anonymous": 302,
}


@dataclass
class World:
    """The people and rows a Case builds its request from (tests/dashboard/conftest.py)."""

    org: Any
    other_org: Any
    people: dict[str, Any]
    rows: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    url_name: str  # the dashboard URL name ("dashboard:<url_name>") this case covers
    method: str  # "get" or "post"
    path: Callable[[World], str]
    expect: dict[str, int | tuple[int, ...]]  # role -> status (or statuses)
    data: Callable[[World], dict] | None = None
    # For writes: what the write changes, read before and after each request.
    state: Callable[[World], Any] | None = None
    htmx: bool = False  # send HX-Request (the fragment the page swaps)
    # Text that must not appear in the answer for these roles (another org's row names, ...).
    hidden_from: dict[str, list[str]] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url_name}"


def check_case(case: Case, world: World, role: str, client_factory) -> None:
    """Request the case's URL as `role`; assert the status, and for a refused write that
    nothing changed. Each role gets a fresh client (no session shared)."""
    client = client_factory()
    user = world.people.get(role)
    if user is not None:
        client.force_login(user)
    path = case.path(world)
    before = case.state(world) if case.state else None
    headers = {"HTTP_HX_REQUEST": "true"} if case.htmx else {}
    data = case.data(world) if case.data else {}
    response = getattr(client, case.method)(path, data, **headers)
    wanted = case.expect[role]
    wanted = wanted if isinstance(wanted, tuple) else (wanted,)
    if role == "anonymous" and case.htmx and wanted == (302,):
        # A fragment request without a session: htmx is told to load the sign-in page.
        assert response.status_code == 200, f"{case} as anonymous: {response.status_code}"
        assert "/sign-in/" in response.get("HX-Redirect", ""), f"{case}: no HX-Redirect"
        wanted = (200,)
    assert response.status_code in wanted, (
        f"{case} as {role}: {response.status_code}, wanted {wanted}"
    )
    if role == "anonymous" and response.status_code == 302:
        assert "/sign-in/" in response["Location"], response["Location"]
    body = response.content.decode(errors="replace")
    for text in case.hidden_from.get(role, []):
        assert text not in body, f"{case} as {role} shows {text!r}"
    refused = response.status_code >= 400 or (role == "anonymous")
    if case.state is not None and refused:
        assert case.state(world) == before, f"{case} as {role} was refused but changed state"
