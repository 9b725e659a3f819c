"""Creating and checking delivery channels. Secrets are validated and stored encrypted; a
webhook's signing secret is generated here and shown once."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts.models import Organization
from accounts.selectors import membership_require
from config import outbound
from delivery.channels.webhook import new_secret
from delivery.models import DeliveryChannel

URL_KINDS = {DeliveryChannel.Kind.SLACK, DeliveryChannel.Kind.TEAMS, DeliveryChannel.Kind.WEBHOOK}


def _clean_config(kind: str, config: dict) -> dict:
    if kind not in DeliveryChannel.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(DeliveryChannel.Kind.values)}."})
    if not isinstance(config, dict):
        raise ValidationError({"config": "The configuration must be a JSON object."})
    if kind == DeliveryChannel.Kind.EMAIL:
        to = config.get("to") or []
        if isinstance(to, str):
            to = [to]
        for address in to:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError({"config": f"{address!r} is not an email address."}) from None
        return {"to": list(to)}
    if kind in URL_KINDS:
        url = (config.get("url") or "").strip()
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
    if not name or not name.strip():
        raise ValidationError({"name": "Give the channel a name."})
    clean = _clean_config(kind, config or {})
    secret = None
    if kind == DeliveryChannel.Kind.WEBHOOK:
        secret = new_secret()
        clean["secret"] = secret
    if DeliveryChannel.objects.filter(organization=org, owner=owner, name=name.strip()).exists():
        raise ValidationError({"name": f"You already have a channel named {name.strip()!r}."})
    channel = DeliveryChannel.objects.create(
        organization=org, owner=owner, kind=kind, name=name.strip(), config=clean
    )
    return channel, secret


def channel_check_can_manage(*, channel: DeliveryChannel, by: AbstractBaseUser) -> None:
    """The one rule for changing or using a channel from any surface: its owner (still a
    member of its org) or an admin of its org; superusers operate everything. Else
    PermissionDenied."""
    if by.is_superuser and by.is_active:
        return
    membership = membership_require(user=by, org=channel.organization)
    if channel.owner_id != by.pk and not membership.is_admin:
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
    if name is not None:
        channel.name = name.strip()
    if config is not None:
        clean = _clean_config(channel.kind, config)
        if channel.kind == DeliveryChannel.Kind.WEBHOOK:
            clean["secret"] = channel.config["secret"]  # the secret never changes by edit
        channel.config = clean
        # A fixed configuration gets another chance.
        channel.status, channel.last_error, channel.last_error_at = "ok", "", None
    channel.save()
    return channel


def default_inbox(*, org: Organization, owner: AbstractBaseUser) -> DeliveryChannel:
    """The owner's in-app inbox channel, created on first use."""
    channel, _ = DeliveryChannel.objects.get_or_create(
        organization=org,
        owner=owner,
        name="My inbox",
        defaults={"kind": DeliveryChannel.Kind.IN_APP, "config": {}},
    )
    return channel


def channel_from_spec(*, org: Organization, owner: AbstractBaseUser, spec) -> DeliveryChannel:
    """A DeliveryChannel, its public id, or a shorthand dict for the owner's own inbox
    ({"kind": "in_app"}) or email ({"kind": "email", "to": [...]}, empty for the owner)."""
    if isinstance(spec, DeliveryChannel):
        channel = spec
    elif isinstance(spec, dict) and spec.get("kind") == "in_app":
        return default_inbox(org=org, owner=owner)
    elif isinstance(spec, dict) and spec.get("kind") == "email":
        try:
            config = _clean_config("email", spec)
        except ValidationError as exc:
            raise ValidationError({"channels": exc.messages}) from None
        name = "My email" if not config["to"] else "Email to " + ", ".join(config["to"])
        channel = DeliveryChannel.objects.filter(
            organization=org, owner=owner, kind="email", name=name[:120]
        ).first()
        if channel is None:
            channel = DeliveryChannel.objects.create(
                organization=org, owner=owner, kind="email", name=name[:120], config=config
            )
        return channel
    elif isinstance(spec, dict):
        raise ValidationError(
            {
                "channels": f"Unknown channel {spec.get('kind')!r}; create Slack, Teams and "
                "webhook channels first, then pick them."
            }
        )
    else:
        channel = DeliveryChannel.objects.filter(public_id=spec).first()
        if channel is None:
            raise ValidationError({"channels": f"No channel {spec!r}."})
    if channel.organization_id != org.pk:
        raise ValidationError({"channels": f"The channel {channel.name!r} is not in {org.name}."})
    return channel
