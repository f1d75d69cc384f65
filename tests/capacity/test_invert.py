"""Spend to GPUs and tokens: intervals over the uncertain inputs, and which matters most."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeledger.capacity import api, catalog
from computeledger.capacity.invert import Range, invert, mix_throughput, parse_range
from computeledger.capacity.operating import PriceRange, parse_price
from computeledger.capacity.physics import Workload
from computeledger.errors import UsageError
from computeledger.figures.model import Interval


def test_how_many_gpus_does_8_7b_over_nine_months_buy():
    implied, tornado = api.invert("8.7B", "2025-01..2025-09", "H100 SXM", parse_price("2..4"))
    # 8.7B as stated is 8.65B..8.75B; nine months are 273 days, 6,552 hours
    assert implied["hours"] == Decimal(6552)
    assert (implied["gpu_hours_low"], implied["gpu_hours_high"]) == (2_162_500_000, 4_375_000_000)
    assert (implied["gpus_low"], implied["gpus_high"]) == (330_052, 667_735)
    assert [t["input"] for t in tornado] == ["price per GPU-hour", "spend"]
    assert "output_tokens_low" not in implied  # no model mix: tokens are unknown, not 0


def test_the_catalogue_price_range_is_the_default():
    rows = catalog.latest_prices(catalog.prices(), "H100 SXM")
    assert (rows[0].usd_per_gpu_hour, rows[-1].usd_per_gpu_hour) == (Decimal("2.99"), Decimal("12.29"))


def test_tokens_served_and_the_tornado_with_a_model_mix():
    implied, tornado = api.invert(
        "8.7B", "2025-01..2025-09", "H200 SXM", parse_price("2..4"), mix="Llama-3.3-70B=0.6,Llama-3.1-8B=0.4",
        tokens="400T",
    )  # fmt: skip
    rate_lo, rate_hi = implied["output_tokens_per_gpu_hour_low"], implied["output_tokens_per_gpu_hour_high"]
    assert 0 < rate_lo < rate_hi
    assert implied["output_tokens_low"] == pytest.approx(8.65e9 / 4 * 0.4 * rate_lo, rel=1e-5)
    assert implied["output_tokens_high"] == pytest.approx(8.75e9 / 2 * 0.8 * rate_hi, rel=1e-5)
    assert implied["implied_utilization_low"] == pytest.approx(400e12 / (4_375_000_000 * rate_hi), abs=1e-4)
    assert tornado[0]["swing"] >= tornado[1]["swing"] >= tornado[-1]["swing"]
    assert tornado[-1]["input"] == "spend"


@settings(max_examples=60, deadline=None)
@given(
    s=st.floats(0.1, 0.9),
    p=st.floats(0, 1),
    u=st.floats(0, 1),
    t=st.floats(0, 1),
)
def test_every_choice_of_inputs_lands_inside_the_interval(s, p, u, t):
    spend = Interval(Decimal("8.65E9"), Decimal("8.75E9"))
    price, util, rate = PriceRange(Decimal(2), Decimal(4), "t"), Range(0.4, 0.8), Range(2e5, 5e6)
    implied, _ = invert(spend, Decimal(6552), price, util, rate)
    x_spend = 8.65e9 + s * 0.1e9
    x_price = 2 + 2 * p
    tokens = x_spend / x_price * (0.4 + 0.4 * u) * (2e5 + t * 4.8e6)
    assert implied["output_tokens_low"] <= tokens * (1 + 1e-9)
    assert tokens <= implied["output_tokens_high"] * (1 + 1e-9)
    assert implied["gpus_low"] - 1 <= x_spend / x_price / 6552 <= implied["gpus_high"] + 1


def test_mix_and_range_errors():
    with pytest.raises(UsageError, match="shares add up to 1"):
        mix_throughput("H100 SXM", {"Llama-3.1-8B": 0.5}, Workload(100, 10), catalog.calibrations())
    with pytest.raises(UsageError, match="positive, low before high"):
        parse_range("0.8..0.4", "utilization")
    with pytest.raises(UsageError, match="not an amount"):
        api.invert("lots", "2025", "H100 SXM", parse_price("2"))
