"""The isolation matrix every API endpoint is checked against: the owner of the rows, a
colleague in the same org, the org's admin, a user in no org, another org's admin, nobody
signed in, and (once API tokens exist) an expired and a revoked token.

Each endpoint test module lists its endpoints as `CASES` (one `Case` per URL name and
method) and runs them with `check_case`; tests/api/test_every_endpoint_covered.py fails when
an API URL has no case. A refused request must change nothing: a Case's `state` reads what the
request would change, before and after, and both must be equal for every refused role.

Requests are sent as JSON with a session (APIClient.force_login) or, for the token roles, with
`Authorization: Bearer <key>` made by `make_token` (tokens lane: see TOKEN_HOOK below)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rest_framework.test import APIClient

SESSION_ROLES = ("owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous")
TOKEN_ROLES = ("expired_token", "revoked_token")


def _default_token_maker(user: Any, *, expired: bool = False, revoked: bool = False) -> str | None:
    """The raw key of a new API token of `user` (expired or revoked as asked), made by the
    tokens service as a person makes one in the dashboard."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.api_tokens import api_token_create, api_token_revoke
    from accounts.models import ApiToken

    token, raw = api_token_create(user=user, name=f"matrix {ApiToken.objects.count()}")
    if expired:
        ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    if revoked:
        api_token_revoke(token=token, by=user)
    return raw


make_token: Callable[..., str | None] = _default_token_maker


def tokens_available() -> bool:
    try:
        import accounts.api_auth  # noqa: F401
    except ImportError:
        return False
    return make_token is not None


def roles() -> tuple[str, ...]:
    """The roles every Case is checked for (the token ones once tokens exist)."""
    return SESSION_ROLES + (TOKEN_ROLES if tokens_available() else ())


# What each role gets for an object of `owner` in `org` (the fetchers' usual rule): the owner
# and the org's admin may see and change it; the colleague gets a 404 (someone else's row is
# no row to them), and so do the outsider and the other org's admin, for whom `org` itself does
# not exist; nobody signed in (or a dead token) is a 401.
OWNED_OBJECT = {
    "owner": 200,
    "member": 404,
    "org_admin": 200,
    "outsider": 404,
    "other_org_admin": 404,
    "anonymous": 401,
    "expired_token": 401,
    "revoked_token": 401,
}
# An org-wide list or page: every member sees it (each only their rows).
ORG_LIST = {**OWNED_OBJECT, "member": 200}


def expect(base: dict[str, int], **changes: int | tuple[int, ...]) -> dict:
    """A copy of a table with some roles changed: expect(OWNED_OBJECT, owner=201, org_admin=201)."""
    return {**base, **changes}


@dataclass
class World:
    """The people and rows a Case builds its request from (tests/api/conftest.py `world`)."""

    org: Any
    other_org: Any
    people: dict[str, Any]
    rows: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    url_name: str  # the API URL name ("api:<url_name>") this case covers
    method: str  # get, post, patch, put, delete
    path: Callable[[World], str]
    expect: dict[str, int | tuple[int, ...]]
    data: Callable[[World], Any] | None = None
    # For writes: what the request would change, read before and after each request.
    state: Callable[[World], Any] | None = None
    # Text that must not appear in the answer for these roles (another org's names, ...).
    hidden_from: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.url_name}"


def client_for(world: World, role: str) -> APIClient:
    """A fresh client acting as `role` (session login, a token, or nobody)."""
    client = APIClient()
    if role in TOKEN_ROLES:
        key = make_token(
            world.people["owner"],
            expired=role == "expired_token",
            revoked=role == "revoked_token",
        )
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    elif world.people.get(role) is not None:
        # Signed-in roles call as integrators do, with a live token of their own (the
        # session path, which the dashboard uses, has its own tests).
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_token(world.people[role])}")
    return client


def send(client: APIClient, method: str, path: str, data: Any = None, **headers: str):
    """A JSON request (GET/DELETE without a body)."""
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    if method in ("get", "delete") and data is None:
        return getattr(client, method)(path, **extra)
    body = json.dumps(data if data is not None else {})
    return getattr(client, method)(path, body, content_type="application/json", **extra)


def check_case(case: Case, world: World, role: str) -> None:
    """Request the case's URL as `role`; assert the status, the error format on a refusal, and
    for a refused request that nothing changed."""
    client = client_for(world, role)
    path = case.path(world)
    before = case.state(world) if case.state else None
    data = case.data(world) if case.data else None
    response = send(client, case.method, path, data, **case.headers)
    wanted = case.expect[role]
    wanted = wanted if isinstance(wanted, tuple) else (wanted,)
    assert response.status_code in wanted, (
        f"{case} as {role}: {response.status_code}, wanted {wanted}: {response.content[:300]!r}"
    )
    body = response.content.decode(errors="replace")
    if response.status_code >= 400:
        assert_error(response)
    if response.status_code == 401:
        assert response.get("WWW-Authenticate"), f"{case} as {role}: 401 without a challenge"
    for text in case.hidden_from.get(role, []):
        assert text not in body, f"{case} as {role} shows {text!r}"
    if case.state is not None and response.status_code >= 400:
        assert case.state(world) == before, f"{case} as {role} was refused but changed state"


def assert_error(response, code: str | None = None) -> dict:
    """The one error format; returns the error object."""
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    payload = response.json()
    assert set(payload) == {"error"}, payload
    error = payload["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str)
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code, error
    return error
