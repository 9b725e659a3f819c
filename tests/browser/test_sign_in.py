"""Signing in through the real page, and the shell's accessibility."""

from __future__ import annotations

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import OrganizationFactory, member


def test_sign_in_page_and_profile(page, site):
    org = OrganizationFactory(name="Acme Talent")
    user = member(org, username="recruiter")
    page.goto(f"{site}/sign-in/")
    assert_accessible(page, what="sign-in page")
    page.get_by_label("Username").fill("recruiter")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    sign_in(page, site, user)
    page.goto(f"{site}/profile/")
    assert_accessible(page, what="profile page")
    page.get_by_label("Your time zone").fill("Asia/Tokyo")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Times are shown in Asia/Tokyo").wait_for()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{site}/sign-in/")
