"""The FOCUS rules' short path for decimal columns (issue 30): a column whose every value is
short (no exponent, at most 18 digits after a point) is read without the E-notation and
rounding layers. Both paths must give the same value and the same reason for any text the
check lets through, and the check must send every other column down the full path."""

from __future__ import annotations

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeledger.ingest.normalize import REASON, ROW, normalize, short_decimals

HEADERS = {"BilledCost": "BilledCost", "ListCost": "ListCost"}


def _raw(billed: list[str | None], listed: list[str | None]) -> ibis.Table:
    return ibis.memtable(
        {"BilledCost": billed, "ListCost": listed, ROW: list(range(len(billed)))},
        schema={"BilledCost": "string", "ListCost": "string", ROW: "int64"},
    )


def _short(raw: ibis.Table) -> frozenset[str]:
    got = raw.aggregate(**short_decimals(raw, HEADERS)).to_pyarrow().to_pylist()[0]
    return frozenset(name for name, yes in got.items() if yes)


def test_only_columns_of_short_plain_values_take_the_short_path():
    both = {"BilledCost", "ListCost"}
    plain = _raw(["1.5", " -2 ", None, "abc", "1_0"], ["0.1", "3", "1.123456789012345678", "", "x"])
    assert _short(plain) == both
    assert _short(_raw(["1.5", "2e3"], ["0.1", "1.1234567890123456789"])) == frozenset()
    assert _short(_raw(["1.5", "2E3"], ["1", "none"])) == frozenset()  # 'none' has an e: full path
    assert _short(_raw([None, None], [None, "12"])) == both


short_text = st.one_of(
    st.from_regex(r"\A[ +-]?[0-9]{0,22}(\.[0-9]{0,17})? ?\Z", fullmatch=True),
    st.from_regex(r"\A-?[0-9]{1,21}\.[0-9]{18}\Z", fullmatch=True),  # a trailing space would count
    st.text("0123456789.+-_ ,x$", max_size=14),
    st.sampled_from(["", " ", "NULL", "null", "\u0661", "99999999999999999999.5", "100000000000000000000"]),
)


@pytest.mark.slow  # over 10 s: each example compiles the rules twice
@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.one_of(st.none(), short_text), min_size=1, max_size=16))
def test_the_short_path_reads_what_the_full_path_reads(values):
    raw = _raw(values, values)
    assert _short(raw) == {"BilledCost", "ListCost"}  # no exponent, no long fraction: short
    columns = ["BilledCost", "ListCost", "x_quality_flags", REASON, ROW]
    full, short = (
        normalize(raw, HEADERS, fast).select(*columns).order_by(ROW).to_pyarrow().to_pylist()
        for fast in (frozenset(), frozenset(HEADERS))
    )
    assert short == full
    assert len(full) == len(values)
