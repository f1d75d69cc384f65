"""Divisions of money and shares: exact to their stated rounding, outward for bounds."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeledger import money
from computeledger.figures.model import Interval

ledger_values = st.decimals(
    min_value=Decimal("-1e20"), max_value=Decimal("1e20"), places=18, allow_nan=False, allow_infinity=False
)
positive = st.decimals(min_value=Decimal("1e-18"), max_value=Decimal("1e20"), places=18, allow_nan=False)


@given(ledger_values, positive)
def test_outward_quotients_bracket_the_exact_one(a, b):
    exact = Fraction(a) / Fraction(b)
    assert Fraction(money.divide_down(a, b)) <= exact <= Fraction(money.divide_up(a, b))


@given(st.decimals(min_value=0, max_value=Decimal("1e20"), places=18, allow_nan=False), positive)
def test_a_share_is_the_exact_quotient_truncated_to_12_places(part, extra):
    whole = part + extra
    got = money.share(part, whole)
    exact = Fraction(part) / Fraction(whole)
    assert got.as_tuple().exponent == -12
    assert Fraction(got) <= exact < Fraction(got) + Fraction(1, 10**12)


def test_division_by_zero_is_an_error_not_a_number():
    with pytest.raises(ArithmeticError):
        money.divide(Decimal(1), Decimal(0))


def test_an_interval_divided_only_widens():
    third = Interval(Decimal(1), Decimal(1)).divide(Interval(Decimal(3), Decimal(3)))
    assert third.lo < Fraction(1, 3) < third.hi
    assert third.hi - third.lo == Decimal("1e-50")
    assert Interval(Decimal(-2), Decimal(6)).divide(Interval(Decimal(2), Decimal(3))) == Interval(
        Decimal(-1), Decimal(3)
    )
    assert Interval(Decimal(1), None).divide(Interval(Decimal(0), Decimal(1))) == Interval(None, None)
