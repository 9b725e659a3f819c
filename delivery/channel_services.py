"""Creating and checking delivery channels. Secrets are validated and stored encrypted; a
webhook's signing secret is generated here and shown once."""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.audit import AuditAction, audit_changes, audit_created, audit_record
from accounts.models import Organization
from accounts.selectors import membership_require
from config import outbound
from delivery.channels.webhook import new_secret
from delivery.models import DeliveryChannel
from delivery.selectors import channels_for_user

URL_KINDS = {DeliveryChannel.Kind.SLACK, DeliveryChannel.Kind.TEAMS, DeliveryChannel.Kind.WEBHOOK}
# A Slack or Teams incoming-webhook URL is itself the credential, and a webhook's URL may
# carry a token: the audit log says they changed, never what they are.
AUDIT_SECRET_FIELDS = ("url", "secret")


def channel_audit_snapshot(channel: DeliveryChannel) -> dict:
    """The channel's editable values as the audit log compares them."""
    config = channel.config or {}
    return {
        "name": channel.name,
        "kind": channel.kind,
        "to": config.get("to"),
        "url": config.get("url"),
        "secret": config.get("secret"),
    }


def channel_audit(
    channel: DeliveryChannel, by: AbstractBaseUser | None, action: str, **kwargs
) -> None:
    audit_record(
        org=channel.organization,
        actor=by,
        action=action,
        target=channel,
        target_label=channel.name,
        **kwargs,
    )


# A sane cap on one email channel's recipients (a list, not a mailing system), and the
# longest address SMTP carries (RFC 5321).
MAX_EMAIL_RECIPIENTS = 50
MAX_EMAIL_LENGTH = 254
MAX_URL_LENGTH = 2000


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def normalize_email(address: str) -> str:
    """The form two equal addresses share: trimmed, domain lowercased (the local part may be
    case-sensitive, so it is kept)."""
    local, _, domain = address.strip().rpartition("@")
    return f"{local}@{domain.lower()}"


def clean_recipients(to: object) -> list[str]:
    """A list of email addresses (or one as a string); empty means the owner. Normalised,
    without duplicates, in the order given."""
    if to is None or to == "":
        return []
    if isinstance(to, str):
        to = [to]
    if not isinstance(to, list | tuple):
        raise ValidationError({"config": "Recipients ('to') must be a list of email addresses."})
    if len(to) > MAX_EMAIL_RECIPIENTS:
        raise ValidationError(
            {"config": f"At most {MAX_EMAIL_RECIPIENTS} recipients (this has {len(to)})."}
        )
    out: list[str] = []
    for address in to:
        if not isinstance(address, str) or len(address) > MAX_EMAIL_LENGTH:
            raise ValidationError({"config": f"{_shown(address)} is not an email address."})
        try:
            validate_email(address.strip())
        except ValidationError:
            raise ValidationError(
                {"config": f"{_shown(address)} is not an email address."}
            ) from None
        address = normalize_email(address)
        if address not in out:
            out.append(address)
    return out


def _clean_config(kind: object, config: object) -> dict:
    if not isinstance(kind, str) or kind not in DeliveryChannel.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(DeliveryChannel.Kind.values)}."})
    if not isinstance(config, dict):
        raise ValidationError({"config": "The configuration must be a JSON object."})
    if kind == DeliveryChannel.Kind.EMAIL:
        return {"to": clean_recipients(config.get("to"))}
    if kind in URL_KINDS:
        url = config.get("url") or ""
        if not isinstance(url, str) or len(url) > MAX_URL_LENGTH:
            raise ValidationError({"config": "Paste the webhook URL (at most 2000 characters)."})
        url = url.strip()
        if not url:
            raise ValidationError({"config": "Paste the webhook URL."})
        try:
            outbound.check_url(url)
        except outbound.OutboundRefused as exc:
            raise ValidationError({"config": str(exc)}) from None
        return {"url": url}
    return {}


@transaction.atomic
def channel_create(
    *, org: Organization, owner: AbstractBaseUser, kind: str, name: str, config: dict | None = None
) -> tuple[DeliveryChannel, str | None]:
    """Returns (channel, secret): for a webhook the signing secret, to show once; else None."""
    membership_require(user=owner, org=org)
    name = _clean_name(name, org=org, owner=owner)
    clean = _clean_config(kind, config or {})
    secret = None
    if kind == DeliveryChannel.Kind.WEBHOOK:
        secret = new_secret()
        clean["secret"] = secret
    channel = DeliveryChannel.objects.create(
        organization=org, owner=owner, kind=kind, name=name, config=clean
    )
    channel_audit(
        channel,
        owner,
        AuditAction.CHANNEL_CREATE,
        changes=audit_created(channel_audit_snapshot(channel), secret_fields=AUDIT_SECRET_FIELDS),
    )
    return channel, secret


MAX_NAME_LENGTH = DeliveryChannel._meta.get_field("name").max_length


def _clean_name(
    name: object, *, org: Organization, owner: AbstractBaseUser, channel_pk: int | None = None
) -> str:
    """The one rule for a channel's name, on create and on rename: given, at most the
    column's length, no NUL (PostgreSQL refuses it), and not another of the owner's
    channels' (they are picked by name)."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({"name": "Give the channel a name."})
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            {"name": f"At most {MAX_NAME_LENGTH} characters (this has {len(name)})."}
        )
    if "\x00" in name:
        raise ValidationError({"name": "Remove the NUL character."})
    taken = DeliveryChannel.objects.filter(organization=org, owner=owner, name=name)
    if channel_pk is not None:
        taken = taken.exclude(pk=channel_pk)
    if taken.exists():
        raise ValidationError({"name": f"You already have a channel named {_shown(name)}."})
    return name


def channel_check_can_manage(*, channel: DeliveryChannel, by: AbstractBaseUser) -> None:
    """The one rule for changing or using a channel from any surface, the fetchers' own
    (`channels_for_user(write=True)`): its owner (still a member of its org) or an admin of
    its org; superusers operate everything. Else PermissionDenied."""
    if by.is_superuser and by.is_active:
        return
    # First: a non-member is told so, whatever the channel.
    membership_require(user=by, org=channel.organization)
    if not channels_for_user(user=by, write=True).filter(pk=channel.pk).exists():
        raise PermissionDenied("Only the channel's owner or an org admin can change or test it.")


@transaction.atomic
def channel_update(
    *,
    channel: DeliveryChannel,
    by: AbstractBaseUser,
    name: str | None = None,
    config: dict | None = None,
) -> DeliveryChannel:
    channel_check_can_manage(channel=channel, by=by)
    before = channel_audit_snapshot(channel)
    if name is not None:
        channel.name = _clean_name(
            name, org=channel.organization, owner=channel.owner, channel_pk=channel.pk
        )
    if config is not None:
        clean = _clean_config(channel.kind, config)
        if channel.kind == DeliveryChannel.Kind.WEBHOOK:
            clean["secret"] = channel.config["secret"]  # the secret never changes by edit
        channel.config = clean
        # A fixed configuration gets another chance.
        channel.status, channel.last_error, channel.last_error_at = "ok", "", None
    channel.save()
    changed = audit_changes(
        before, channel_audit_snapshot(channel), secret_fields=AUDIT_SECRET_FIELDS
    )
    if changed:
        channel_audit(channel, by, AuditAction.CHANNEL_UPDATE, changes=changed)
    return channel


@transaction.atomic
def channel_delete(*, channel: DeliveryChannel, by: AbstractBaseUser) -> None:
    """Delete the channel, for its owner or an org admin (channel_check_can_manage).

    Refused (ValidationError on "channel") while automations use it: deleting it would
    silently change where their results go (one whose only channel it is would fall back to
    the owner's inbox) without the automation services seeing the change, so the user
    removes it from them first, where that change is visible and checked."""
    channel_check_can_manage(channel=channel, by=by)
    # Locked so that an automation cannot pick the channel between this check and the delete.
    DeliveryChannel.objects.select_for_update().filter(pk=channel.pk).first()
    using = channel.automations.order_by("name", "pk")
    count = using.count()
    if count:
        names = list(using.values_list("name", flat=True)[:5])
        shown = ", ".join(repr(n) for n in names) + (f" and {count - 5} more" if count > 5 else "")
        raise ValidationError(
            {
                "channel": f"{channel.name!r} is used by {count} "
                f"automation{'s' if count != 1 else ''} ({shown}). "
                "Remove it from them first, then delete it."
            }
        )
    channel_audit(channel, by, AuditAction.CHANNEL_DELETE)
    channel.delete()


def default_inbox(*, org: Organization, owner: AbstractBaseUser) -> DeliveryChannel:
    """The owner's in-app inbox channel, created on first use."""
    channel, _ = DeliveryChannel.objects.get_or_create(
        organization=org,
        owner=owner,
        name="My inbox",
        defaults={"kind": DeliveryChannel.Kind.IN_APP, "config": {}},
    )
    return channel


def channel_for_member(
    *, channel: DeliveryChannel, org: Organization, member: AbstractBaseUser
) -> DeliveryChannel:
    """Where a member's run of an org-wide automation goes instead of `channel`: an in-app
    channel is the member's own inbox; an email channel to its owner's address (no fixed
    recipients) is the member's email; every other channel as configured."""
    if channel.kind == DeliveryChannel.Kind.IN_APP:
        return default_inbox(org=org, owner=member)
    if channel.kind == DeliveryChannel.Kind.EMAIL and not (channel.config or {}).get("to"):
        return _email_channel_for(org=org, owner=member, to=[])
    return channel


def channel_spec_check(*, org: Organization, spec) -> DeliveryChannel | dict:
    """A channel spec checked without writing anything (automations' validation runs this
    before a single row is saved): a shorthand dict comes back cleaned ({"kind": "in_app"},
    {"kind": "email", "to": [normalised addresses]}), a DeliveryChannel or its public id as
    the org's DeliveryChannel. Field-keyed ValidationError ("channels") otherwise."""
    if isinstance(spec, DeliveryChannel):
        channel = spec
    elif isinstance(spec, dict) and spec.get("kind") == "in_app":
        return {"kind": "in_app"}
    elif isinstance(spec, dict) and spec.get("kind") == "email":
        try:
            config = _clean_config("email", spec)
        except ValidationError as exc:
            raise ValidationError({"channels": exc.messages}) from None
        return {"kind": "email", "to": config["to"]}
    elif isinstance(spec, dict):
        raise ValidationError(
            {
                "channels": f"Unknown channel {spec.get('kind')!r}; create Slack, Teams and "
                "webhook channels first, then pick them."
            }
        )
    else:
        try:
            public_id = uuid.UUID(str(spec)) if isinstance(spec, str | uuid.UUID) else None
        except ValueError:
            public_id = None
        channel = DeliveryChannel.objects.filter(public_id=public_id).first() if public_id else None
        if channel is None:
            raise ValidationError({"channels": f"No channel {_shown(spec)}."})
    if channel.organization_id != org.pk:
        raise ValidationError({"channels": f"The channel {channel.name!r} is not in {org.name}."})
    return channel


def channel_from_spec(*, org: Organization, owner: AbstractBaseUser, spec) -> DeliveryChannel:
    """A DeliveryChannel, its public id, or a shorthand dict for the owner's own inbox
    ({"kind": "in_app"}) or email ({"kind": "email", "to": [...]}, empty for the owner),
    checked by channel_spec_check; the shorthands' channels are found or made here."""
    checked = channel_spec_check(org=org, spec=spec)
    if isinstance(checked, DeliveryChannel):
        return checked
    if checked["kind"] == "in_app":
        return default_inbox(org=org, owner=owner)
    return _email_channel_for(org=org, owner=owner, to=checked["to"])


def email_channel_name(to: list[str]) -> str:
    """A display name only (channels are found by their configuration, never by this):
    "Email to a@x, b@y and 12 more", within the column's length."""
    if not to:
        return "My email"
    limit = DeliveryChannel._meta.get_field("name").max_length - len(" (99)")
    shown: list[str] = []
    for count, address in enumerate(to):
        rest = len(to) - count - 1
        tail = f" and {rest} more" if rest else ""
        candidate = "Email to " + ", ".join([*shown, address]) + tail
        if len(candidate) > limit:
            break
        shown.append(address)
    if not shown:
        first = to[0][: limit - 30] + "…"
        rest = len(to) - 1
        return f"Email to {first}" + (f" and {rest} more" if rest else "")
    rest = len(to) - len(shown)
    return "Email to " + ", ".join(shown) + (f" and {rest} more" if rest else "")


def _same_recipients(config: dict, to: list[str]) -> bool:
    try:
        return clean_recipients(config.get("to")) == to
    except ValidationError:  # a row written before these rules: not a match
        return False


def _email_channel_for(*, org: Organization, owner: AbstractBaseUser, to: list[str]):
    """The owner's email channel to exactly these recipients, created on first use. Found by
    comparing the (decrypted) recipient lists: names are display strings, and two lists can
    share a name's first characters (bob@two.test's results once went to alice@one.test)."""
    mine = DeliveryChannel.objects.filter(
        organization=org, owner=owner, kind=DeliveryChannel.Kind.EMAIL
    ).order_by("pk")
    for channel in mine:
        if _same_recipients(channel.config or {}, to):
            return channel
    base = email_channel_name(to)
    # Names are unique per owner across kinds.
    taken = set(
        DeliveryChannel.objects.filter(
            organization=org, owner=owner, name__startswith=base[:100]
        ).values_list("name", flat=True)
    )
    name, n = base, 2
    while name in taken:  # a different list with the same display name
        name, n = f"{base} ({n})", n + 1
    return DeliveryChannel.objects.create(
        organization=org, owner=owner, kind=DeliveryChannel.Kind.EMAIL, name=name, config={"to": to}
    )
