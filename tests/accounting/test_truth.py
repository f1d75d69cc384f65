"""The statement and the bases against the lab's truth, to the last digit."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from computeledger.accounting.bases import compute
from computeledger.accounting.contracts import Contracts
from computeledger.accounting.statement import statement
from computeledger.errors import UsageError
from tests.conftest import decimal_sum, truth


def test_cash_per_month_equals_the_truth(books, books_ledger):
    _, out, _ = books
    got = {r["period"]: r for r in statement(books_ledger, grain="month", bases=("cash",)).rows}
    expected = truth(out, "cash")
    assert [t["month"] for t in expected] == sorted(got)
    for t in expected:
        r = got[t["month"]]
        assert r["revenue"] == Decimal(t["customer_receipts"]), t["month"]
        assert r["funding"] == Decimal(t["funding"]), t["month"]
        assert r["total_compute"] == Decimal(t["cloud_payments"]), t["month"]
        assert r["revenue_share"] == Decimal(t["revenue_share_paid"]), t["month"]
        assert r["opening_cash"] == Decimal(t["opening"]), t["month"]
        assert r["closing_cash"] == Decimal(t["closing"]), t["month"]
        assert r["estimated"] == 0  # every payment of these months is on the bank statement
    assert got["2024-05"]["funding"] == Decimal("30000000.00")


def test_compute_per_provider_month_and_basis_equals_the_truth(books, books_ledger):
    _, out, _ = books
    comp = compute(books_ledger, Contracts())
    for basis, month_col, cost_col in (
        ("billed", "month", "billed_cost"),
        ("effective", "charge_month", "effective_cost"),
    ):
        want: dict = defaultdict(list)
        for t in truth(out, "costs"):
            want[(t["provider"], t[month_col])].append(t[cost_col])
        got: dict = defaultdict(list)
        for (month, provider, _workload), value in getattr(comp, basis)().items():
            got[(provider, f"{month:%Y-%m}")].append(value)
        assert set(got) == set(want), basis
        for key in want:
            assert decimal_sum(got[key]) == decimal_sum(want[key]), (basis, key)


def test_workloads_add_up_to_total_compute(books_ledger):
    for r in statement(books_ledger, grain="quarter", bases=("billed", "effective", "cash")).rows:
        parts = r["inference_compute"] + r["training_compute"] + r["research_compute"] + r["other_compute"]
        assert parts == r["total_compute"], r["period"]
        assert r["gross_profit"] == r["revenue"] - r["revenue_share"] - r["inference_compute"]
        assert r["compute_burn"] == r["total_compute"] + r["revenue_share"] - r["revenue"]


def test_effective_revenue_and_share_equal_the_truth(books, books_ledger):
    _, out, _ = books
    rows = {r["period"]: r for r in statement(books_ledger, grain="month", bases=("effective",)).rows}
    want_rev, want_share = defaultdict(list), defaultdict(list)
    for t in truth(out, "revenue"):
        want_rev[t["month"]].append(t["revenue"])
        want_share[t["month"]].append(t["revenue_share"])
    for month in want_rev:
        assert rows[month]["revenue"] == decimal_sum(want_rev[month]), month
        assert rows[month]["revenue_share"] == decimal_sum(want_share[month]), month


def test_runway_is_the_closing_balance_over_trailing_burn(books_ledger):
    rows = {r["period"]: r for r in statement(books_ledger, grain="month", bases=("cash",)).rows}
    june, may, april = rows["2024-06"], rows["2024-05"], rows["2024-04"]
    burn = (june["net_cash_burn"] + may["net_cash_burn"] + april["net_cash_burn"]) / 3
    assert june["runway_months"] == (june["closing_cash"] / burn).quantize(
        Decimal("0.1"), rounding="ROUND_DOWN"
    )
    assert rows["2024-01"]["runway"] == "not burning"


def test_unit_costs_and_margin_on_the_cash_basis(books_ledger):
    """Each bill's payment spread over its models: per month, the models' inference cost paid
    is the statement's cash inference compute (to the 18th decimal's rounding)."""
    got = books_ledger.unit_costs("month", basis="cash")
    rows = {r["period"]: r for r in statement(books_ledger, grain="month", bases=("cash",)).rows}
    paid = {f"{r['month']:%Y-%m}": r for r in got.rows if r["inference_cost"] is not None}
    # January's bills are paid in February; June's are due in July (estimated)
    assert sorted(paid) == ["2024-02", "2024-03", "2024-04", "2024-05", "2024-06", "2024-07"]
    for month, r in paid.items():
        if month == "2024-07":
            continue
        assert abs(r["inference_cost"] - rows[month]["inference_compute"]) < Decimal("1e-15"), month
        assert r["gpu_hours_per_million_tokens"] is None  # GPU time is not paid for in cash
    with pytest.raises(UsageError, match="statement --basis cash"):
        books_ledger.margin("model", basis="cash")


def test_the_labs_own_contracts_file_keeps_the_truth(books, books_ledger):
    """finance/contracts.toml (written by the lab) names the reservation the bills show:
    it schedules its term without paying it twice."""
    _, out, _ = books
    contracts = out / "finance" / "contracts.toml"
    rows = {
        r["period"]: r
        for r in statement(books_ledger, grain="month", bases=("cash",), contracts=contracts).rows
    }
    for t in truth(out, "cash"):
        assert rows[t["month"]]["total_compute"] == Decimal(t["cloud_payments"]), t["month"]
        assert rows[t["month"]]["estimated"] == 0
