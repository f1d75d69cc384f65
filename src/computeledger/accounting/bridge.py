"""The bridge: from billed to effective to cash compute for one period, one line per
cause, the steps adding up exactly (each total is the previous total plus its steps).

billed -> effective: commitment purchases move to prepaid; their amortization (used and
unused) comes back by charge month; contracts outside the bills amortize; credits and
other charges move from their billing month to their charge month.
effective -> cash: prepaid commitments paid less amortized; back to billing months;
payables (bills paid less bills billed); bank payments of compute that match no bill.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from computeledger import money
from computeledger.accounting.bases import contract_amortization
from computeledger.accounting.periods import month_of, months, parse
from computeledger.accounting.statement import Inputs, check_within, data_months


@money.exact
def bridge(inp: Inputs, period: str) -> list[dict[str, Any]]:
    """Rows of (step, amount, kind): kind `total` for billed, effective and cash, `step`
    for each cause between them."""
    first, end, _ = parse(period)
    check_within(data_months(inp), first, end, period)
    ms = set(months(first, end))
    cells = inp.compute.cells

    def billed(category: str | None = None) -> Decimal:
        return sum(
            (c.billed for c in cells if c.billed_month in ms and category in (None, c.category)), Decimal(0)
        )

    def effective(category: str) -> Decimal:
        return sum(
            (c.effective for c in cells if c.charge_month in ms and c.category == category), Decimal(0)
        )

    b = billed()
    purchases = billed("purchase")
    used = effective("used") - billed("used")
    unused = effective("unused") - billed("unused")
    contracts = sum((a for m, _, a in contract_amortization(inp.compute) if m in ms), Decimal(0))
    credits = effective("credit") - billed("credit")
    other = effective("other") + effective("purchase") - billed("other")
    e = b - purchases + used + unused + contracts + credits + other
    pays = [p for p in inp.flows.payments if month_of(p.date) in ms]
    bill_paid = sum((p.amount for p in pays if p.bill is not None), Decimal(0))
    contract_paid = sum((p.amount for p in pays if p.contract is not None), Decimal(0))
    unmatched = sum((p.amount for p in pays if p.status == "unmatched"), Decimal(0))
    estimated = sum((p.amount for p in pays if p.status == "estimated"), Decimal(0))
    prepaid = purchases + contract_paid - used - unused - contracts
    timing = -(credits + other)
    payables = bill_paid - b
    c = e + prepaid + timing + payables + unmatched
    steps = [
        ("billed", b, "total"),
        ("commitment purchases moved to prepaid", -purchases, "step"),
        ("amortization of prepaid commitments (used)", used, "step"),
        ("unused commitment", unused, "step"),
        ("commitments outside the bills, amortized", contracts, "step"),
        ("credits: charge month instead of billing month", credits, "step"),
        ("other charges: charge month instead of billing month", other, "step"),
        ("effective", e, "total"),
        ("prepaid commitments: paid less amortized (change in prepaid)", prepaid, "step"),
        ("back to billing months", timing, "step"),
        ("bills paid less bills billed (change in payables)", payables, "step"),
        ("bank payments of compute matching no bill", unmatched, "step"),
        ("cash", c, "total"),
    ]
    return [
        {"period": period, "step": s, "amount": a, "kind": k, "estimated": estimated if s == "cash" else None}
        for s, a, k in steps
    ]
