"""Acceptance for API tokens: from the profile, make a token, copy it (shown once), see that
a reload no longer shows it, and revoke it after confirming; axe on the page."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.api_tokens import TokenError, api_token_authenticate
from accounts.models import ApiToken
from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import OrganizationFactory, member


def test_make_copy_and_revoke_a_token(page, site):
    org = OrganizationFactory(name="Acme Talent")
    user = member(org, username="recruiter")
    sign_in(page, site, user)
    page.goto(f"{site}/profile/")
    page.get_by_role("link", name="Manage your API tokens").click()
    expect(page.get_by_role("heading", name="API tokens", exact=True)).to_be_visible()
    assert_accessible(page, what="the API tokens page, empty")

    page.get_by_label("Name").fill("Reporting script")
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Make the token").click()
    shown = page.locator("#new-token")
    expect(shown).to_be_visible()
    raw = shown.text_content().strip()
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    assert api_token_authenticate(raw)[0] == user

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    copy = page.locator('button[data-copy="#new-token"]')
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == raw
    assert_accessible(page, what="the API tokens page, a token just made")

    page.goto(f"{site}/profile/tokens/")
    expect(page.locator("#new-token")).to_have_count(0)
    row = page.locator("tr", has_text="Reporting script")
    expect(row).to_contain_text("Live")

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    row.get_by_role("button", name="Revoke").click()
    expect(page.locator("tr", has_text="Reporting script")).to_contain_text("Revoked")
    assert asked and "Revoke the token Reporting script?" in asked[0]
    assert ApiToken.objects.get(user=user).revoked_at is not None
    try:
        api_token_authenticate(raw)
    except TokenError as exc:
        assert exc.code == "revoked"
    else:
        raise AssertionError("a revoked token still authenticated")
