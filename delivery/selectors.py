"""Reads of channels and inbox items, each scoped to what the caller may see.

The fetchers (`channel_get_for_user`, `notification_get_for_user`) and their lists
(`channels_for_user`, `notifications_for_user`) are the one place that says who may see and
change a channel or an inbox item: the admin scopes its channel pages with the list, the
channel services check writes with it, and the dashboard and API fetch through them. Each
kind's rule is one Q (`_channel_q`, `_notification_q`), so a list and a get never disagree."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from accounts.models import Organization
from accounts.selectors import acts_as_operator, member_owned_q, org_admin_q, row_get_for_user
from delivery.models import DeliveryChannel, Notification

# -- channels ---------------------------------------------------------------------------------


def _channel_q(user: AbstractBaseUser | AnonymousUser) -> Q:
    # Read: the owner while still a member of the org, and the org's admins.
    # Write (rename, reconfigure, test, use): the same people, as channel_check_can_manage
    # has always allowed.
    return member_owned_q(user=user, owner_field="owner") | org_admin_q(user=user)


def channels_for_user(
    *,
    user: AbstractBaseUser | AnonymousUser,
    org: Organization | None = None,
    write: bool = False,
) -> QuerySet[DeliveryChannel]:
    """The channels the user may see (`write`: may change or use; the same rows today),
    optionally of one org: exactly the rows `channel_get_for_user` gives them."""
    channels = DeliveryChannel.objects.all()
    if not acts_as_operator(user=user):
        channels = channels.filter(_channel_q(user))
    if org is not None:
        channels = channels.filter(organization=org)
    return channels


def channel_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, public_id, write: bool = False
) -> DeliveryChannel:
    """The channel, for its owner (still a member of its org), an admin of its org or a
    superuser; Http404 for everyone else."""
    return row_get_for_user(
        readable=channels_for_user(user=user).select_related("organization", "owner"),
        writable=None,  # read and write are the same people (_channel_q)
        public_id=public_id,
        write=write,
        what="channel",
    )


# -- inbox items ------------------------------------------------------------------------------


def _notification_q(user: AbstractBaseUser | AnonymousUser) -> Q:
    # An inbox item is its recipient's only (while still a member of its org), for reading
    # and for marking read. Not even superusers: an inbox is personal, and operators who
    # must look at someone's items have the admin (which also shows org admins their
    # members' items: its own rule, not this one).
    return member_owned_q(user=user, owner_field="user")


def notifications_for_user(
    *,
    user: AbstractBaseUser | AnonymousUser,
    org: Organization | None = None,
    unread: bool = False,
    write: bool = False,
) -> QuerySet[Notification]:
    """The user's inbox (`write`: items they may mark read; the same rows), optionally of
    one org or only the unread items: exactly the rows `notification_get_for_user` gives."""
    notifications = Notification.objects.filter(_notification_q(user))
    if org is not None:
        notifications = notifications.filter(organization=org)
    if unread:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-pk")  # newest first (the inbox index)


def notification_get_for_user(
    *, user: AbstractBaseUser | AnonymousUser, public_id, write: bool = False
) -> Notification:
    """The inbox item, for its recipient (still a member of its org); Http404 for everyone
    else, admins and superusers included."""
    return row_get_for_user(
        readable=notifications_for_user(user=user),
        writable=None,  # the recipient may mark their own items read
        public_id=public_id,
        write=write,
        what="notification",
    )
