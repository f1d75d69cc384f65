"""Threshold questions are plain counts over the draws."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeledger.errors import UsageError
from computeledger.forecast.thresholds import crossing, parse_amount, parse_deadline

PERIODS = [date(2025, m, 1) for m in range(1, 13)]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(-3, 3), st.integers(0, 11))
def test_probability_equals_a_direct_count(seed, level, last):
    paths = np.random.default_rng(seed).standard_normal((300, 12)).cumsum(axis=1)
    by = PERIODS[last]
    got = crossing(paths, PERIODS, above=Decimal(repr(level)), by=by)
    count = sum(any(row[k] > level for k in range(last + 1)) for row in paths)
    assert got["crossings"] == count and got["probability"] == Decimal(count) / 300
    cum = crossing(paths, PERIODS, below=Decimal(repr(level)), by=by, cumulative=True)
    sums = paths.cumsum(axis=1)
    assert cum["crossings"] == sum(any(row[k] < level for k in range(last + 1)) for row in sums)


def test_first_crossing_percentiles():
    paths = np.zeros((10, 12))
    for i in range(10):  # draw i goes below zero in month i (draws 0-9), never after
        paths[i, i:] = -1
    got = crossing(paths, PERIODS, below=Decimal(0))
    assert got["probability"] == 1 and got["first_median"] == "2025-05-01"
    assert got["first_p10"] == "2025-01-01" and got["first_p90"] == "2025-09-01"
    early = crossing(paths, PERIODS, below=Decimal(0), by=date(2025, 2, 28))
    assert early["probability"] == Decimal("0.2") and early["first_median"] == "after 2025-02-01"


def test_amounts_and_deadlines_as_written():
    assert parse_amount("9B") == Decimal("9000000000")
    assert parse_amount("1.5M") == Decimal("1500000") and parse_amount("-250k") == Decimal(-250000)
    assert parse_deadline("2025-12-31") == date(2025, 12, 31)
    assert parse_deadline("2025-Q3") == date(2025, 9, 30) and parse_deadline("2025") == date(2025, 12, 31)
    with pytest.raises(UsageError, match="--above '9 billion'"):
        parse_amount("9 billion")
    with pytest.raises(UsageError, match="--by '2025-13'"):
        parse_deadline("2025-13")
    with pytest.raises(UsageError, match="one of --above or --below"):
        crossing(np.zeros((2, 12)), PERIODS)
