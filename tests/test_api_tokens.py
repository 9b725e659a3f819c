"""Personal API tokens: hashed at rest, found by prefix, expiring, revocable by their owner
only, audited in each of the user's orgs, and the DRF class that reads them from
`Authorization: Bearer`."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.api_auth import TokenAuthentication
from accounts.api_tokens import (
    MAX_LIVE_TOKENS,
    TokenError,
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    api_tokens_for_user,
)
from accounts.models import ApiToken, AuditEvent, Membership

pytestmark = pytest.mark.django_db


def _all_db_text() -> str:
    """Every text column of every row in the token and audit tables, joined."""
    rows = list(ApiToken.objects.values_list()) + list(AuditEvent.objects.values_list())
    return repr(rows)


def test_the_token_is_stored_only_as_its_hash(owner):
    token, raw = api_token_create(user=owner, name="CI")
    assert raw.startswith(f"sko_{token.prefix}_")
    assert len(token.prefix) == 10
    assert len(raw.split("_", 2)[2]) >= 43  # 32 random bytes, base64url
    assert token.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    secret = raw.split("_", 2)[2]
    assert raw not in _all_db_text() and secret not in _all_db_text()


def test_authenticate_finds_the_user_by_prefix_and_hash(owner):
    token, raw = api_token_create(user=owner, name="CI")
    api_token_create(user=owner, name="Other")
    assert api_token_authenticate(raw) == (owner, token)
    # The right prefix with another secret is unknown, as is a made-up prefix.
    with pytest.raises(TokenError) as caught:
        api_token_authenticate(f"sko_{token.prefix}_{'A' * 43}")
    assert caught.value.code == "unknown"
    with pytest.raises(TokenError) as caught:
        api_token_authenticate(f"sko_{'z' * 10}_{'A' * 43}")
    assert caught.value.code == "unknown"


@pytest.mark.parametrize(
    "raw", ["", "Bearer", "sko_", "sko_abc_def", "xyz_abcdefghij_secret", "sko_ABCDEFGHIJ_s", None]
)
def test_malformed_tokens_are_refused_as_malformed(raw):
    with pytest.raises(TokenError) as caught:
        api_token_authenticate(raw)
    assert caught.value.code == "malformed"


def test_expiry_defaults_to_90_days_and_an_expired_token_is_refused(owner):
    token, raw = api_token_create(user=owner, name="CI")
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    never, never_raw = api_token_create(user=owner, name="Forever", never_expires=True)
    assert never.expires_at is None
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        with pytest.raises(TokenError) as caught:
            api_token_authenticate(raw)
        assert caught.value.code == "expired"
        assert "expired on" in caught.value.message
        assert api_token_authenticate(never_raw)[1] == never


def test_expiry_must_be_in_the_future(owner):
    with pytest.raises(ValidationError):
        api_token_create(user=owner, name="CI", expires_at=timezone.now() - timedelta(days=1))
    with pytest.raises(ValidationError):
        api_token_create(user=owner, name="CI", expires_in_days=0)
    assert not ApiToken.objects.exists()


def test_a_name_is_required_and_unique_among_live_tokens(owner, member):
    with pytest.raises(ValidationError):
        api_token_create(user=owner, name="  ")
    token, _ = api_token_create(user=owner, name="CI")
    with pytest.raises(ValidationError):
        api_token_create(user=owner, name="ci")
    api_token_create(user=member, name="CI")  # another user's names are theirs
    api_token_revoke(token=token, by=owner)
    api_token_create(user=owner, name="CI")  # the revoked one no longer holds the name


def test_live_tokens_are_capped(owner):
    for i in range(MAX_LIVE_TOKENS):
        api_token_create(user=owner, name=f"t{i}")
    with pytest.raises(ValidationError):
        api_token_create(user=owner, name="one too many")
    api_token_revoke(token=api_tokens_for_user(user=owner).first(), by=owner)
    api_token_create(user=owner, name="one too many")


def test_revoke_only_by_the_owner_or_a_superuser_and_idempotent(owner, org_admin, superuser):
    token, raw = api_token_create(user=owner, name="CI")
    with pytest.raises(PermissionDenied):
        api_token_revoke(token=token, by=org_admin)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    api_token_revoke(token=token, by=owner)
    first = ApiToken.objects.get(pk=token.pk).revoked_at
    assert first is not None
    api_token_revoke(token=token, by=superuser)
    assert ApiToken.objects.get(pk=token.pk).revoked_at == first
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1
    with pytest.raises(TokenError) as caught:
        api_token_authenticate(raw)
    assert caught.value.code == "revoked"
    assert "This token was revoked on" in caught.value.message


def test_a_superuser_may_revoke_anyones_token(owner, superuser):
    token, _ = api_token_create(user=owner, name="CI")
    api_token_revoke(token=token, by=superuser)
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_inactive_users_tokens_are_refused(owner):
    _, raw = api_token_create(user=owner, name="CI")
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    with pytest.raises(TokenError) as caught:
        api_token_authenticate(raw)
    assert caught.value.code == "inactive"
    with pytest.raises(PermissionDenied):
        api_token_create(user=owner, name="Another")


def test_last_used_is_written_at_most_once_a_minute(owner):
    token, raw = api_token_create(user=owner, name="CI")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api_token_authenticate(raw)
        assert ApiToken.objects.get(pk=token.pk).last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        with CaptureQueriesContext(connection) as queries:
            api_token_authenticate(raw)
        assert not [q for q in queries if q["sql"].startswith("UPDATE")]
        assert ApiToken.objects.get(pk=token.pk).last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api_token_authenticate(raw)
        assert ApiToken.objects.get(pk=token.pk).last_used_at == start + timedelta(seconds=61)


def test_create_and_revoke_are_audited_in_every_org_of_the_user(owner, org, other_org):
    Membership.objects.create(user=owner, organization=other_org)
    token, raw = api_token_create(user=owner, name="CI")
    api_token_revoke(token=token, by=owner)
    events = AuditEvent.objects.filter(target_type="api_token")
    assert {(e.organization_id, e.action) for e in events} == {
        (org.pk, "api_token.create"),
        (other_org.pk, "api_token.create"),
        (org.pk, "api_token.revoke"),
        (other_org.pk, "api_token.revoke"),
    }
    assert all(e.target_label == f"CI ({token.prefix})" for e in events)
    assert all(e.actor_id == owner.pk for e in events)
    assert raw not in _all_db_text()


# -- the DRF authentication class ------------------------------------------------------------


class WhoAmI(APIView):
    authentication_classes = [TokenAuthentication]

    def get(self, request):
        return Response({"user": request.user.username, "token": request.auth.prefix})


def _call(header: str | None):
    factory = APIRequestFactory()
    extra = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    return WhoAmI.as_view()(factory.get("/api/v1/whoami", **extra))


def test_a_valid_bearer_token_authenticates_as_its_user(owner):
    token, raw = api_token_create(user=owner, name="CI")
    response = _call(f"Bearer {raw}")
    assert response.status_code == 200
    assert response.data == {"user": "owner", "token": token.prefix}


def _refused(response, code: str) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.data["error"]["code"] == code


def test_missing_and_other_schemes_are_not_authenticated(owner):
    _, raw = api_token_create(user=owner, name="CI")
    _refused(_call(None), "not_authenticated")
    _refused(_call(f"Token {raw}"), "not_authenticated")


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer nope", "Bearer sko_x_y"])
def test_malformed_bearer_headers_answer_401(header):
    _refused(_call(header), "token_malformed")


def test_unknown_revoked_expired_and_inactive_answer_401(owner):
    token, raw = api_token_create(user=owner, name="CI")
    _refused(_call(f"Bearer sko_{token.prefix}_{'B' * 43}"), "token_unknown")
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        _refused(_call(f"Bearer {raw}"), "token_expired")
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    _refused(_call(f"Bearer {raw}"), "token_inactive")
    api_token_revoke(token=token, by=owner)
    response = _call(f"Bearer {raw}")
    _refused(response, "token_revoked")
    assert "This token was revoked on" in str(response.data["error"]["message"])


# -- the admin: superusers only, read-only, revoke through the service -----------------------


def test_the_admin_lists_tokens_for_superusers_without_the_hash(client, owner, superuser):
    token, raw = api_token_create(user=owner, name="CI")
    client.force_login(superuser)
    page = client.get("/admin/accounts/apitoken/").content.decode()
    assert token.prefix in page and "CI" in page
    detail = client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert token.key_hash not in detail and raw not in detail
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403


def test_the_admin_revoke_action_goes_through_the_service(client, owner, superuser):
    token, _ = api_token_create(user=owner, name="CI")
    client.force_login(superuser)
    response = client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert AuditEvent.objects.filter(action="api_token.revoke", actor=superuser).exists()


def test_org_admins_cannot_reach_the_token_admin(client, owner, org_admin):
    token, _ = api_token_create(user=owner, name="CI")
    org_admin.is_staff = True
    org_admin.save(update_fields=["is_staff"])
    client.force_login(org_admin)
    assert client.get("/admin/accounts/apitoken/").status_code == 403
    client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk], "post": "yes"},
    )
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
