"""Revenue and revenue share per month, on each basis.

*effective*: revenue by service period (invoice lines), revenue share by the partners'
statements' period. *billed*: revenue by the month its invoice was issued (else its service
period). *cash*: what the bank shows received from customers (else the payments ledger)
and paid to partners. Where an agreement (contracts file) covers a month no statement does,
the share is computed from it and labelled estimated.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import ibis

from computeledger import money
from computeledger.accounting.cashflow import Cash
from computeledger.accounting.contracts import Agreement, Contracts
from computeledger.accounting.periods import add_months, label, month_of


@dataclass
class Income:
    """Revenue and revenue share per month on one basis, with what is estimated."""

    revenue: dict[date, Decimal] = field(default_factory=dict)
    share: dict[date, Decimal] = field(default_factory=dict)
    share_estimated: dict[date, Decimal] = field(default_factory=dict)
    currencies: set[str] = field(default_factory=set)
    known: bool = True  # False: no revenue source for this basis
    why: str | None = None


def _month(col) -> ibis.Value:
    return col.truncate("M").cast("date")


@money.exact
def revenue_lines(ledger, by: str) -> tuple[dict[date, Decimal], set[str]]:
    """Month -> revenue of the invoice lines, by service period or issue date."""
    t = ledger.table("revenue_lines")
    when = t.period_start if by == "service" else ibis.coalesce(t.issued_on, t.period_start)
    rows = t.group_by(month=_month(when), currency=t.currency).aggregate(amount=t.amount.sum())
    out: dict[date, Decimal] = defaultdict(Decimal)
    currencies = set()
    for r in rows.to_pyarrow().to_pylist():
        out[month_of(r["month"])] += r["amount"]
        currencies.add(r["currency"])
    return dict(out), currencies


@money.exact
def statements(ledger) -> tuple[dict[tuple[str, date], Decimal], set[str]]:
    """(partner, month) -> revenue share the partners' statements say is owed."""
    t = ledger.table("revenue_share")
    rows = t.group_by(partner=t.partner, month=_month(t.period_start), currency=t.currency).aggregate(
        amount=t.amount.sum()
    )
    out: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    currencies = set()
    for r in rows.to_pyarrow().to_pylist():
        out[(r["partner"], month_of(r["month"]))] += r["amount"]
        currencies.add(r["currency"])
    return dict(out), currencies


@money.exact
def agreement_revenue(ledger, agreement: Agreement) -> dict[date, Decimal]:
    """Month -> revenue of the channels and models an agreement covers (service period)."""
    t = ledger.table("revenue_lines")
    if agreement.channels:
        t = t.filter(t.channel.isin(list(agreement.channels)))
    if agreement.models:
        t = t.filter(t.model.isin(list(agreement.models)))
    rows = t.group_by(month=_month(t.period_start)).aggregate(amount=t.amount.sum())
    return {month_of(r["month"]): r["amount"] for r in rows.to_pyarrow().to_pylist()}


@money.exact
def share_due(ledger, contracts: Contracts) -> list[dict]:
    """Per agreement and settlement period: the revenue it covers, the share it makes
    payable (rate x revenue, to the cent), when it is due, what the partner's statements
    say, and the difference (statement - payable)."""
    said, _ = statements(ledger)
    out = []
    for a in contracts.agreements:
        periods: dict[str, dict] = {}
        for month, revenue in sorted(agreement_revenue(ledger, a).items()):
            key = label(month, a.settlement)
            p = periods.setdefault(key, {"first": month, "last": month, "revenue": Decimal(0), "said": None})
            p["last"], p["revenue"] = month, p["revenue"] + revenue
            if (a.partner, month) in said:
                p["said"] = (p["said"] or Decimal(0)) + said[(a.partner, month)]
        for key, p in periods.items():
            payable = (p["revenue"] * a.rate).quantize(Decimal("0.01"))
            due = add_months(p["last"], 1) + timedelta(days=a.lag_days)
            out.append(
                {
                    "partner": a.partner,
                    "period": key,
                    "revenue": p["revenue"],
                    "rate": a.rate,
                    "payable": payable,
                    "due_on": due,
                    "statement": p["said"],
                    "difference": None if p["said"] is None else p["said"] - payable,
                }
            )
    return out


@money.exact
def income(ledger, basis: str, contracts: Contracts, flows: Cash) -> Income:
    """Revenue and revenue share per month on `basis`."""
    if basis == "cash":
        return _cash(ledger, flows)
    revenue, currencies = revenue_lines(ledger, "service" if basis == "effective" else "issued")
    said, share_currencies = statements(ledger)
    share: dict[date, Decimal] = defaultdict(Decimal)
    for (_, month), amount in said.items():
        share[month] += amount
    estimated: dict[date, Decimal] = defaultdict(Decimal)
    for a in contracts.agreements:
        for month, base in agreement_revenue(ledger, a).items():
            if (a.partner, month) not in said:
                amount = base * a.rate
                share[month] += amount
                estimated[month] += amount
    return Income(dict(revenue), dict(share), dict(estimated), currencies | share_currencies)


def _cash(ledger, flows: Cash) -> Income:
    if not flows.known:
        t = ledger.table("payments")
        rows = t.group_by(month=_month(t.paid_on), currency=t.currency).aggregate(amount=t.amount.sum())
        revenue: dict[date, Decimal] = defaultdict(Decimal)
        currencies = set()
        for r in rows.to_pyarrow().to_pylist():
            revenue[month_of(r["month"])] += r["amount"]
            currencies.add(r["currency"])
        return Income(
            dict(revenue),
            {},
            {},
            currencies,
            known=bool(revenue),
            why="no bank statement: revenue from the payments ledger, revenue share paid unknown",
        )
    revenue, share = defaultdict(Decimal), defaultdict(Decimal)
    for ln in flows.lines:
        if ln["kind"] == "customer_payment":
            revenue[month_of(ln["date"])] += ln["amount"]
        elif ln["kind"] == "revenue_share":
            share[month_of(ln["date"])] += -ln["amount"]
    return Income(dict(revenue), dict(share), {}, flows.currencies)
