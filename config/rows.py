"""Locking a row a caller already holds, for a write that must see its latest state.

A service gets its instance from a fetcher, then locks it again with SELECT ... FOR UPDATE;
between the two, another request may have deleted it (two API clients, a PATCH racing a
DELETE, an admin and a recruiter). `.get()` would then raise DoesNotExist, a 500; the row is
simply gone, which every surface answers as its 404."""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.http import Http404

M = TypeVar("M", bound=models.Model)


def lock_for_update(instance: M) -> M:
    """The row of `instance`, fresh and locked until the transaction ends; Http404 if it was
    deleted meanwhile. Call inside transaction.atomic."""
    model = type(instance)
    row = model._default_manager.select_for_update().filter(pk=instance.pk).first()
    if row is None:
        raise Http404(f"That {model._meta.verbose_name} no longer exists.")
    return row
