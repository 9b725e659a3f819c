"""The API's framework, over endpoints every user has: the error format, 401 with its
challenge, JSON only, a JSON 404 for unknown /api/ URLs, /me/, and the throttles."""

from __future__ import annotations

import pytest

from tests.api.access import assert_error, send


def test_me_lists_the_users_orgs_and_roles(api, org, other_org, org_admin):
    from accounts.models import Membership
    from tests.factories import MembershipFactory

    MembershipFactory(user=org_admin, organization=other_org, role=Membership.Role.MEMBER)
    response = api(org_admin).get("/api/v1/me/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "org_admin"
    assert [(o["slug"], o["role"]) for o in body["orgs"]] == sorted(
        [(org.slug, "admin"), (other_org.slug, "member")]
    )


def test_anonymous_is_401_with_a_bearer_challenge(api, db):
    response = api().get("/api/v1/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_error(response, "not_authenticated")


@pytest.mark.parametrize("path", ["/api/nope", "/api/v1/nope/", "/api/v1/orgs/"])
def test_unknown_api_urls_answer_json_404(api, owner, path):
    response = api(owner).get(path)
    assert response.status_code == 404
    assert_error(response, "not_found")


def test_only_json_is_answered(api, owner):
    response = api(owner).get("/api/v1/me/", HTTP_ACCEPT="text/html")
    assert response.status_code == 406
    assert_error(response, "not_acceptable")


def test_method_not_allowed_is_in_the_format(api, owner):
    response = send(api(owner), "delete", "/api/v1/me/")
    assert response.status_code == 405
    assert_error(response, "method_not_allowed")


def test_per_user_throttle_answers_429_with_retry_after(api, owner, settings):
    settings.API_RATE_PER_TOKEN = "3/min"
    client = api(owner)
    answers = [client.get("/api/v1/me/") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0]["RateLimit-Limit"] == "3"
    assert answers[2]["RateLimit-Remaining"] == "0"
    assert int(answers[3]["Retry-After"]) >= 1
    assert_error(answers[3], "throttled")


def test_session_writes_need_the_csrf_token(org, owner):
    """The dashboard calls the API with its session: a cross-site POST without the CSRF token
    is refused, as every session write is."""
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(f"/api/v1/orgs/{org.slug}/automations/", {"name": "x"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in assert_error(response, "permission_denied")["message"]
