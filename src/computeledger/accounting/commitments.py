"""The commitments ledger: every commitment the bills show (Purchase rows and the usage
that carries its CommitmentDiscountId) and every contract of the contracts file.

Per commitment: the purchase, what is paid, the amortization per month (used and unused
effective cost, as the bills say; for a contract outside the bills, straight-line over its
term), utilization (used / amortized), and the remaining balance. Where a contract gives
the term of a commitment the bills show, the months the bills have not reached are
scheduled straight-line on the remaining balance, so the schedule adds up exactly to the
purchase.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

import ibis

from computeledger import money
from computeledger.accounting.contracts import Contracts, load_contracts
from computeledger.accounting.periods import add_months, month_of, months


@dataclass
class Commitments:
    """One row per commitment, one schedule row per commitment and month."""

    rows: list[dict] = field(default_factory=list)
    schedule: list[dict] = field(default_factory=list)


@money.exact
def commitments(ledger, contracts: Contracts | str | None = None) -> Commitments:
    """The commitments ledger from the bills and the contracts file."""
    contracts = load_contracts(contracts)
    c = ledger.charges
    c = c.filter(c.CommitmentDiscountId.notnull())
    provider = ibis.coalesce(c.InvoiceIssuerName, c.ServiceProviderName, c.HostProviderName)
    status = ibis.cases(
        (c.ChargeCategory == "Purchase", "purchase"),
        (c.CommitmentDiscountStatus == "Used", "used"),
        (c.CommitmentDiscountStatus == "Unused", "unused"),
        else_="other",
    )
    rows = (
        c.group_by(
            id=c.CommitmentDiscountId,
            provider=provider,
            status=status,
            month=c.ChargePeriodStart.truncate("M").date(),
        )
        .aggregate(
            billed=c.BilledCost.sum(), effective=c.EffectiveCost.sum(), first=c.ChargePeriodStart.min()
        )
        .to_pyarrow()
        .to_pylist()
    )
    bills: dict[str, dict] = {}
    for r in rows:
        b = bills.setdefault(
            r["id"],
            {
                "provider": r["provider"],
                "purchase": Decimal(0),
                "purchased_on": None,
                "used": defaultdict(Decimal),
                "unused": defaultdict(Decimal),
            },
        )
        if r["status"] == "purchase":
            b["purchase"] += r["billed"]
            first = r["first"].date()
            b["purchased_on"] = min(filter(None, [b["purchased_on"], first]))
        elif r["status"] in ("used", "unused"):
            b[r["status"]][r["month"]] += r["effective"]
        else:  # usage priced by the commitment with no status: counted as used
            b["used"][r["month"]] += r["effective"]
    terms = {k.id: k for k in contracts.commitments}
    out = Commitments()
    for cid, b in sorted(bills.items()):
        _from_bills(out, cid, b, terms.get(cid))
    if any(k.id not in bills for k in contracts.commitments):
        from computeledger.accounting.bases import compute
        from computeledger.accounting.cashflow import cash

        payments = cash(ledger, compute(ledger, contracts)).payments
    for k in contracts.commitments:
        if k.id not in bills:
            _from_contract(out, k, [p for p in payments if p.contract == k.id])
    return out


def _from_bills(out: Commitments, cid: str, b: dict, term) -> None:
    seen = sorted(set(b["used"]) | set(b["unused"]))
    remaining = b["purchase"]
    used_total = unused_total = Decimal(0)
    for m in seen:
        used, unused = b["used"].get(m, Decimal(0)), b["unused"].get(m, Decimal(0))
        remaining -= used + unused
        used_total += used
        unused_total += unused
        out.schedule.append(_month_row(cid, m, used, unused, remaining, "actual"))
    if term is not None and seen:
        ahead = months(add_months(seen[-1], 1), add_months(month_of(term.start), term.months))
        for m, part in zip(ahead, money.spread(remaining, [1] * len(ahead)) if ahead else [], strict=True):
            remaining -= part
            out.schedule.append(_month_row(cid, m, None, None, remaining, "scheduled", part))
    out.rows.append(
        {
            "id": cid,
            "provider": b["provider"],
            "source": "bills" + (" and contracts" if term else ""),
            "purchase": b["purchase"],
            "purchased_on": b["purchased_on"],
            "term_start": term.start if term else None,
            "term_months": term.months if term else None,
            "amortized": used_total + unused_total,
            "used": used_total,
            "unused": unused_total,
            "utilization": _ratio(used_total, used_total + unused_total),
            "remaining": b["purchase"] - used_total - unused_total,
            "paid": b["purchase"],  # on the provider's bill
            "paid_estimated": Decimal(0),
            "note": None
            if term
            else "term not in the bills: give it in a contracts file to schedule the rest",
        }
    )


def _from_contract(out: Commitments, k, payments: list) -> None:
    first = month_of(k.start)
    remaining = k.total
    for i, part in enumerate(money.spread(k.total, [1] * k.months)):
        remaining -= part
        out.schedule.append(_month_row(k.id, add_months(first, i), None, None, remaining, "scheduled", part))
    out.rows.append(
        {
            "id": k.id,
            "provider": k.provider,
            "source": "contracts",
            "purchase": k.total,
            "purchased_on": k.payments[0][0],
            "term_start": k.start,
            "term_months": k.months,
            "amortized": None,
            "used": None,
            "unused": None,
            "utilization": None,
            "remaining": None,
            "paid": sum((p.amount for p in payments if p.status == "paid"), Decimal(0)),
            "paid_estimated": sum((p.amount for p in payments if p.status == "estimated"), Decimal(0)),
            "note": "outside the bills: use against it unknown; amortized straight-line; paid: bank "
            "lines (provider, reference = id); estimated: the schedule's other payments",
        }
    )


def _month_row(cid: str, m: date, used, unused, remaining: Decimal, kind: str, amortized=None) -> dict:
    amort = amortized if amortized is not None else used + unused
    return {
        "id": cid,
        "month": f"{m:%Y-%m}",
        "kind": kind,
        "amortized": amort,
        "used": used,
        "unused": unused,
        "utilization": None if used is None else _ratio(used, amort),
        "remaining": remaining,
    }


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return money.divide(part, whole).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)
