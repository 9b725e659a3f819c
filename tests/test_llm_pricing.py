"""Tokens to dollars: the price in effect on the run's date, to 6 places, and the worst case
the budget check uses."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from skills.llm.pricing import PriceUnknown, cost_of, price_for, worst_case_cost

PRICES = [
    {
        "model": "claude-haiku-5-5",
        "effective": "2026-01-01",
        "input": "1.00",
        "output": "5.00",
        "cache_write": "1.25",
        "cache_read": "0.10",
    },
    {
        "model": "claude-haiku-5-5",
        "effective": "2026-06-01",
        "input": "0.80",
        "output": "4.00",
        "cache_write": "1.00",
        "cache_read": "0.08",
    },
]


@pytest.fixture(autouse=True)
def _prices(settings):
    settings.LLM_PRICES = PRICES


def test_the_runs_date_picks_the_price_in_effect():
    assert price_for(
        "claude-haiku-5-5", datetime(2026, 5, 31, 23, 59, tzinfo=UTC)
    ).input == Decimal("1.00")
    assert price_for("claude-haiku-5-5", datetime(2026, 6, 1, 0, 0, tzinfo=UTC)).input == Decimal(
        "0.80"
    )
    assert price_for("claude-haiku-5-5", datetime(2027, 1, 1, tzinfo=UTC)).output == Decimal("4.00")


def test_a_model_without_a_price_or_a_date_before_any_is_unknown():
    with pytest.raises(PriceUnknown):
        price_for("claude-unknown-1", datetime(2026, 3, 1, tzinfo=UTC))
    with pytest.raises(PriceUnknown):
        price_for("claude-haiku-5-5", datetime(2025, 12, 31, 23, 0, tzinfo=UTC))
    with pytest.raises(PriceUnknown):
        cost_of("claude-unknown-1", datetime(2026, 3, 1, tzinfo=UTC), 1, 1)


def test_cost_is_per_million_tokens_of_each_kind_to_six_places():
    at = datetime(2026, 3, 1, tzinfo=UTC)
    # 1234 in at $1, 567 out at $5, 2000 cache writes at $1.25, 9000 cache reads at $0.10:
    # 0.001234 + 0.002835 + 0.0025 + 0.0009 = 0.007469
    assert cost_of("claude-haiku-5-5", at, 1234, 567, 2000, 9000) == Decimal("0.007469")
    # Rounded half up at the sixth place: 3 output tokens at $5/M are $0.000015; one input
    # token at $0.80/M (June) is $0.0000008, which rounds to $0.000001.
    assert cost_of("claude-haiku-5-5", at, 0, 3) == Decimal("0.000015")
    june = datetime(2026, 6, 2, tzinfo=UTC)
    assert cost_of("claude-haiku-5-5", june, 1, 0) == Decimal("0.000001")


def test_worst_case_is_the_whole_cap_at_the_dearest_rate():
    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert worst_case_cost("claude-haiku-5-5", at, 60_000) == Decimal("0.300000")  # 60k x $5/M
    assert worst_case_cost("claude-haiku-5-5", datetime(2026, 7, 1, tzinfo=UTC), 60_000) == Decimal(
        "0.240000"
    )
