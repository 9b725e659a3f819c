"""Working through a large table in bounded batches: each batch is its own short statement
(and transaction), so a backlog of a million rows never becomes one UPDATE that holds its
locks for minutes."""

from __future__ import annotations

from collections.abc import Callable

from django.db import models, transaction

DEFAULT_BATCH = 500


def in_batches(
    queryset: models.QuerySet,
    apply: Callable[[list[int]], int],
    *,
    batch_size: int = DEFAULT_BATCH,
    max_batches: int | None = None,
) -> int:
    """Call apply(pks) for successive batches of the queryset's primary keys (ascending) and
    return the sum of what it returns. `apply` must make its rows leave the queryset (or the
    loop moves past them by pk anyway, so it always ends)."""
    done, last_pk, batches = 0, None, 0
    while max_batches is None or batches < max_batches:
        page = queryset.order_by("pk")
        if last_pk is not None:
            page = page.filter(pk__gt=last_pk)
        pks = list(page.values_list("pk", flat=True)[:batch_size])
        if not pks:
            break
        with transaction.atomic():
            done += apply(pks)
        last_pk, batches = pks[-1], batches + 1
    return done
