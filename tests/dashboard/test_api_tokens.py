"""The API tokens page under the profile: the list shows the user's own tokens only; a new
token is shown once, in the answer to the POST that made it (no-store), never on a reload;
revoking is the owner's alone (anyone else's token is a 404, the org admin's view included)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.api_tokens import api_token_authenticate, api_token_create
from accounts.models import ApiToken
from tests.dashboard.access import Case, check_case

pytestmark = pytest.mark.django_db

OWNER_TOKEN = "Owner's reporting script"
EVERYONE_SIGNED_IN = {
    "owner": 200,
    "member": 200,
    "org_admin": 200,
    "outsider": 200,
    "other_org_admin": 200,
    "anonymous": 302,
}
OWNER_ONLY_WRITE = {
    "owner": 302,
    "member": 404,
    "org_admin": 404,
    "outsider": 404,
    "other_org_admin": 404,
    "anonymous": 302,
}


@pytest.fixture(autouse=True)
def _owner_token(world):
    token, raw = api_token_create(user=world.people["owner"], name=OWNER_TOKEN)
    world.rows["token"], world.rows["raw"] = token, raw


def _owner_revoked_at(w):
    return ApiToken.objects.filter(pk=w.rows["token"].pk).values_list("revoked_at").first()


CASES = [
    Case(
        "api-tokens",
        "get",
        lambda w: reverse("dashboard:api-tokens"),
        EVERYONE_SIGNED_IN,
        hidden_from={
            role: [OWNER_TOKEN, "sko_"]
            for role in ("member", "org_admin", "outsider", "other_org_admin")
        },
    ),
    Case(
        "api-tokens",
        "post",
        lambda w: reverse("dashboard:api-tokens"),
        EVERYONE_SIGNED_IN,
        data=lambda w: {"name": "New one", "expires": "30"},
        state=lambda w: ApiToken.objects.count(),
        hidden_from={role: [OWNER_TOKEN] for role in ("member", "org_admin", "outsider")},
    ),
    Case(
        "api-token-revoke",
        "post",
        lambda w: reverse("dashboard:api-token-revoke", args=[w.rows["token"].prefix]),
        OWNER_ONLY_WRITE,
        state=_owner_revoked_at,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


def test_a_new_token_is_shown_once_and_works(client, world):
    owner = world.people["owner"]
    client.force_login(owner)
    response = client.post(reverse("dashboard:api-tokens"), {"name": "CI", "expires": "never"})
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    token = ApiToken.objects.get(user=owner, name="CI")
    assert token.expires_at is None
    raw = body.split('<code id="new-token">', 1)[1].split("</code>", 1)[0]
    assert raw.startswith(f"sko_{token.prefix}_")
    assert "will not be shown again" in body
    assert 'data-copy="#new-token"' in body
    assert api_token_authenticate(raw)[1] == token
    # A reload of the list never shows it again.
    again = client.get(reverse("dashboard:api-tokens")).content.decode()
    assert raw not in again and "new-token" not in again
    assert f"sko_{token.prefix}_…" in again


def test_a_bad_name_is_answered_422_and_nothing_is_made(client, world):
    owner = world.people["owner"]
    client.force_login(owner)
    before = ApiToken.objects.count()
    for data in (
        {"name": "", "expires": "90"},
        {"name": OWNER_TOKEN, "expires": "90"},
        {"name": "x", "expires": "7"},
    ):
        response = client.post(reverse("dashboard:api-tokens"), data)
        assert response.status_code == 422, data
        assert "sko_" not in response.content.decode().replace(
            f"sko_{world.rows['token'].prefix}_…", ""
        )
    assert ApiToken.objects.count() == before


def test_revoke_marks_the_token_revoked_and_it_stops_working(client, world):
    client.force_login(world.people["owner"])
    token = world.rows["token"]
    response = client.post(reverse("dashboard:api-token-revoke", args=[token.prefix]))
    assert response.status_code == 302
    page = client.get(reverse("dashboard:api-tokens")).content.decode()
    assert "Revoked" in page
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    # Revoking again is harmless.
    again = client.post(reverse("dashboard:api-token-revoke", args=[token.prefix]))
    assert again.status_code == 302


def test_the_profile_links_to_the_tokens(client, world):
    client.force_login(world.people["member"])
    body = client.get(reverse("dashboard:profile")).content.decode()
    assert reverse("dashboard:api-tokens") in body
