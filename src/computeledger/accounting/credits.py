"""The credits ledger: credits consumed per provider and month (the bills' Credit rows),
set against the grants of the contracts file: remaining, the trailing three months' rate,
and the month the grant runs out at that rate (or what expires unused).

A provider's credits go to its grants in order of expiry (the first to expire first); a
provider with credits and no grant has its consumption listed and its remaining unknown.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_CEILING, Decimal

import ibis

from computeledger import currency, money
from computeledger.accounting.contracts import Contracts, load_contracts
from computeledger.accounting.periods import add_months, month_of, months

TRAILING = 3


@money.exact
def consumed(ledger) -> dict[str, dict[date, Decimal]]:
    """Provider -> billing month -> credit consumed (positive)."""
    c = ledger.charges
    c = c.filter(c.ChargeCategory == "Credit")
    provider = ibis.coalesce(c.InvoiceIssuerName, c.ServiceProviderName, c.HostProviderName)
    rows = c.group_by(provider=provider, month=c.BillingPeriodStart.truncate("M").date()).aggregate(
        amount=c.BilledCost.sum()
    )
    out: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for r in rows.to_pyarrow().to_pylist():
        out[r["provider"]][r["month"]] = -r["amount"]
    return dict(out)


@money.exact
def credits(ledger, contracts: Contracts | str | None = None) -> tuple[list[dict], list[dict]]:
    """(grants, months): one row per grant (or per provider without one) and one per grant
    and month consumed."""
    contracts = load_contracts(contracts)
    used = consumed(ledger)
    bills = currency.held(ledger.charges, "BillingCurrency")
    currency.one(bills | {g.currency for g in contracts.credits}, "the bills and the credit grants")
    grants, per_month = [], []
    providers = sorted(set(used) | {g.provider for g in contracts.credits})
    for provider in providers:
        mine = sorted(
            (g for g in contracts.credits if g.provider == provider),
            key=lambda g: (g.expires or date.max, g.id),
        )
        history = sorted(used.get(provider, {}).items())
        left = {g.id: g.amount for g in mine}
        taken: dict[str, dict[date, Decimal]] = defaultdict(dict)
        beyond: dict[date, Decimal] = {}
        for month, amount in history:
            rest = amount
            for g in mine:
                if rest <= 0:
                    break
                if (g.start and month < month_of(g.start)) or (g.expires and month >= g.expires):
                    continue  # the grant is not open in this billing month
                part = min(rest, left[g.id])
                if part > 0:
                    taken[g.id][month] = part
                    left[g.id] -= part
                    rest -= part
            if rest:
                beyond[month] = rest
        rate = _rate(history)
        rate = None if rate is None else rate.quantize(Decimal("0.000001"))
        last = history[-1][0] if history else None
        for g in mine:
            total = sum(taken[g.id].values(), Decimal(0))
            grants.append(_grant_row(g, total, left[g.id], rate, last))
            remaining = g.amount
            for month, part in sorted(taken[g.id].items()):
                remaining -= part
                per_month.append(
                    {
                        "grant": g.id,
                        "provider": provider,
                        "month": f"{month:%Y-%m}",
                        "consumed": part,
                        "remaining": remaining,
                    }
                )
        if beyond or not mine:
            total = sum(beyond.values(), Decimal(0)) if mine else sum((a for _, a in history), Decimal(0))
            grants.append(
                {
                    "grant": None,
                    "provider": provider,
                    "amount": None,
                    "start": None,
                    "expires": None,
                    "consumed": total,
                    "remaining": None,
                    "monthly_rate": rate,
                    "exhausted_by": None,
                    "expires_unused": None,
                    "note": "credits beyond every grant in the contracts file"
                    if mine
                    else "no grant in the contracts file: remaining unknown",
                }
            )
            for month, part in beyond.items() if mine else history:
                per_month.append(
                    {
                        "grant": None,
                        "provider": provider,
                        "month": f"{month:%Y-%m}",
                        "consumed": part,
                        "remaining": None,
                    }
                )
    return grants, per_month


def _rate(history: list[tuple[date, Decimal]]) -> Decimal | None:
    """Average credit consumed per month over the trailing three months of bills."""
    if not history:
        return None
    last = history[-1][0]
    window = [add_months(last, -k) for k in range(TRAILING)]
    values = dict(history)
    return money.divide(sum((values.get(m, Decimal(0)) for m in window), Decimal(0)), TRAILING)


def _grant_row(g, total: Decimal, left: Decimal, rate: Decimal | None, last: date | None) -> dict:
    exhausted = expires_unused = None
    if left == 0 and total:
        note = "used up"
    elif rate and rate > 0 and last is not None:
        months_left = int(money.divide(left, rate).to_integral_value(rounding=ROUND_CEILING))
        exhausted = add_months(last, months_left)
        note = f"runs out in {exhausted:%Y-%m} at the trailing rate"
        if g.expires and exhausted >= month_of(g.expires):
            spent = rate * len(months(add_months(last, 1), month_of(g.expires)))
            expires_unused = max(left - spent, Decimal(0))
            note = f"expires {g.expires} before it runs out"
    else:
        note = "not being consumed"
    return {
        "grant": g.id,
        "provider": g.provider,
        "amount": g.amount,
        "start": g.start,
        "expires": g.expires,
        "consumed": total,
        "remaining": left,
        "monthly_rate": rate,
        "exhausted_by": None if exhausted is None else f"{exhausted:%Y-%m}",
        "expires_unused": expires_unused,
        "note": note,
    }
