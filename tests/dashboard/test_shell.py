"""Signing in (throttled), signing out, the profile's time zone, the org switcher and the
headers every page carries."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import UserProfile
from accounts.profile import workplace_for
from tests.dashboard.access import ORG_PAGE, Case, check_case
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _zone(world, role="owner"):
    return UserProfile.objects.filter(user=world.people[role]).values_list("time_zone").first()


def _current(world, role="owner"):
    return (
        UserProfile.objects.filter(user=world.people[role])
        .values_list("current_organization")
        .first()
    )


SIGNED_IN = {
    "owner": 302,
    "member": 302,
    "org_admin": 302,
    "outsider": 302,
    "other_org_admin": 302,
    "anonymous": 302,
}
CASES = [
    Case(
        "home",
        "get",
        lambda w: reverse("dashboard:home"),
        {**ORG_PAGE, "owner": 302, "member": 302, "org_admin": 302, "other_org_admin": 302},
    ),
    Case("sign-in", "get", lambda w: reverse("dashboard:sign-in"), {**SIGNED_IN, "anonymous": 200}),
    Case("sign-out", "post", lambda w: reverse("dashboard:sign-out"), SIGNED_IN),
    Case(
        "profile",
        "get",
        lambda w: reverse("dashboard:profile"),
        {**ORG_PAGE, "outsider": 200},
    ),
    Case(
        "profile",
        "post",
        lambda w: reverse("dashboard:profile"),
        {**SIGNED_IN, "anonymous": 302},
        data=lambda w: {"time_zone": "Europe/Paris"},
        state=lambda w: _zone(w),
    ),
    Case(
        "switch-org",
        "post",
        lambda w: reverse("dashboard:switch-org"),
        {**SIGNED_IN, "outsider": 403},
        # Into the other org, which only its admin belongs to: refused (a message) for the
        # rest, and their current org unchanged.
        data=lambda w: {"org": str(w.other_org.public_id)},
        state=lambda w: _current(w),
    ),
    Case(
        "inbox-badge",
        "get",
        lambda w: reverse("dashboard:inbox-badge"),
        ORG_PAGE,
        htmx=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=str)
@pytest.mark.parametrize(
    "role", ["owner", "member", "org_admin", "outsider", "other_org_admin", "anonymous"]
)
def test_access(case, role, world, client_factory):
    check_case(case, world, role, client_factory)


def test_switching_into_an_org_you_are_not_in_is_refused(world, client):
    owner = world.people["owner"]
    client.force_login(owner)
    response = client.post(
        reverse("dashboard:switch-org"), {"org": str(world.other_org.public_id)}, follow=True
    )
    assert "You are not a member of that organization." in response.content.decode()
    assert workplace_for(user=owner).org == world.org


def test_a_person_in_two_orgs_switches_and_the_choice_sticks(world, client):
    owner = world.people["owner"]
    MembershipFactory(user=owner, organization=world.other_org)
    client.force_login(owner)
    page = client.get(reverse("dashboard:profile")).content.decode()
    assert 'name="org"' in page and world.other_org.name in page
    response = client.post(
        reverse("dashboard:switch-org"),
        {"org": str(world.other_org.public_id), "next": reverse("dashboard:profile")},
    )
    assert response.status_code == 302 and response["Location"] == reverse("dashboard:profile")
    assert workplace_for(user=owner).org == world.other_org
    # Leaving the chosen org falls back to the one left, not to an error.
    owner.memberships.filter(organization=world.other_org).delete()
    assert workplace_for(user=owner).org == world.org


def test_a_redirect_after_switching_stays_on_this_site(world, client):
    owner = world.people["owner"]
    MembershipFactory(user=owner, organization=world.other_org)
    client.force_login(owner)
    response = client.post(
        reverse("dashboard:switch-org"),
        {"org": str(world.other_org.public_id), "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("dashboard:home")


def test_the_profile_time_zone_is_checked_and_used(world, client):
    owner = world.people["owner"]
    client.force_login(owner)
    bad = client.post(reverse("dashboard:profile"), {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert "is not a known time zone" in bad.content.decode()
    assert workplace_for(user=owner).time_zone == world.org.time_zone  # the org's, unchanged
    ok = client.post(reverse("dashboard:profile"), {"time_zone": "Asia/Tokyo"}, follow=True)
    assert ok.status_code == 200
    assert "Times are shown in Asia/Tokyo" in ok.content.decode()
    client.post(reverse("dashboard:profile"), {"time_zone": ""})
    assert workplace_for(user=owner).time_zone == world.org.time_zone


def test_sign_in_with_the_form_and_out_again(world, client):
    owner = world.people["owner"]  # password "pw-for-tests" (tests/factories.py)
    page = client.get(reverse("dashboard:sign-in"))
    assert page.status_code == 200 and 'autocomplete="current-password"' in page.content.decode()
    response = client.post(
        reverse("dashboard:sign-in"), {"username": owner.username, "password": "pw-for-tests"}
    )
    assert response.status_code == 302
    assert client.get(reverse("dashboard:profile")).status_code == 200
    client.post(reverse("dashboard:sign-out"))
    assert client.get(reverse("dashboard:profile")).status_code == 302


def test_sign_in_is_throttled_per_username_and_address(world, client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    owner = world.people["owner"]
    for _ in range(3):
        wrong = client.post(
            reverse("dashboard:sign-in"), {"username": owner.username, "password": "nope"}
        )
    assert wrong.status_code in (200, 429)
    # Locked out now: even the right password is refused, with a page that says why.
    locked = client.post(
        reverse("dashboard:sign-in"), {"username": owner.username, "password": "pw-for-tests"}
    )
    assert locked.status_code == 429
    assert "Too many sign-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    # Another username from the same address is not locked out by it.
    other = UserFactory(username="someone-else")
    MembershipFactory(user=other, organization=world.org)
    fine = client.post(
        reverse("dashboard:sign-in"), {"username": other.username, "password": "pw-for-tests"}
    )
    assert fine.status_code == 302


def test_a_wrong_password_says_so_without_saying_which_part(world, client):
    response = client.post(
        reverse("dashboard:sign-in"), {"username": "nobody-here", "password": "x"}
    )
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_pages_carry_a_strict_content_security_policy(world, client):
    client.force_login(world.people["owner"])
    response = client.get(reverse("dashboard:profile"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    # No inline script or style for the policy to block.
    assert "<script>" not in html and " style=" not in html and "<style" not in html


def test_a_person_in_no_org_is_told_so(world, client):
    client.force_login(world.people["outsider"])
    response = client.get(reverse("dashboard:home"))
    assert response.status_code == 403
    assert "You are not in an organization yet" in response.content.decode()


def test_an_htmx_request_after_the_session_ended_reloads_to_sign_in(world, client):
    response = client.get(
        reverse("dashboard:inbox-badge"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/runs/",
    )
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(reverse("dashboard:sign-in"))


def test_static_files_are_served_by_the_app(world, client):
    response = client.get("/static/dashboard/app.css")
    assert response.status_code == 200
    assert b"--accent" in b"".join(response.streaming_content)
