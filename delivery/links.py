"""Links we put in messages: the run's page in the dashboard, signed for one recipient when
that recipient is an email address rather than a user who can log in.

The signed link names the run (in the signature's salt, so a token for one run never opens
another) and a hash of the recipient's address (so the URL, which lands in access logs, holds
no address), and expires after RUN_LINK_MAX_AGE_HOURS."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse

RUN_LINK_PARAM = "k"
_RUN_LINK_SALT = "skillomatic.run-link"


class RunLinkInvalid(Exception):
    """The token was not made by us for this run (tampered, truncated, another run's)."""


class RunLinkExpired(RunLinkInvalid):
    """The token is ours and for this run, but older than RUN_LINK_MAX_AGE_HOURS."""


def address_hash(address: str) -> str:
    """What we store and sign instead of an email address (sha256 of the lowercased address)."""
    return hashlib.sha256(address.strip().lower().encode()).hexdigest()


def _signer(run_public_id) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"{_RUN_LINK_SALT}:{run_public_id}")


def run_link_token(run, *, recipient: str) -> str:
    return _signer(run.public_id).sign(address_hash(recipient))


def run_link_check(token: str, *, run_public_id) -> str:
    """The recipient's address hash the token was made for, or RunLinkInvalid/RunLinkExpired."""
    max_age = settings.RUN_LINK_MAX_AGE_HOURS * 3600
    try:
        return _signer(run_public_id).unsign(token, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise RunLinkExpired(str(exc)) from None
    except signing.BadSignature as exc:
        raise RunLinkInvalid(str(exc)) from None


def run_page_url(run, *, recipient: str | None = None) -> str:
    """The run's page in the dashboard: members log in to see it; with `recipient`, a link
    that lets that one email recipient open this one run's page without an account."""
    url = settings.SITE_URL + reverse("run-detail", args=[run.public_id])
    if recipient:
        url += "?" + urlencode({RUN_LINK_PARAM: run_link_token(run, recipient=recipient)})
    return url
