"""Invariants of the parser and the ledger, over generated inputs (hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from computeledger import open_ledger
from tests.conftest import totals, write_rows

pytestmark = pytest.mark.slow  # hundreds of ledgers, one per Hypothesis example

HEADER = [
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "BillingAccountId",
    "BillingAccountName", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodStart", "ChargePeriodEnd",
    "InvoiceIssuerName", "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName",
    "ServiceCategory", "ServiceName",
]  # fmt: skip

# within the ledger's 20 integer digits, for rows and for their totals
money = st.decimals(min_value=Decimal("-1e17"), max_value=Decimal("1e17"), places=18, allow_nan=False).map(
    lambda d: d.normalize() if d == d.to_integral() else d
)


def exact_sum(values) -> Decimal:
    """Python's own Decimal sum rounds at 28 digits; the reference must not."""
    with localcontext(prec=80):
        return sum(values, Decimal(0))


def _text(d: Decimal, style: int) -> str:
    if style == 0:
        return format(d, "f")
    if style == 1:
        return format(d, "e")  # E notation is allowed by FOCUS
    text = format(d, "f")
    return text + ("000" if "." in text else ".000")  # trailing zeros past the scale are exact


def row(amount: str, start: str, end: str, provider: str = "AWS", note: str = "x") -> list[str]:
    return [amount, amount, amount, amount, "acct", "A", "USD", "2024-09-01T00:00:00Z",
            "2024-10-01T00:00:00Z", "Usage", "", note, start, end, "Issuer", "1", "Hours",
            provider, provider, "Compute", "EC2"]  # fmt: skip


#: Each example ingests files into a fresh ledger: a dozen examples per property.
few = settings(
    max_examples=12, phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)  # fmt: skip


@few
@given(st.lists(st.tuples(money, st.integers(0, 2)), min_size=1, max_size=40))
def test_totals_are_exact_for_any_decimals(tmp_path_factory, amounts):
    tmp = tmp_path_factory.mktemp("p")
    rows = [row(_text(d, s), "2024-09-01T00:00:00Z", "2024-09-01T01:00:00Z") for d, s in amounts]
    path = write_rows(tmp / "f.csv", HEADER, rows)
    with open_ledger(tmp / "l.duckdb") as lg:
        [r] = lg.ingest([path])
        assert (r.rows_loaded, r.rows_quarantined) == (len(rows), 0), r.reasons
        assert totals(lg)["AWS"]["BilledCost"] == exact_sum(d for d, _ in amounts)


@pytest.mark.slow  # over 20 s: the full suite runs it
@few
@given(st.lists(money, min_size=2, max_size=30), st.integers(1, 5), st.randoms())
def test_order_and_split_do_not_change_totals(tmp_path_factory, amounts, parts, rnd):
    tmp = tmp_path_factory.mktemp("s")
    # distinct rows: two byte-identical part files would rightly be one duplicate file
    rows = [row(format(d, "f"), "2024-09-01T00:00:00Z", "2024-09-01T01:00:00Z", note=f"r{i}")
            for i, d in enumerate(amounts)]  # fmt: skip
    rnd.shuffle(rows)
    files = [write_rows(tmp / f"part{i}.csv", HEADER, rows[i::parts]) for i in range(parts)]
    with open_ledger(tmp / "l.duckdb") as lg:
        lg.ingest([f for f in files])
        assert totals(lg)["AWS"]["BilledCost"] == exact_sum(amounts)


#: Values with up to 38 fractional digits (Azure writes 28), either sign, up to 20 integer digits.
long_decimals = st.builds(
    lambda whole, fraction, negative: Decimal(("-" if negative else "") + f"{whole}.{fraction}"),
    st.integers(0, 10**19),
    st.text("0123456789", min_size=1, max_size=38),
    st.booleans(),
)


def half_even(d: Decimal) -> Decimal:
    with localcontext(prec=80):
        return d.quantize(Decimal("1e-18"), rounding=ROUND_HALF_EVEN)


@few
@given(st.lists(long_decimals, min_size=1, max_size=20))
def test_stored_value_plus_residue_is_the_source_value(tmp_path_factory, values):
    """Digits past the 18th place are rounded half-even; per row the source text is kept,
    and per ingest the residues sum to source total - ledger total, exactly."""
    tmp = tmp_path_factory.mktemp("r")
    texts = [format(d, "f") for d in values]
    rows = [row(t, "2024-09-01T00:00:00Z", "2024-09-01T01:00:00Z", note=f"r{i}") for i, t in enumerate(texts)]
    path = write_rows(tmp / "f.csv", HEADER, rows)
    with open_ledger(tmp / "l.duckdb") as lg:
        [r] = lg.ingest([path])
        got = lg.charges.order_by("x_source_line").select("BilledCost", "x_extensions").execute()
        total = totals(lg)["AWS"]["BilledCost"]
    assert r.rows_loaded == len(values)
    for d, text, stored, ext in zip(values, texts, got.BilledCost, got.x_extensions, strict=True):
        assert stored == half_even(d)
        if stored != d:
            doc = json.loads(ext)
            assert doc["x_rounded_from"]["BilledCost"] == text
        else:
            assert ext is None
    rounded = [d for d in values if half_even(d) != d]
    with localcontext(prec=80):
        ledger_total = sum((half_even(d) for d in values), Decimal(0))
        assert total == ledger_total
        if rounded:
            residue = Decimal(r.rounding["BilledCost"]["residue"])
            assert r.rounding["BilledCost"]["rows"] == len(rounded)
            assert ledger_total + residue == exact_sum(values)
        else:
            assert "BilledCost" not in r.rounding


@few
@given(st.decimals(min_value=0, max_value=1, places=45, allow_nan=False))
def test_digits_past_the_38th_place_are_refused(tmp_path_factory, d):
    """A residue holds 38 places: a value whose digits go further is quarantined, not cut."""
    tmp = tmp_path_factory.mktemp("r")
    text = format(d, "f")
    path = write_rows(tmp / "f.csv", HEADER, [row(text, "2024-09-01", "2024-09-02")])
    with open_ledger(tmp / "l.duckdb") as lg:
        [r] = lg.ingest([path])
        with localcontext(prec=80):
            held = d == d.quantize(Decimal("1e-38"))
        assert r.rows_loaded == (1 if held else 0)
        if not held:
            assert "more than 38 decimal places" in r.reasons[0]


@few
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
    st.integers(-12 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
)
@pytest.mark.slow  # over 10 s: the full suite runs it
def test_timestamps_in_any_offset_land_in_utc(tmp_path_factory, moment, tz):
    tmp = tmp_path_factory.mktemp("t")
    local = moment.replace(tzinfo=UTC).astimezone(tz)
    forms = [local.isoformat(), moment.strftime("%Y-%m-%dT%H:%M:%SZ"), moment.strftime("%Y-%m-%d %H:%M:%S")]
    end = (moment + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = write_rows(tmp / "f.csv", HEADER, [row("1", f, end) for f in forms])
    with open_ledger(tmp / "l.duckdb") as lg:
        [r] = lg.ingest([path])
        assert r.rows_loaded == 3, r.reasons
        got = set(lg.charges.ChargePeriodStart.execute())
        assert {t.to_pydatetime() for t in got} == {moment}


def test_us_dates_are_read_month_first_and_flagged(tmp_path):
    path = write_rows(tmp_path / "f.csv", HEADER, [row("1", "5/1/25", "5/2/2025 13:30")])
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest([path])
        assert r.rows_loaded == 1
        df = lg.charges.execute()
        assert str(df.ChargePeriodStart[0]) == "2025-05-01 00:00:00"
        assert str(df.ChargePeriodEnd[0]) == "2025-05-02 13:30:00"
        assert "us_date_format:ChargePeriodStart" in df.x_quality_flags[0]
