"""Forecasts against a known future, and the histories that get a message instead."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeledger.accounting.periods import add_months
from computeledger.errors import UsageError
from computeledger.forecast.engine import Series, forecast
from computeledger.synth.company import load_company
from computeledger.synth.generate import traffic

START = date(2024, 1, 1)


def months(n: int) -> list[date]:
    return [add_months(START, i) for i in range(n)]


@pytest.mark.slow  # over 10 s: backtests over the lab's series
def test_bands_cover_the_labs_known_future_at_their_level():
    """36 months of the lab's traffic (random walk, 5% a month) for 40 seeds and three
    models: forecast the last 12 from the first 24; count how often the truth is inside."""
    company = dataclasses.replace(load_company(None), volatility=Decimal("0.05"))
    series, truth = [], {}
    for seed in range(40):
        for m in company.models:
            if m.launch_month:
                continue
            path = [traffic(company, m, i, Decimal(1), seed) * 1000 for i in range(36)]
            key = f"{seed}/{m.name}"
            series.append(Series(key, months(24), path[:24], "USD"))
            truth[key] = path[24:]
    got = forecast(series, 12)
    inside = {80: 0, 95: 0}
    for fc in got:
        assert fc.refused is None and len(fc.points) == 12 and fc.backtest_points > 0
        for p, actual in zip(fc.points, truth[fc.key], strict=True):
            assert p["lo_95"] <= p["lo_80"] <= p["forecast"] <= p["hi_80"] <= p["hi_95"]
            inside[80] += p["lo_80"] <= actual <= p["hi_80"]
            inside[95] += p["lo_95"] <= actual <= p["hi_95"]
    n = 12 * len(got)
    assert 0.70 <= inside[80] / n <= 0.90, inside[80] / n
    assert 0.88 <= inside[95] / n <= 0.99, inside[95] / n


def test_same_input_same_forecast():
    s = [Series("a", months(20), [Decimal(100 + 7 * i + (i % 3)) for i in range(20)])]
    one, two = forecast(s, 6), forecast(s, 6)
    assert one[0].points == two[0].points and one[0].model == two[0].model
    assert np.array_equal(one[0].paths(500, 3), two[0].paths(500, 3))


def test_a_gap_cuts_the_history_and_says_where():
    values = [Decimal(100 + i) for i in range(20)]
    values[5] = None
    fc = forecast([Series("g", months(20), values)], 3)[0]
    assert fc.history_points == 14 and fc.points
    assert any("2024-06-01 unknown" in w for w in fc.warnings)
    missing = forecast([Series("m", months(3) + [date(2024, 9, 1)], [Decimal(1)] * 4)], 3)[0]
    assert missing.refused.startswith("too short: 1 known period")


def test_two_points_are_refused_not_forecast():
    fc = forecast([Series("two", months(2), [Decimal(5), Decimal(6)])], 3)[0]
    assert (
        fc.points == [] and fc.refused == "too short: 2 known period(s) in a row; a forecast needs at least 4"
    )


def test_short_history_is_a_drift_median_with_no_band_and_says_so():
    """Before: a 5-month history got drift bands widened by guesswork (CoreWeave's 95% band
    reached -296k on the README's lab). Without a backtest there is no honest band."""
    fc = forecast([Series("s", months(5), [Decimal(v) for v in (10, 12, 13, 15, 16)])], 2)[0]
    assert fc.model == "Drift" and fc.mase is None and fc.backtest_points == 0
    step = 1.6**0.25  # drift on logs: 10 -> 16 over four steps, the same ratio ahead
    assert [float(p["forecast"]) for p in fc.points] == pytest.approx([16 * step, 16 * step**2], rel=1e-6)
    assert all(p[k] is None for p in fc.points for k in ("lo_80", "hi_80", "lo_95", "hi_95"))
    assert len(fc.warnings) == 1 and fc.warnings[0].startswith("short history (5 periods): no backtest")
    with pytest.raises(UsageError, match="no band"):
        fc.paths(10, 0)


def test_constant_series_is_labelled():
    fc = forecast([Series("c", months(12), [Decimal("7.5")] * 12)], 2)[0]
    assert fc.model == "Constant" and [p["forecast"] for p in fc.points] == [Decimal("7.5")] * 2
    assert fc.points[0]["lo_95"] == fc.points[0]["hi_95"] == Decimal("7.5")
    assert "constant history" in fc.warnings[0]


def test_negative_values_are_modelled_on_levels():
    values = [Decimal(-50 + 10 * i) for i in range(16)]  # credits early: below zero
    fc = forecast([Series("n", months(16), values)], 3)[0]
    assert fc.transform == "level" and fc.points and fc.points[0]["forecast"] > Decimal(90)


def test_horizon_and_models_are_checked():
    s = [Series("a", months(10), [Decimal(i + 1) for i in range(10)])]
    with pytest.raises(UsageError, match="--horizon 0"):
        forecast(s, 0)
    with pytest.raises(UsageError, match="--models 'Prophet'"):
        forecast(s, 2, models="Prophet")


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 10**9), min_size=10, max_size=18), st.integers(0, 2**31))
def test_bands_are_ordered_and_paths_match_the_median(values, seed):
    fc = forecast([Series("h", months(len(values)), [Decimal(v) for v in values])], 4)[0]
    banded = bool(fc.points) and fc.points[0]["lo_95"] is not None
    for p in fc.points if banded else []:
        assert 0 <= p["lo_95"] <= p["lo_80"] <= p["forecast"] <= p["hi_80"] <= p["hi_95"]
    if not banded:  # refused, with the reason in the warnings
        assert fc.refused or any(w.startswith("no band") for w in fc.warnings)
    elif fc.model != "Constant":
        paths = fc.paths(4000, seed)
        assert paths.shape == (4000, 4)
        med = np.median(paths, axis=0)
        center = np.array([float(p["forecast"]) for p in fc.points])
        spread = np.array([float(p["hi_95"] - p["lo_95"]) for p in fc.points]) + 1e-9
        assert np.all(np.abs(med - center) <= 0.1 * spread)
