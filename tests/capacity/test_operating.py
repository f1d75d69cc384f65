"""Operating points under an SLO, and what a million tokens costs, exactly in Decimal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from computeledger.capacity import api
from computeledger.capacity.operating import (
    Costed,
    PriceRange,
    Slo,
    candidate_setups,
    latency_bound,
    parse_price,
    per_million,
    throughput_optimal,
)
from computeledger.capacity.physics import Setup, Workload, point
from computeledger.errors import UsageError
from tests.capacity.conftest import calibration_for, gpu, model


def test_latency_bound_is_the_largest_batch_meeting_the_slo():
    s = Setup(model("Llama-3.3-70B"), gpu("H200 SXM"), "fp8", tp=4)
    c, w, slo = calibration_for("H200 SXM"), Workload(1000, 500), Slo(tpot_ms=40)
    p = latency_bound(s, w, c, slo)
    assert p.tpot_s <= 0.040
    assert point(s, w, p.batch + 1, c).tpot_s > 0.040
    assert p.batch < throughput_optimal(s, w, c).batch


def test_an_slo_no_batch_meets_gives_none():
    s = Setup(model("Llama-3.1-405B"), gpu("H100 SXM"), "fp8", tp=8)
    assert latency_bound(s, Workload(1000, 500), calibration_for("H100 SXM"), Slo(tpot_ms=5)) is None


def test_cost_per_million_tokens_is_exact_decimal():
    # 0.5 GPU-seconds per thousand tokens at $3.60 an hour: $0.50 per million tokens
    assert per_million(0.0005, Decimal("3.60")) == Decimal("0.5000")
    assert per_million(1 / 3, Decimal("2")) == Decimal("185.1852")


def test_a_cost_band_spans_the_calibration_error_and_the_price_range():
    s = Setup(model("Llama-3.1-8B"), gpu("H100 SXM"), "fp8")
    c = calibration_for("H100 SXM")
    p = throughput_optimal(s, Workload(1000, 200), c)
    row = Costed("throughput-optimal", p, 0.2, PriceRange(Decimal(2), Decimal(4), "test"), "fitted").row()
    gpu_s = p.gpu_s_per_output_token
    assert row["usd_per_m_output"] == per_million(gpu_s, Decimal(3))
    assert row["usd_per_m_output_low"] == per_million(gpu_s / 1.2, Decimal(2))
    assert row["usd_per_m_output_high"] == per_million(gpu_s / 0.8, Decimal(4))
    assert row["usd_per_m_output_low"] < row["usd_per_m_output"] < row["usd_per_m_output_high"]
    assert row["source"] == "estimated"


def test_prices_parse_as_a_point_or_a_range():
    assert (parse_price("$2.50").low, parse_price("$2.50").high) == (Decimal("2.50"), Decimal("2.50"))
    assert (parse_price("2..3.5").low, parse_price("2..3.5").high) == (Decimal(2), Decimal("3.5"))
    with pytest.raises(UsageError, match="write dollars per GPU-hour"):
        parse_price("cheap")
    with pytest.raises(UsageError, match="low before high"):
        parse_price("4..2")


def test_the_70b_on_h200_question():
    """What should a million output tokens of a 70B model cost on H200 at $3.50 an hour
    with a 40 ms per-token SLO? An interval, on the cheapest parallelism meeting it."""
    rows = api.throughput("Llama-3.3-70B", "H200 SXM", 1000, 500, tpot_ms=40, price=parse_price("3.50"))
    bound = next(r for r in rows if r["point"] == "latency-bound")
    best = next(r for r in rows if r["point"] == "throughput-optimal")
    assert bound["tpot_ms"] <= 40
    assert bound["usd_per_m_output_low"] < bound["usd_per_m_output"] < bound["usd_per_m_output_high"]
    assert best["usd_per_m_output"] < bound["usd_per_m_output"]  # latency costs throughput
    # each setup the search tried costs at least what it chose
    c = calibration_for("H200 SXM")
    for s in candidate_setups(model("Llama-3.3-70B"), gpu("H200 SXM"), "fp8"):
        p = latency_bound(s, Workload(1000, 500), c, Slo(tpot_ms=40))
        if p is not None:
            assert per_million(p.gpu_s_per_output_token, Decimal("3.50")) >= bound["usd_per_m_output"]


def test_candidates_fit_and_grow_only_as_needed():
    h100 = gpu("H100 SXM")
    assert [s.label() for s in candidate_setups(model("Llama-3.1-8B"), h100, "fp8")][:2] == [
        "Llama-3.1-8B on 1x H100 SXM fp8 TP1", "Llama-3.1-8B on 2x H100 SXM fp8 TP2",
    ]  # fmt: skip
    big = candidate_setups(model("Llama-3.1-405B"), gpu("A100 SXM"), "bf16")
    assert [s.label() for s in big] == ["Llama-3.1-405B on 16x A100 SXM bf16 TP8 PP2"]
    wide = [s.ep for s in candidate_setups(model("DeepSeek-V3"), gpu("H800 SXM"), "fp8")]
    assert wide == [16, 32, 64, 128, 256]
