"""Personal API tokens: made, revoked, listed and checked only here, so the dashboard, the
admin and the API's authentication class apply one set of rules.

A token reads `sko_<prefix>_<secret>`. The prefix (10 letters and digits, stored unique) finds
the row; only the SHA-256 of the whole token is stored, compared in constant time. The secret
is 32 random bytes from `secrets`, so a fast hash is enough (nothing to brute-force), and a
slow password hash would only slow every API call. The token itself is returned once, by
`api_token_create`, and never again.

A token acts as its user in every org they belong to, so making and revoking one is logged in
each of those orgs' audit logs (with its name and prefix; never the token)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.audit import AuditAction, audit_record
from accounts.models import ApiToken, Membership

TOKEN_START = "sko_"
PREFIX_LENGTH = 10
SECRET_BYTES = 32
# Letters and digits only, so the "_" after the prefix always ends it.
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length

# Expiry choices offered by the dashboard, in days; None: never expires.
EXPIRY_CHOICES: tuple[tuple[int | None, str], ...] = (
    (30, "30 days"),
    (90, "90 days"),
    (365, "1 year"),
    (None, "Never"),
)
DEFAULT_EXPIRY_DAYS = 90
MAX_LIVE_TOKENS = 20
# last_used_at is written at most this often per token: a busy integration would otherwise
# write the row on every request.
LAST_USED_EVERY = timedelta(minutes=1)
TARGET_TYPE = "api_token"


class TokenError(Exception):
    """Why a presented token was refused; `code` names the case for the API's error body."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_status(token: ApiToken, *, now: datetime | None = None) -> str:
    """ "revoked", "expired" or "live"."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= now:
        return "expired"
    return "live"


def _live_q(now: datetime) -> Q:
    return Q(revoked_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def api_tokens_for_user(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (live, expired and revoked)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def api_token_get_for_user(*, user: AbstractBaseUser, prefix: str) -> ApiToken:
    """One of the user's own tokens by its prefix; ApiToken.DoesNotExist for anyone else's
    (even a superuser's dashboard shows only their own)."""
    if not isinstance(prefix, str) or len(prefix) > PREFIX_LENGTH * 2:
        raise ApiToken.DoesNotExist
    return api_tokens_for_user(user=user).get(prefix=prefix)


def _label(token: ApiToken) -> str:
    return f"{token.name} ({token.prefix})"


def _audit_everywhere(*, token: ApiToken, actor: AbstractBaseUser, action: str, **extra) -> None:
    memberships = Membership.objects.filter(user_id=token.user_id).select_related("organization")
    for membership in memberships:
        audit_record(
            org=membership.organization,
            actor=actor,
            action=action,
            target_type=TARGET_TYPE,
            target_id=token.prefix,
            target_label=_label(token),
            **extra,
        )


def _expiry(
    *, expires_at: datetime | None, expires_in_days: int | None, never: bool
) -> datetime | None:
    now = timezone.now()
    if never:
        return None
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            raise ValidationError({"expires_at": "Give the expiry with a time zone."})
        if expires_at <= now:
            raise ValidationError({"expires_at": "The expiry must be in the future."})
        return expires_at
    days = DEFAULT_EXPIRY_DAYS if expires_in_days is None else expires_in_days
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
        raise ValidationError({"expires_in_days": "Give between 1 and 3650 days."})
    return now + timedelta(days=days)


@transaction.atomic
def api_token_create(
    *,
    user: AbstractBaseUser,
    name: str,
    expires_at: datetime | None = None,
    expires_in_days: int | None = None,
    never_expires: bool = False,
) -> tuple[ApiToken, str]:
    """Make a token for `user`; returns (row, the token itself). The token is in no row: show
    it now, it cannot be shown again. Expires in 90 days unless told otherwise."""
    if not user.is_active:
        raise PermissionDenied("An inactive user cannot make API tokens.")
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise ValidationError({"name": "Give the token a name (what uses it)."})
    if len(name) > NAME_MAX_LENGTH or not name.isprintable():
        raise ValidationError(
            {"name": f"Use at most {NAME_MAX_LENGTH} printable characters for the name."}
        )
    expiry = _expiry(expires_at=expires_at, expires_in_days=expires_in_days, never=never_expires)
    now = timezone.now()
    # Lock the user's rows so two simultaneous creates cannot both pass the cap or the name
    # check (a no-op on SQLite, whose writes are serialised anyway).
    live = list(
        ApiToken.objects.select_for_update()
        .filter(_live_q(now), user=user)
        .values_list("name", flat=True)
    )
    if len(live) >= MAX_LIVE_TOKENS:
        raise ValidationError(
            {"name": f"You have {MAX_LIVE_TOKENS} live tokens: revoke one you no longer use."}
        )
    if name.casefold() in {n.casefold() for n in live}:
        raise ValidationError({"name": "You already have a live token with that name."})
    for _ in range(5):
        prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        raw = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user, name=name, prefix=prefix, key_hash=_hash(raw), expires_at=expiry
                )
            break
        except IntegrityError:  # a prefix already taken (one chance in 36^10): draw again
            continue
    else:  # pragma: no cover - five collisions in a row do not happen
        raise RuntimeError("Could not draw a free token prefix.")
    _audit_everywhere(
        token=token,
        actor=user,
        action=AuditAction.API_TOKEN_CREATE,
        changes={
            "name": {"from": None, "to": name},
            "expires_at": {"from": None, "to": expiry.isoformat() if expiry else "never"},
        },
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: AbstractBaseUser) -> ApiToken:
    """Revoke `token` from now on. Only its owner or a superuser may; revoking a revoked
    token changes nothing (and logs nothing)."""
    if token.user_id != by.pk and not (by.is_active and by.is_superuser):
        raise PermissionDenied("Only the token's owner can revoke it.")
    now = timezone.now()
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        token.refresh_from_db(fields=["revoked_at"])
        return token
    token.revoked_at = now
    _audit_everywhere(
        token=token,
        actor=by,
        action=AuditAction.API_TOKEN_REVOKE,
        changes={"revoked_at": {"from": None, "to": now.isoformat()}},
    )
    return token


def _parse(raw: object) -> tuple[str, str] | None:
    """(prefix, raw) for a string shaped like a token, else None."""
    if not isinstance(raw, str) or len(raw) > 200 or not raw.startswith(TOKEN_START):
        return None
    prefix, sep, secret = raw[len(TOKEN_START) :].partition("_")
    if not sep or len(prefix) != PREFIX_LENGTH or not secret:
        return None
    if not all(c in _PREFIX_ALPHABET for c in prefix):
        return None
    return prefix, raw


def api_token_authenticate(raw: object) -> tuple[AbstractBaseUser, ApiToken]:
    """The (user, token) a presented token stands for; TokenError (code "malformed",
    "unknown", "revoked", "expired" or "inactive") otherwise. Notes the use, at most once a
    minute per token."""
    parsed = _parse(raw)
    if parsed is None:
        raise TokenError("malformed", "That is not an API token (they start with sko_).")
    prefix, raw = parsed
    token = ApiToken.objects.select_related("user").filter(prefix=prefix).first()
    # Compare even when no row was found, so an unknown prefix costs the same time.
    stored = token.key_hash if token is not None else _hash("")
    if not hmac.compare_digest(stored, _hash(raw)) or token is None:
        raise TokenError("unknown", "No such API token.")
    now = timezone.now()
    if token.revoked_at is not None:
        when = token.revoked_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise TokenError("revoked", f"This token was revoked on {when}.")
    if token.expires_at is not None and token.expires_at <= now:
        when = token.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise TokenError("expired", f"This token expired on {when}.")
    if not token.user.is_active:
        raise TokenError("inactive", "This token's user is inactive.")
    _note_use(token, now)
    return token.user, token


def _note_use(token: ApiToken, now: datetime) -> None:
    # A conditional update: only when the last note is a minute old (or none), so a busy
    # token writes once a minute, and concurrent requests write once between them.
    stale = now - LAST_USED_EVERY
    if token.last_used_at is not None and token.last_used_at > stale:
        return
    updated = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale))
        .update(last_used_at=now)
    )
    if updated:
        token.last_used_at = now
