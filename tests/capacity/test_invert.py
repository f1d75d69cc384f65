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


def test_at_a_concurrency_the_mix_is_served_at_that_point_and_says_so():
    """`--concurrency 8` takes the mix's tokens per GPU-hour from the point with 8 requests
    in flight (what `capacity throughput --concurrency 8` gives), widened by that
    calibration's error either way, instead of the latency-bound to throughput-optimal span."""
    shape = Workload(1000, 500)
    cal = catalog.calibrations()
    at, notes = mix_throughput("H100 SXM", {"Llama-3.3-70B": 1.0}, shape, cal, concurrency=8)
    span, _ = mix_throughput("H100 SXM", {"Llama-3.3-70B": 1.0}, shape, cal)
    rows = api.throughput("Llama-3.3-70B", "H100 SXM", 1000, 500, concurrency=8, price=parse_price("3"))
    tps = next(r for r in rows if r["point"] == "concurrency 8")["output_tps_per_gpu"]
    err = cal[("h100 sxm", "trtllm", "fp8")].median_abs_error
    assert at.low == pytest.approx(3600 * tps * (1 - err), rel=0.01)
    assert at.high == pytest.approx(3600 * tps * (1 + err), rel=0.01)
    assert at.low < at.high < span.low  # 8 in flight: fewer tokens than a batch that just meets 50 ms
    assert notes == ["Llama-3.3-70B: concurrency 8, calibration fitted (trtllm)"]
    implied, _ = api.invert(
        "8.7B", "2025-01..2025-09", "H100 SXM", parse_price("2..4"), mix="Llama-3.3-70B=1", concurrency=8
    )
    assert implied["point"] == "concurrency 8"
    assert implied["output_tokens_per_gpu_hour_low"] == round(at.low)
    with pytest.raises(UsageError, match="give --mix too"):
        api.invert("8.7B", "2025-01..2025-09", "H100 SXM", parse_price("2..4"), concurrency=8)
    with pytest.raises(UsageError, match="do not fit on a node"):
        mix_throughput("H100 SXM", {"Llama-3.1-405B": 1.0}, shape, cal, concurrency=100_000)


def test_figures_check_sizes_the_fleets_tokens_at_a_concurrency():
    from typer.testing import CliRunner

    from computeledger.cli import app

    runner = CliRunner()
    args = ["figures", "check", "openai-azure-2025", "--fleet-gpu", "H100 SXM", "--section", "fleet"]
    r = runner.invoke(app, [*args, "--mix", "Llama-3.3-70B=1", "--concurrency", "8", "--format", "json"])
    assert r.exit_code == 0, r.output
    import json

    rows = json.loads(r.output)["fleet"]
    at, _ = mix_throughput(
        "H100 SXM", {"Llama-3.3-70B": 1.0}, Workload(1000, 500), catalog.calibrations(), concurrency=8
    )
    assert rows and {row["point"] for row in rows} == {"concurrency 8"}
    for row in rows:
        assert row["output_tokens_per_gpu_hour_high"] == round(at.high)
        assert row["output_tokens_low"] == round(row["gpu_hours_low"] * at.low)
    bare = json.loads(runner.invoke(app, [*args, "--format", "json"]).output)["fleet"]
    assert all("output_tokens_low" not in row for row in bare)  # no mix: tokens unknown, not 0
    r = runner.invoke(app, [*args, "--concurrency", "8"])
    shown = " ".join(r.output.replace("│", " ").split())
    assert r.exit_code == 2 and "give --mix too" in shown
