"""The statement: per month, quarter or year and per basis, revenue, revenue share,
compute by workload, gross profit and margin, compute burn, cash in and out, funding,
net cash burn, the cash balance (beside the bank's own) and the runway.

Signs: burn is what leaves, positive when more leaves than comes in:
compute burn = total compute + revenue share - revenue; net cash burn = cash out - cash in
(funding apart). Runway = closing cash / the trailing three months' average net cash burn,
rounded down to a tenth of a month, or "not burning". A figure the ledger cannot give
is None, and the statement's notes say why; it is never 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from pathlib import Path

from computeledger import currency, money
from computeledger.accounting import cashflow
from computeledger.accounting.bases import BASES, WORKLOADS, Compute, compute
from computeledger.accounting.contracts import Contracts, load_contracts
from computeledger.accounting.income import income
from computeledger.accounting.periods import GRAINS, add_months, label, month_of, months, parse
from computeledger.errors import UsageError

#: The cash part of each row: the same on every basis (what the bank shows).
CASH_LINES = (
    "cash_in", "cash_out", "funding", "net_cash_burn", "opening_cash", "closing_cash", "bank_balance",
    "balance_difference", "runway_months", "runway",
)  # fmt: skip
LINES = (
    "revenue", "revenue_share", "inference_compute", "gross_profit", "gross_margin", "training_compute",
    "research_compute", "other_compute", "total_compute", "compute_burn", *CASH_LINES, "estimated",
)  # fmt: skip
#: The lines that are money (the others: a ratio, months, words).
MONEY_LINES = tuple(line for line in LINES if line not in ("gross_margin", "runway_months", "runway"))
RUNWAY_MONTHS = 3


@dataclass
class Statement:
    """Rows (one per period and basis, the LINES as keys) and notes on what is unknown."""

    rows: list[dict]
    notes: list[str] = field(default_factory=list)
    unmatched: list[dict] = field(default_factory=list)
    overpaid: list[dict] = field(default_factory=list)
    currency: str | None = None
    #: what it was computed from: a bridge of the same ledger and contracts reads them again
    inputs: Inputs | None = field(default=None, repr=False, compare=False)


@dataclass
class Inputs:
    """Everything the statement and the bridge read, gathered once."""

    compute: Compute
    flows: cashflow.Cash
    funding: list[dict]
    contracts: Contracts
    currency: str | None
    has_revenue: bool  # whether any invoice line is in the ledger


def gather(
    ledger, contracts: Contracts | str | Path | None = None, rules_version: str | None = None
) -> Inputs:
    """Read the ledger's aggregates once; refuse mixed currencies (no rate is guessed)."""
    contracts = load_contracts(contracts)
    comp = compute(ledger, contracts, rules_version)
    flows = cashflow.cash(ledger, comp)
    funding = ledger.table("funding").to_pyarrow().to_pylist()
    revenue_currencies = currency.held(ledger.table("revenue_lines"))
    currencies = comp.currencies() | flows.currencies | revenue_currencies
    currencies |= currency.held(ledger.table("revenue_share")) | currency.held(ledger.table("payments"))
    currencies |= {r["currency"] for r in funding}
    one = currency.one(currencies, "the ledger (bills, contracts, revenue, revenue share, cash)")
    return Inputs(comp, flows, funding, contracts, one, bool(revenue_currencies))


@money.exact
def statement(
    ledger,
    *,
    grain: str = "month",
    bases: tuple[str, ...] = ("effective",),
    start: str | None = None,
    end: str | None = None,
    contracts: Contracts | str | None = None,
    rules_version: str | None = None,
    inputs: Inputs | None = None,
) -> Statement:
    """The statement per period of `grain` and per basis, from `start` to `end` (periods as
    written: 2025, 2025-Q3, 2025-07; by default every month the ledger holds)."""
    if grain not in GRAINS:
        raise UsageError(f"--period {grain!r}: use one of {', '.join(GRAINS)}")
    for b in bases:
        if b not in BASES:
            raise UsageError(f"--basis {b!r}: use one of {', '.join(BASES)}")
    inp = inputs or gather(ledger, contracts, rules_version)
    monthly = {b: _monthly(ledger, inp, b) for b in bases}
    cash = _cash_months(inp)
    seen = data_months(inp)
    span = _span(seen, start, end)
    out = Statement([], currency=inp.currency, inputs=inp)
    _notes(inp, out, monthly)
    groups: dict[str, list[date]] = defaultdict(list)
    for m in span:
        groups[label(m, grain)].append(m)
    lo, hi = min(seen), max(seen)
    outside = [p for p, ms in groups.items() if ms[-1] < lo or ms[0] > hi]
    if outside:
        out.notes.append(f"left out, outside the ledger's data ({lo:%Y-%m} to {hi:%Y-%m}), so unknown: "
                         + ", ".join(outside))  # fmt: skip
    for b in bases:
        for period, ms in groups.items():
            if period in outside:
                continue
            row = {"period": period, "basis": b, **_roll(monthly[b], cash, ms)}
            out.rows.append(row)
    return out


def _notes(inp: Inputs, out: Statement, monthly: dict) -> None:
    if inp.compute.rules_version is None:
        out.notes.append("no allocation: compute by workload unknown (run `computeledger allocate`)")
    if not inp.flows.known:
        out.notes.append(
            "no bank statement: cash in, cash out, balance and runway unknown; "
            "compute on the cash basis is estimated from payment terms"
        )
    for b, m in monthly.items():
        if m["why"]:
            out.notes.append(f"{b}: {m['why']}")
    if inp.flows.unmatched:
        out.notes.append(
            f"{len(inp.flows.unmatched)} bank line(s) of compute pay no bill in the ledger "
            "(kept as compute paid, unallocated)"
        )
    if inp.flows.overpaid:
        out.notes.append(f"{len(inp.flows.overpaid)} bill(s) paid more than they say")
    out.unmatched, out.overpaid = inp.flows.unmatched, inp.flows.overpaid


def _monthly(ledger, inp: Inputs, basis: str) -> dict:
    """Per month on one basis: compute by workload, revenue, share, estimated."""
    if basis == "cash":
        comp = cashflow.compute_paid(inp.compute, inp.flows)
        estimated = cashflow.estimated_paid(inp.flows)
    else:
        comp = inp.compute.billed() if basis == "billed" else inp.compute.effective()
        estimated = {}
    work: dict[date, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(WORKLOADS, Decimal(0)))
    for (month, _provider, workload), value in comp.items():
        work[month][workload] += value
    inc = income(ledger, basis, inp.contracts, inp.flows)
    has_revenue = inc.known and (inp.has_revenue or basis == "cash")
    for month, amount in inc.share_estimated.items():
        estimated[month] = estimated.get(month, Decimal(0)) + amount
    return {
        "basis": basis,
        "work": dict(work),
        "revenue": inc.revenue,
        "share": inc.share,
        "estimated": estimated,
        "has_revenue": has_revenue,
        "allocated": inp.compute.rules_version is not None,
        "why": inc.why,
    }


def _cash_months(inp: Inputs) -> dict:
    """Per month: flows, opening and closing balance, the bank's balance, trailing burn."""
    if not inp.flows.known:
        return {}
    flows = cashflow.flows_by_month(inp.flows, inp.funding)
    opens = cashflow.openings(inp.flows)
    bank = cashflow.bank_balances(inp.flows)
    last = month_of(inp.flows.last_date())
    first = min([*flows, *(opens or {})])
    out, balance, burns = {}, (Decimal(0) if opens else None), []
    for m in months(first, add_months(last, 1)):
        if balance is not None:
            balance += opens.get(m, Decimal(0))  # an account opening later adds its own balance
        f = flows.get(m, {})
        cash_in, cash_out, funding = (f.get(k, Decimal(0)) for k in ("cash_in", "cash_out", "funding"))
        close = None if balance is None else balance + cash_in - cash_out + funding
        burns.append(cash_out - cash_in)
        out[m] = {
            "cash_in": cash_in,
            "cash_out": cash_out,
            "funding": funding,
            "opening_cash": balance,
            "closing_cash": close,
            "bank_balance": bank.get(m),
            "burns": list(burns[-RUNWAY_MONTHS:]),
        }
        balance = close
    return out


def data_months(inp: Inputs) -> set[date]:
    """The months of bills and of the bank: where the ledger knows compute and cash (revenue
    alone does not extend them)."""
    seen: set[date] = set()
    for c in inp.compute.cells:
        seen |= {c.billed_month, c.charge_month}
    return seen | {month_of(ln["date"]) for ln in inp.flows.lines}


def check_within(seen: set[date], first: date, stop: date, text: str) -> None:
    """Refuse a period with no month inside the ledger's data: its figures are unknown, not 0."""
    if not seen:
        raise UsageError(
            f"period {text}: the ledger holds no bills and no bank statement, so nothing is known"
        )
    lo, hi = min(seen), max(seen)
    if stop <= lo or first > hi:
        raise UsageError(
            f"period {text}: outside the ledger's data ({lo:%Y-%m} to {hi:%Y-%m}); its figures are unknown"
        )


def _span(seen: set[date], start: str | None, end: str | None) -> list[date]:
    if not seen:
        raise UsageError(
            "the ledger holds no bills and no bank statement: nothing to state (ingest bills first)"
        )
    first = parse(start)[0] if start else min(seen)
    stop = parse(end)[1] if end else add_months(max(seen), 1)
    if stop <= first:
        raise UsageError(f"--to {end} is before --from {start}")
    check_within(seen, first, stop, start if start == end or not end else f"{start or ''}..{end}")
    return months(first, stop)


def _roll(m: dict, cash: dict, ms: list[date]) -> dict:
    """One period's lines from its months (on the cash basis, revenue is unknown where
    the bank statement does not reach)."""
    if m["basis"] == "cash" and cash and not all(x in cash for x in ms):
        m = m | {"has_revenue": False}
    zero = dict.fromkeys(WORKLOADS, Decimal(0))
    work = {w: sum((m["work"].get(x, zero)[w] for x in ms), Decimal(0)) for w in WORKLOADS}
    total = sum(work.values(), Decimal(0))
    allocated = m["allocated"]
    revenue = sum((m["revenue"].get(x, Decimal(0)) for x in ms), Decimal(0)) if m["has_revenue"] else None
    share = sum((m["share"].get(x, Decimal(0)) for x in ms), Decimal(0)) if m["has_revenue"] else None
    inference = work["inference"] if allocated else None
    gross = None if revenue is None or inference is None else revenue - share - inference
    row = {
        "revenue": revenue,
        "revenue_share": share,
        "inference_compute": inference,
        "gross_profit": gross,
        "gross_margin": _ratio(gross, revenue),
        "training_compute": work["training"] if allocated else None,
        "research_compute": work["research"] if allocated else None,
        "other_compute": work["other"] if allocated else None,
        "total_compute": total,
        "compute_burn": None if revenue is None else total + share - revenue,
    }
    row |= _cash_lines(cash, ms)
    est = sum((m["estimated"].get(x, Decimal(0)) for x in ms), Decimal(0))
    row["estimated"] = est
    return row


def _cash_lines(cash: dict, ms: list[date]) -> dict:
    known = [cash[x] for x in ms if x in cash]
    if not known:
        return dict.fromkeys(CASH_LINES) | {"runway": "unknown: no bank statement for the period"}
    cash_in = sum((c["cash_in"] for c in known), Decimal(0))
    cash_out = sum((c["cash_out"] for c in known), Decimal(0))
    last = known[-1]
    bank = last["bank_balance"]
    closing = last["closing_cash"]
    months_left, runway = _runway(closing, last["burns"])
    return {
        "cash_in": cash_in,
        "cash_out": cash_out,
        "funding": sum((c["funding"] for c in known), Decimal(0)),
        "net_cash_burn": cash_out - cash_in,
        "opening_cash": known[0]["opening_cash"],
        "closing_cash": closing,
        "bank_balance": bank,
        "balance_difference": None if bank is None or closing is None else bank - closing,
        "runway_months": months_left,
        "runway": runway,
    }


def _runway(closing: Decimal | None, burns: list[Decimal]) -> tuple[Decimal | None, str]:
    if closing is None:
        return None, "unknown: no opening balance"
    burn = money.divide(sum(burns, Decimal(0)), len(burns))
    if burn <= 0:
        return None, "not burning"
    if closing <= 0:
        return Decimal(0), "out of cash"
    left = money.divide_down(closing, burn).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    note = "" if len(burns) == RUNWAY_MONTHS else f" (trailing {len(burns)} month(s))"
    return left, f"{left} months{note}"


def _ratio(part: Decimal | None, whole: Decimal | None) -> Decimal | None:
    if part is None or not whole:
        return None
    return money.divide(part, whole).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)
