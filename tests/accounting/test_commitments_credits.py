"""Commitments and credits ledgers: amortization sums to the purchase, credits never
exceed their grant, the FOCUS 1.2 spec's commitment examples reconcile."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from computeledger import open_ledger
from computeledger.accounting.commitments import commitments
from computeledger.accounting.contracts import Commitment, Contracts, Grant
from computeledger.accounting.credits import credits
from tests.conftest import SPEC, decimal_sum, shared

RESERVATION = "microsoft/reservations/Standard_ND96isr_H100_v5-4x"


def test_reservation_from_the_bills_with_its_term(books, books_ledger):
    got = commitments(books_ledger, books[2])
    row = next(r for r in got.rows if r["id"] == RESERVATION)
    assert row["purchase"] == Decimal("1900014.336")
    assert row["used"] + row["unused"] == row["amortized"]
    assert row["remaining"] == row["purchase"] - row["amortized"]
    schedule = [s for s in got.schedule if s["id"] == RESERVATION]
    assert [s["month"] for s in schedule] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert decimal_sum(s["amortized"] for s in schedule) == row["purchase"]
    assert schedule[-1]["remaining"] == 0
    assert [s["kind"] for s in schedule] == ["actual"] * 6 + ["scheduled"] * 6


def test_contract_outside_the_bills_amortizes_straight_line(books, books_ledger):
    got = commitments(books_ledger, books[2])
    schedule = [s for s in got.schedule if s["id"] == "cw-capacity"]
    assert len(schedule) == 36 and {s["amortized"] for s in schedule} == {Decimal("100000")}
    assert next(r for r in got.rows if r["id"] == "cw-capacity")["used"] is None  # unknown, not 0


@given(
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999999.99"), places=2),
    st.integers(min_value=1, max_value=120),
)
def test_amortization_sums_exactly_to_the_purchase(total, months):
    contract = Commitment("c", "P", total, "USD", date(2024, 1, 1), months, ((date(2024, 1, 1), total),))
    got = commitments(_empty_ledger(), Contracts(commitments=(contract,)))
    assert decimal_sum(s["amortized"] for s in got.schedule) == total
    assert got.schedule[-1]["remaining"] == 0


def test_credits_from_the_bills_against_the_grant(books, books_ledger):
    grants, months = credits(books_ledger, books[2])
    [g] = grants
    assert (g["grant"], g["amount"], g["consumed"], g["remaining"], g["note"]) == (
        "gcp-startup",
        Decimal("750000.00"),
        Decimal("750000"),
        Decimal("0"),
        "used up",
    )
    assert sum(m["consumed"] for m in months) == Decimal("750000")


@settings(max_examples=25)  # a ledger opened per example: the boundaries are few
@given(st.decimals(min_value=Decimal("1000"), max_value=Decimal("2000000"), places=2))
def test_credits_never_exceed_the_grant(books_path, amount):
    grant = Grant("g", "Google Cloud", amount, "USD", date(2024, 1, 1), None)
    with open_ledger(books_path, read_only=True) as lg:
        grants, _months = credits(lg, Contracts(credits=(grant,)))
    mine = next(g for g in grants if g["grant"] == "g")
    assert mine["consumed"] <= amount
    assert mine["remaining"] == amount - mine["consumed"] >= 0
    beyond = [g for g in grants if g["grant"] is None]
    assert mine["consumed"] + sum(g["consumed"] for g in beyond) == Decimal("750000")


def test_credits_without_a_grant_say_remaining_is_unknown(books_ledger):
    [g], _ = credits(books_ledger, Contracts())
    assert g["consumed"] == Decimal("750000") and g["remaining"] is None
    assert "no grant" in g["note"]


MANDATORY = {
    "BillingAccountId": "acct",
    "BillingAccountName": "Account",
    "BillingCurrency": "USD",
    "ChargeClass": "",
    "ChargeDescription": "example",
    "ContractedCost": None,
    "InvoiceIssuerName": "Example Cloud",
    "PricingUnit": "Hours",
    "ServiceCategory": "Compute",
    "ServiceName": "VMs",
    "ProviderName": "Example Cloud",
    "PublisherName": "Example Cloud",
}


@pytest.mark.parametrize(
    "name",
    [
        "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_1_resource.csv",
        "one_hundred_percent_utilization_with_commitment_discount_flexibility_with_2_resources.csv",
        "one_hundred_percent_utilization_without_commitment_discount_flexibility.csv",
        "zero_percent_utilization_without_commitment_discount_flexibility.csv",
    ],
)
def test_focus_12_commitment_examples_reconcile(tmp_path, name):
    """purchase = used + unused effective cost, per commitment (the spec's columns, with the
    mandatory ones the excerpts leave out filled in)."""
    src = shared(SPEC / "v1.2" / "commitment_discount_flexibility" / name)
    with src.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in MANDATORY.items():
            if k not in r:
                r[k] = r.get("ListCost") if k == "ContractedCost" else v
    path = tmp_path / name
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open_ledger(tmp_path / "spec.duckdb") as lg:
        [r] = lg.ingest([path])
        assert r.status == "loaded", r.message
        got = commitments(lg).rows
    assert got
    for c in got:
        assert c["purchase"] == c["used"] + c["unused"], c
        assert c["remaining"] == 0
    if name.startswith("zero"):
        assert got[0]["utilization"] == 0
    else:
        assert all(c["utilization"] == 1 for c in got)


_EMPTY = {}


def _empty_ledger():
    """A ledger with no charges and no bank lines (a contract's schedule needs none)."""
    if "ledger" not in _EMPTY:
        import tempfile

        _EMPTY["ledger"] = open_ledger(Path(tempfile.mkdtemp()) / "empty.duckdb")
    return _EMPTY["ledger"]


@pytest.fixture(scope="module")
def books_path(books):
    return books[0]


def test_contract_payments_paid_on_the_bank_or_estimated(books, tmp_path):
    import shutil

    path = tmp_path / "l.duckdb"
    shutil.copy(books[0], path)
    bank = tmp_path / "bank.csv"
    bank.write_text("date,counterparty,kind,reference,amount,currency\n"
                    "2024-03-15,CoreWeave,commitment,cw-capacity,-1200000.00,USD\n")  # fmt: skip
    with open_ledger(path) as lg:
        lg.ingest_cash([bank])
        row = next(r for r in commitments(lg, books[2]).rows if r["id"] == "cw-capacity")
    assert (row["paid"], row["paid_estimated"]) == (Decimal("1200000.00"), Decimal("2400000.00"))
