"""Unsubscribing an email address from one email channel (RFC 8058 one-click, and the page a
person opens from the footer link).

The token in the link is signed with a salt of its own and names the channel and a hash of the
address: it is the proof that the request comes from someone who received that channel's mail
at that address, which is why the POST needs no CSRF token. It does not expire: an
unsubscribe link in an old email must still work, and all it can do is stop mail."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.urls import reverse

from delivery.links import address_hash
from delivery.models import DeliveryChannel, EmailSuppression

_SALT = "skillomatic.email-unsubscribe"


class UnsubscribeLinkInvalid(Exception):
    """Not a token of ours, or its channel no longer exists."""


def unsubscribe_token(*, channel: DeliveryChannel, address: str) -> str:
    return signing.dumps({"c": channel.public_id.hex, "a": address_hash(address)}, salt=_SALT)


def unsubscribe_url(*, channel: DeliveryChannel, address: str) -> str:
    token = unsubscribe_token(channel=channel, address=address)
    return settings.SITE_URL + reverse("email-unsubscribe", args=[token])


def unsubscribe_check(token: str) -> tuple[DeliveryChannel, str]:
    """(channel, address hash) the token names, or UnsubscribeLinkInvalid."""
    try:
        data = signing.loads(token, salt=_SALT)
        channel_id, hashed = uuid.UUID(hex=data["c"]), data["a"]
    except (signing.BadSignature, ValueError, TypeError, KeyError, AttributeError):
        # BadSignature for anything we did not sign; the rest cannot happen for a token we
        # made, but a signed value is still never trusted to have our shape.
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid.") from None
    if not isinstance(hashed, str) or len(hashed) != 64:
        raise UnsubscribeLinkInvalid("This unsubscribe link is not valid.")
    channel = (
        DeliveryChannel.objects.select_related("owner", "organization")
        .filter(public_id=channel_id, kind=DeliveryChannel.Kind.EMAIL)
        .first()
    )
    if channel is None:
        raise UnsubscribeLinkInvalid(
            "The email channel this link belongs to has been removed: nothing more is sent from it."
        )
    return channel, hashed


def email_unsubscribe(*, token: str) -> tuple[DeliveryChannel, bool]:
    """Stop the token's channel sending to the token's address. Idempotent: returns
    (channel, created), created False when the address had already unsubscribed."""
    channel, hashed = unsubscribe_check(token)
    _row, created = EmailSuppression.objects.get_or_create(channel=channel, address_hash=hashed)
    return channel, created


def is_unsubscribed(*, channel: DeliveryChannel, address_hash: str) -> bool:
    return EmailSuppression.objects.filter(channel=channel, address_hash=address_hash).exists()


def unsubscribed_among(*, channel: DeliveryChannel, addresses: Iterable[str]) -> set[str]:
    """The addresses (as given) that unsubscribed from the channel."""
    hashed = {a: address_hash(a) for a in addresses}
    found = set(
        EmailSuppression.objects.filter(
            channel=channel, address_hash__in=set(hashed.values())
        ).values_list("address_hash", flat=True)
    )
    return {a for a, h in hashed.items() if h in found}
