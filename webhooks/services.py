"""Writes to ATS connections: the one place that creates, changes, deletes and tests them, and
sets and rotates their secrets. Every surface (the admin today; the dashboard and API later)
calls these, so every rule is here once.

The rules:

- Only an admin of the connection's organization (or a superuser) calls any of these
  (PermissionDenied otherwise); the provider and organization never change after creation.
- Provider: one the registry knows. Mode: webhook, polling or both; polling needs an API key.
- Base URL: optional where the ATS has one API host (its default is used), required where it
  has none (Workable); whatever is entered must pass the outbound vetting (config/outbound.py:
  no private, loopback or ambiguous URL), at the moment it is saved and again at every call.
- Secrets: printable ASCII without spaces, within bounds; stored only in the encrypted
  `secrets` field and returned by nothing here, except a secret generated here, which is
  returned once (create, rotate) for the person to paste into their ATS.
- A webhook secret can be rotated (generated here) only where the ATS takes any value we give
  it (Greenhouse, Ashby, Zoho); where the ATS issues it (Lever, Workable, SmartRecruiters) the
  new one is pasted in with connection_set_secrets.
- A changed secret is used at once: the receiver's cache in this process is dropped on commit,
  and cached API clients are keyed by the key itself (webhooks/ats_clients.py).

Errors are ValidationErrors keyed by field ("name", "provider", "mode", "base_url",
"webhook_secret", "api_key", ...), so a form shows each beside its field.
"""

from __future__ import annotations

import re
import secrets as token_source
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import AuditAction, audit_changes, audit_created, audit_record
from accounts.models import Organization
from accounts.selectors import org_admin_require
from config import outbound
from config.rows import lock_for_update
from webhooks import intake
from webhooks.ats_clients import api_client_new, api_clients_forget
from webhooks.models import AtsConnection
from webhooks.providers.api_session import ApiError
from webhooks.providers.registry import provider_get

MAX_NAME_CHARS = 120
MAX_REGION_CHARS = 40
MAX_URL_CHARS = 200  # the column's length (URLField)
MIN_SECRET_CHARS = 8
MAX_SECRET_CHARS = 512
MAX_API_KEY_CHARS = 4096  # OAuth access tokens can be long
MIN_POLL_SECONDS = 60
MAX_POLL_SECONDS = 24 * 3600
# What a secret or key may hold: it is compared byte for byte and sent in headers.
_PRINTABLE = re.compile(r"[\x21-\x7e]+")

EDITABLE = ("name", "mode", "base_url", "region", "poll_interval_seconds")
SECRET_FIELDS = ("webhook_secret", "api_key")


def new_webhook_secret() -> str:
    return token_source.token_urlsafe(32)


# -- the rules, one function each --------------------------------------------------------------


def _clean_provider(provider: object) -> str:
    if not isinstance(provider, str) or provider_get(provider) is None:
        choices = ", ".join(AtsConnection.Provider.values)
        raise ValidationError({"provider": f"Choose one of {choices}."})
    return provider


def _clean_name(org: Organization, name: object, *, exclude_pk: int | None = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({"name": "Give the connection a name."})
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise ValidationError({"name": f"At most {MAX_NAME_CHARS} characters."})
    taken = AtsConnection.objects.filter(organization=org, name__iexact=name)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationError({"name": f"{org.name} already has a connection named {name!r}."})
    return name


def _clean_mode(mode: object) -> str:
    if not isinstance(mode, str) or mode not in AtsConnection.Mode.values:
        raise ValidationError({"mode": f"Choose one of {', '.join(AtsConnection.Mode.values)}."})
    return mode


def _clean_base_url(provider: str, base_url: object) -> str:
    if base_url is None:
        base_url = ""
    if not isinstance(base_url, str) or len(base_url) > MAX_URL_CHARS:
        raise ValidationError({"base_url": f"At most {MAX_URL_CHARS} characters."})
    base_url = base_url.strip()
    api = provider_get(provider).api
    if not base_url:
        if not api.DEFAULT_BASE_URL:
            raise ValidationError(
                {"base_url": "This ATS has no single API host: enter your account's API URL."}
            )
        return ""
    try:
        outbound.check_url(base_url)
    except outbound.OutboundRefused as exc:
        raise ValidationError({"base_url": str(exc)}) from None
    return base_url


def _clean_region(region: object) -> str:
    if region is None:
        return ""
    if not isinstance(region, str) or len(region.strip()) > MAX_REGION_CHARS:
        raise ValidationError({"region": f"At most {MAX_REGION_CHARS} characters."})
    return region.strip()


def _clean_interval(seconds: object) -> int:
    if (
        not isinstance(seconds, int)
        or isinstance(seconds, bool)
        or not MIN_POLL_SECONDS <= seconds <= MAX_POLL_SECONDS
    ):
        raise ValidationError(
            {
                "poll_interval_seconds": (
                    f"Poll every {MIN_POLL_SECONDS} to {MAX_POLL_SECONDS} seconds."
                )
            }
        )
    return seconds


def _clean_secret(field: str, value: object, *, minimum: int, maximum: int) -> str:
    """A secret as pasted (surrounding whitespace dropped), or ValidationError on `field`
    that never repeats the value."""
    if not isinstance(value, str):
        raise ValidationError({field: "Paste the value as text."})
    value = value.strip()
    if not minimum <= len(value) <= maximum:
        raise ValidationError({field: f"It must be {minimum} to {maximum} characters long."})
    if not _PRINTABLE.fullmatch(value):
        raise ValidationError(
            {field: "It may hold only printable ASCII characters, without spaces."}
        )
    return value


def _check_mode_has_key(mode: str, secrets: dict[str, Any]) -> None:
    if mode in (AtsConnection.Mode.POLLING, AtsConnection.Mode.BOTH) and not secrets.get("api_key"):
        raise ValidationError({"api_key": "Polling asks the ATS API: set an API key first."})


def _forget_on_commit(connection: AtsConnection) -> None:
    """Caches that hold the old secret, mode or key in this process drop it once the change
    is committed (dropped earlier, a request could cache the old row again before then)."""
    public_id, pk = connection.public_id, connection.pk
    transaction.on_commit(lambda: intake.connection_forget(public_id))
    transaction.on_commit(lambda: api_clients_forget(connection_id=pk))


def _secrets_store(connection: AtsConnection, secrets: dict) -> None:
    """The one write of a connection's secrets (a locked row): stamped, and forgotten by this
    process's caches on commit, so no writer can leave the old secret verifying."""
    connection.secrets = secrets
    connection.secrets_rotated_at = timezone.now()
    connection.save(update_fields=["secrets", "secrets_rotated_at", "updated_at"])
    _forget_on_commit(connection)


def _audit_snapshot(connection: AtsConnection) -> dict[str, Any]:
    return {field: getattr(connection, field) for field in ("provider", *EDITABLE)}


def _secrets_snapshot(secrets: dict | None) -> dict[str, Any]:
    # Only whether each is set reaches the log ("(set)"), never the value.
    return {field: bool((secrets or {}).get(field)) or None for field in SECRET_FIELDS}


def _audit(connection: AtsConnection, by: AbstractBaseUser | None, action: str, **kw) -> None:
    audit_record(
        org=connection.organization,
        actor=by,
        action=action,
        target=connection,
        target_label=connection.name,
        **kw,
    )


# -- the services ------------------------------------------------------------------------------


@transaction.atomic
def connection_create(
    *,
    org: Organization,
    by: AbstractBaseUser,
    provider: str,
    name: str,
    mode: str = AtsConnection.Mode.WEBHOOK,
    base_url: str = "",
    region: str = "",
    poll_interval_seconds: int = 900,
    webhook_secret: str | None = None,
    api_key: str | None = None,
) -> tuple[AtsConnection, str | None]:
    """(connection, generated webhook secret or None). With no webhook_secret given, one is
    generated where the ATS takes any value (returned here once, to paste into the ATS);
    where the ATS issues it, the connection waits for it (webhooks are refused until then)."""
    org_admin_require(user=by, org=org)
    provider = _clean_provider(provider)
    stored: dict[str, str] = {}
    generated = None
    if webhook_secret:
        stored["webhook_secret"] = _clean_secret(
            "webhook_secret", webhook_secret, minimum=MIN_SECRET_CHARS, maximum=MAX_SECRET_CHARS
        )
    elif provider_get(provider).we_choose_webhook_secret:
        generated = stored["webhook_secret"] = new_webhook_secret()
    if api_key:
        stored["api_key"] = _clean_secret("api_key", api_key, minimum=1, maximum=MAX_API_KEY_CHARS)
    mode = _clean_mode(mode)
    _check_mode_has_key(mode, stored)
    connection = AtsConnection.objects.create(
        organization=org,
        provider=provider,
        name=_clean_name(org, name),
        mode=mode,
        base_url=_clean_base_url(provider, base_url),
        region=_clean_region(region),
        poll_interval_seconds=_clean_interval(poll_interval_seconds),
        secrets=stored,
        secrets_rotated_at=timezone.now() if stored else None,
    )
    _audit(
        connection,
        by,
        AuditAction.CONNECTION_CREATE,
        changes=audit_created(
            {**_audit_snapshot(connection), **_secrets_snapshot(stored)},
            secret_fields=SECRET_FIELDS,
        ),
    )
    return connection, generated


@transaction.atomic
def connection_update(
    *, connection: AtsConnection, by: AbstractBaseUser, **changes: Any
) -> AtsConnection:
    """Change any of EDITABLE (name, mode, base_url, region, poll_interval_seconds); the
    provider and organization are fixed, the secrets have their own services."""
    org_admin_require(user=by, org=connection.organization)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError({name: "This cannot be changed here." for name in sorted(unknown)})
    connection = lock_for_update(connection)
    before = _audit_snapshot(connection)
    cleaners = {
        "name": lambda v: _clean_name(connection.organization, v, exclude_pk=connection.pk),
        "mode": _clean_mode,
        "base_url": lambda v: _clean_base_url(connection.provider, v),
        "region": _clean_region,
        "poll_interval_seconds": _clean_interval,
    }
    for name, value in changes.items():
        setattr(connection, name, cleaners[name](value))
    _check_mode_has_key(connection.mode, connection.secrets or {})
    if changes:
        connection.save(update_fields=[*changes, "updated_at"])
        _forget_on_commit(connection)
    changed = audit_changes(before, _audit_snapshot(connection))
    if changed:
        _audit(connection, by, AuditAction.CONNECTION_UPDATE, changes=changed)
    return connection


@transaction.atomic
def connection_set_secrets(
    *,
    connection: AtsConnection,
    by: AbstractBaseUser,
    webhook_secret: str | None = None,
    api_key: str | None = None,
) -> AtsConnection:
    """Set the webhook secret and/or the API key as pasted (None: leave it as it is; "" for
    api_key: remove it, refused while the connection polls). Nothing is returned that holds
    them, and no error repeats them."""
    org_admin_require(user=by, org=connection.organization)
    connection = lock_for_update(connection)
    stored = dict(connection.secrets or {})
    if webhook_secret is not None:
        stored["webhook_secret"] = _clean_secret(
            "webhook_secret", webhook_secret, minimum=MIN_SECRET_CHARS, maximum=MAX_SECRET_CHARS
        )
    if api_key == "":
        stored.pop("api_key", None)
    elif api_key is not None:
        stored["api_key"] = _clean_secret("api_key", api_key, minimum=1, maximum=MAX_API_KEY_CHARS)
    _check_mode_has_key(connection.mode, stored)
    if stored != (connection.secrets or {}):
        # Which secrets were set or removed, by name: compared as values, shown as "(set)".
        changed = {
            field: {
                "from": "(set)" if (connection.secrets or {}).get(field) else None,
                "to": "(set)" if stored.get(field) else None,
            }
            for field in SECRET_FIELDS
            if stored.get(field) != (connection.secrets or {}).get(field)
        }
        _secrets_store(connection, stored)
        _audit(connection, by, AuditAction.CONNECTION_SECRET_SET, changes=changed)
    return connection


@transaction.atomic
def connection_rotate_webhook_secret(*, connection: AtsConnection, by: AbstractBaseUser) -> str:
    """A new webhook secret, stored encrypted and returned this once (paste it into the ATS):
    deliveries signed with the old one are refused from now on."""
    org_admin_require(user=by, org=connection.organization)
    if not provider_get(connection.provider).we_choose_webhook_secret:
        raise ValidationError(
            {
                "webhook_secret": (
                    f"{connection.get_provider_display()} issues the webhook secret itself: "
                    "create a new one there and paste it in."
                )
            }
        )
    connection = lock_for_update(connection)
    secret = new_webhook_secret()
    _secrets_store(connection, {**(connection.secrets or {}), "webhook_secret": secret})
    _audit(
        connection,
        by,
        AuditAction.CONNECTION_SECRET_ROTATE,
        changes={"webhook_secret": {"from": "(set)", "to": "(set)"}},
    )
    return secret


@transaction.atomic
def connection_delete(*, connection: AtsConnection, by: AbstractBaseUser) -> None:
    """Delete the connection with its events and known state (the database cascades)."""
    org_admin_require(user=by, org=connection.organization)
    _forget_on_commit(connection)
    _audit(connection, by, AuditAction.CONNECTION_DELETE)
    connection.delete()


@dataclass(frozen=True)
class ConnectionTest:
    ok: bool
    # "ok", "no_api_key", "bad_key" (401/403), "refused" (the URL fails the outbound vetting),
    # "unreachable", "timeout", "http" (another error status), "bad_answer", "too_large".
    kind: str
    message: str


def connection_test(*, connection: AtsConnection, by: AbstractBaseUser) -> ConnectionTest:
    """Ask the ATS for one small page of jobs with the connection's key, once (no retries:
    someone is waiting). Never raises for what the ATS or the network did, and no message
    holds a secret, the URL's path or query, or the ATS's answer."""
    org_admin_require(user=by, org=connection.organization)
    connection = AtsConnection.objects.get(pk=connection.pk)
    result = _probe(connection)
    # The outcome's kind only ("ok", "bad_key", ...): never the ATS's answer.
    _audit(connection, by, AuditAction.CONNECTION_TEST, note=result.kind)
    return result


def _probe(connection: AtsConnection) -> ConnectionTest:
    name = connection.get_provider_display()
    try:
        api = api_client_new(connection, retries=False)
    except ApiError:
        return ConnectionTest(False, "no_api_key", "Set an API key to test the connection.")
    try:
        api.probe()
    except ApiError as exc:
        return _failure(name, exc)
    except (ValueError, KeyError, TypeError, AttributeError):
        return ConnectionTest(
            False, "bad_answer", f"That URL answered, but not as the {name} API does."
        )
    finally:
        api.close()
    return ConnectionTest(True, "ok", f"{name} accepted the API key.")


def _failure(name: str, exc: ApiError) -> ConnectionTest:
    if exc.kind == "http" and exc.status in (401, 403):
        return ConnectionTest(
            False,
            "bad_key",
            f"{name} refused the API key ({exc.status}): check it and its permissions.",
        )
    if exc.kind == "http" and exc.status is not None:
        return ConnectionTest(False, "http", f"{name} answered with an error ({exc.status}).")
    if exc.kind == "http":  # an API-level refusal in a 200 (Ashby's success: false)
        return ConnectionTest(False, "bad_key", f"{name} refused the request: check the API key.")
    messages = {
        "refused": "The API URL is not allowed: it points to a private or internal address.",
        "timeout": f"{name} did not answer in time.",
        "unreachable": f"Could not connect to {name} at that URL.",
        "too_large": "The answer was larger than any page of jobs should be.",
    }
    return ConnectionTest(False, exc.kind, messages.get(exc.kind, f"{name} could not be read."))
