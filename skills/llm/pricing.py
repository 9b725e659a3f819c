"""Tokens to dollars, from settings.LLM_PRICES (USD per million tokens, by model, each row from
the date it took effect: a run is costed at the price in effect when it ran)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

_MILLION = Decimal(1_000_000)
_SIX_PLACES = Decimal("0.000001")  # costs are kept to 6 places (AutomationRun.cost_usd)


class PriceUnknown(Exception):
    """No price row covers this model at that time: the run cannot be costed (or budgeted)."""


@dataclass(frozen=True)
class Price:
    model: str
    effective: date
    # USD per million tokens.
    input: Decimal
    output: Decimal
    cache_write: Decimal
    cache_read: Decimal

    @property
    def dearest(self) -> Decimal:
        return max(self.input, self.output, self.cache_write, self.cache_read)


def price_for(model: str, at: datetime) -> Price:
    """The price of `model` in effect at `at`: its row with the latest effective date on or
    before `at`'s UTC date. Raises PriceUnknown when there is none."""
    day = (at.astimezone(UTC) if at.tzinfo else at).date()
    rows = [_price(row) for row in settings.LLM_PRICES if row.get("model") == model]
    rows = [price for price in rows if price.effective <= day]
    if not rows:
        raise PriceUnknown(f"No price for model {model!r} on {day.isoformat()} in LLM_PRICES.")
    return max(rows, key=lambda price: price.effective)


def cost_of(
    model: str,
    at: datetime,
    input_tokens: int,
    output_tokens: int,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
) -> Decimal:
    """What these tokens cost in USD, at the price in effect at `at`, to 6 places."""
    price = price_for(model, at)
    total = (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_write_tokens * price.cache_write
        + cache_read_tokens * price.cache_read
    )
    return (total / _MILLION).quantize(_SIX_PLACES, rounding=ROUND_HALF_UP)


def worst_case_cost(model: str, at: datetime, max_tokens_per_run: int) -> Decimal:
    """The most one run can cost: every token of the run's cap at the dearest rate (the
    engine checks this against what is left of the month's budget before a run)."""
    price = price_for(model, at)
    return (max_tokens_per_run * price.dearest / _MILLION).quantize(
        _SIX_PLACES, rounding=ROUND_HALF_UP
    )


def _price(row: dict) -> Price:
    return Price(
        model=row["model"],
        effective=date.fromisoformat(str(row["effective"])),
        input=Decimal(str(row["input"])),
        output=Decimal(str(row["output"])),
        cache_write=Decimal(str(row["cache_write"])),
        cache_read=Decimal(str(row["cache_read"])),
    )
