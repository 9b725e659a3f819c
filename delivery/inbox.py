"""Marking inbox items read: the recipient's own items only, as `notifications_for_user`
says (not even an org admin or a superuser marks someone else's inbox)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from accounts.selectors import membership_require
from delivery.models import Notification
from delivery.selectors import notifications_for_user


@transaction.atomic
def notification_mark_read(*, notification: Notification, by: AbstractBaseUser) -> Notification:
    """Mark the item read (already read: left as it was, with its first read time).
    PermissionDenied unless `by` is its recipient, still a member of its org."""
    mine = notifications_for_user(user=by, write=True).filter(pk=notification.pk)
    if not mine.exists():
        raise PermissionDenied("Only the person an inbox item was sent to can mark it read.")
    # Conditional: two tabs marking the same item keep the first read time.
    mine.filter(read_at__isnull=True).update(read_at=timezone.now())
    notification.refresh_from_db(fields=["read_at"])
    return notification


@transaction.atomic
def notifications_mark_all_read(*, user: AbstractBaseUser, org: Organization) -> int:
    """Mark every unread item of the user's inbox in `org` read, in one UPDATE; returns how
    many changed. Only the user's own items: the same rows as their inbox."""
    membership_require(user=user, org=org)
    return notifications_for_user(user=user, org=org, unread=True).update(read_at=timezone.now())
