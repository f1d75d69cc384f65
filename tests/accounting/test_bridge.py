"""The bridge's steps add up exactly, and its totals are the statement's."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computeledger.accounting.bridge import bridge
from computeledger.accounting.statement import gather, statement
from computeledger.errors import UsageError
from computeledger.money import exact


@exact
def _check(rows: list[dict]) -> dict[str, Decimal]:
    totals, running = {}, None
    for r in rows:
        if r["kind"] == "total":
            if running is not None:
                assert running == r["amount"], r["step"]
            running = totals[r["step"]] = r["amount"]
        else:
            running += r["amount"]
    return totals


@pytest.mark.parametrize("period", ["2024-Q1", "2024-Q2", "2024-03", "2024"])
def test_bridge_steps_sum_exactly_to_the_statement(books, books_ledger, period):
    inp = gather(books_ledger, books[2])
    totals = _check(bridge(inp, period))
    _, _, grain = __import__("computeledger.accounting.periods", fromlist=["parse"]).parse(period)
    rows = statement(
        books_ledger, grain=grain, bases=("billed", "effective", "cash"), start=period, end=period, inputs=inp
    ).rows
    assert {r["basis"]: r["total_compute"] for r in rows} == {
        "billed": totals["billed"],
        "effective": totals["effective"],
        "cash": totals["cash"],
    }


def test_q1_bridge_names_the_reservation(books, books_ledger):
    rows = {r["step"]: r["amount"] for r in bridge(gather(books_ledger, books[2]), "2024-Q1")}
    assert rows["commitment purchases moved to prepaid"] == Decimal("-1900014.336")
    # the contract outside the bills: 3,600,000 over 36 months, one month in Q1
    assert rows["commitments outside the bills, amortized"] == Decimal("100000")


@given(
    st.lists(
        st.sampled_from(
            [
                "2024-01",
                "2024-02",
                "2024-03",
                "2024-04",
                "2024-05",
                "2024-06",
                "2024-07",
                "2024-Q1",
                "2024-Q2",
                "2024-Q3",
                "2024",
                "2023-12",
            ]
        ),
        min_size=1,
        max_size=3,
    )
)
def test_cash_identity_holds_for_any_period(books_inputs, periods):
    """cash paid - change in prepaid + change in payables = accrued (effective) expense,
    up to the accrual timing the bridge names."""
    for period in periods:
        if period in ("2023-12", "2024-07", "2024-Q3"):  # outside the books' data: unknown, not 0
            with pytest.raises(UsageError, match=r"outside the ledger's data \(2024-01 to 2024-06\)"):
                bridge(books_inputs, period)
            continue
        rows = {r["step"]: r["amount"] for r in bridge(books_inputs, period)}
        prepaid = rows["prepaid commitments: paid less amortized (change in prepaid)"]
        payables = -rows["bills paid less bills billed (change in payables)"]
        timing = rows["back to billing months"]
        unmatched = rows["bank payments of compute matching no bill"]
        assert rows["cash"] - prepaid + payables - timing - unmatched == rows["effective"]


@pytest.fixture(scope="module")
def books_inputs(books):
    from computeledger import open_ledger

    with open_ledger(books[0], read_only=True) as lg:
        yield gather(lg, books[2])


def test_the_python_api_gives_the_same_as_the_functions(books, books_ledger):
    got = books_ledger.statement("quarter", contracts=books[2]).rows
    assert [(r["period"], r["basis"]) for r in got][:3] == [
        ("2024-Q1", "billed"),
        ("2024-Q2", "billed"),
        ("2024-Q1", "effective"),
    ]
    steps = books_ledger.bridge("2024-Q2", contracts=books[2])
    assert (
        steps[-1]["amount"]
        == next(r for r in got if r["period"] == "2024-Q2" and r["basis"] == "cash")["total_compute"]
    )
    assert books_ledger.commitments(contracts=books[2]).rows[0]["purchase"] == Decimal("1900014.336")
    assert books_ledger.credits(contracts=books[2])[0][0]["consumed"] == Decimal("750000")
