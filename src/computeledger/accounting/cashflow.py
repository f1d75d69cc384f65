"""When money moves: the bank statement's lines, and every bill and contract payment on
the bank line that paid it or, failing one, on its payment terms (labelled `estimated`).

A bank line pays a bill when its counterparty is the bill's issuer (without case) and its
reference is one of the bill's invoice ids or its billing month (`2025-07`). A contract
payment is a line of the contract's provider whose reference is the contract's id. Lines
of kind `cloud_bill` or `commitment` that pay nothing known are kept and listed as
unmatched, and count as compute paid (never dropped). A bill paid more than it says is
flagged. Credits need no step of their own here: a bill is paid net of them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, localcontext

from computeledger import money
from computeledger.accounting.bases import WORKLOADS, Compute
from computeledger.accounting.periods import add_months, month_of

COMPUTE_KINDS = ("cloud_bill", "commitment")
NOT_FLOWS = ("opening_balance",)


@dataclass
class Payment:
    """Compute paid on a date: for a bill (provider, billing month) or a contract."""

    date: date
    provider: str
    amount: Decimal  # paid out: positive
    status: str  # paid, estimated, unmatched
    bill: date | None = None  # the billing month it pays
    contract: str | None = None
    line: str | None = None  # file:line of the bank line


@dataclass
class Cash:
    """The bank lines and the compute payments read from them."""

    lines: list[dict]
    payments: list[Payment]
    unmatched: list[dict] = field(default_factory=list)
    overpaid: list[dict] = field(default_factory=list)
    currencies: set[str] = field(default_factory=set)

    @property
    def known(self) -> bool:
        """Whether a bank statement is in the ledger (else cash figures are unknown)."""
        return bool(self.lines)

    def last_date(self) -> date | None:
        return max((ln["date"] for ln in self.lines), default=None)


def bank_lines(ledger) -> list[dict]:
    """Every bank line, in date order (bank statements are small next to bills)."""
    t = ledger.table("cash")
    cols = [
        "date",
        "counterparty",
        "kind",
        "reference",
        "amount",
        "currency",
        "balance",
        "account",
        "source_file",
        "source_line",
    ]
    rows = t.select(cols).to_pyarrow().to_pylist()
    return sorted(rows, key=lambda r: (r["date"], r["source_file"], r["source_line"]))


def _norm(text: str | None) -> str:
    return (text or "").strip().casefold()


@money.exact
def cash(ledger, compute: Compute) -> Cash:
    """Match the bank's lines to the bills and contracts; estimate what no line pays."""
    lines = bank_lines(ledger)
    bills = compute.bills()
    by_ref: dict[tuple[str, str], tuple[str, date]] = {}
    for (provider, month), bill in bills.items():
        for ref in {f"{month:%Y-%m}", *bill["invoices"]}:
            by_ref[(_norm(provider), _norm(ref))] = (provider, month)
    contracts = {(_norm(c.provider), _norm(c.id)): c for c in compute.contracts.commitments}
    issuers = {_norm(p) for p, _ in bills}
    out = Cash(lines, [], currencies={ln["currency"] for ln in lines if ln["currency"]})
    paid: dict[tuple[str, date], Decimal] = defaultdict(Decimal)
    contract_paid: set[str] = set()
    for ln in lines:
        if ln["amount"] >= 0 or ln["kind"] in NOT_FLOWS:
            continue
        key = (_norm(ln["counterparty"]), _norm(ln["reference"]))
        where = f"{ln['source_file']}:{ln['source_line']}"
        if key in by_ref:
            provider, month = by_ref[key]
            out.payments.append(Payment(ln["date"], provider, -ln["amount"], "paid", bill=month, line=where))
            paid[(provider, month)] += -ln["amount"]
        elif key in contracts:
            c = contracts[key]
            out.payments.append(
                Payment(ln["date"], c.provider, -ln["amount"], "paid", contract=c.id, line=where)
            )
            contract_paid.add(c.id)
        elif ln["kind"] in COMPUTE_KINDS or (key[0] in issuers and ln["kind"] is None):
            out.payments.append(
                Payment(
                    ln["date"],
                    ln["counterparty"] or "(no counterparty)",
                    -ln["amount"],
                    "unmatched",
                    line=where,
                )
            )
            out.unmatched.append(ln)
    for (provider, month), bill in sorted(bills.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if (provider, month) in paid:
            if paid[(provider, month)] > bill["billed"]:
                out.overpaid.append(
                    {
                        "provider": provider,
                        "billing_month": f"{month:%Y-%m}",
                        "billed": bill["billed"],
                        "paid": paid[(provider, month)],
                    }
                )
        elif bill["billed"] > 0:
            due = add_months(month, 1) + timedelta(days=compute.contracts.days(provider))
            out.payments.append(Payment(due, provider, bill["billed"], "estimated", bill=month))
    last = out.last_date()
    for c in compute.contracts.commitments:
        if c.id in compute.bill_ids:
            continue  # the bills show it: its purchase is paid with the provider's bill
        for when, amount in c.payments:
            if c.id in contract_paid and last is not None and when <= last:
                continue  # the bank shows this contract's payments up to its last date
            out.payments.append(Payment(when, c.provider, amount, "estimated", contract=c.id))
    return out


@money.exact
def compute_paid(compute: Compute, flows: Cash) -> dict[tuple[date, str, str], Decimal]:
    """(payment month, provider, workload) -> compute paid: each bill's payment spread over
    workloads as the bill's billed cost is, contracts to their workload, unmatched to other."""
    mix = compute.bill_mix()
    workload_of = {c.id: c.workload for c in compute.contracts.commitments}
    out: dict[tuple[date, str, str], Decimal] = defaultdict(Decimal)
    for p in flows.payments:
        month = month_of(p.date)
        if p.bill is not None:
            weights = mix.get((p.provider, p.bill), {})
            names = [w for w in WORKLOADS if w in weights]
            parts = money.spread(p.amount, [weights[w] for w in names]) if names else [None]
            if None in parts:  # a bill whose workloads cancel out: all of it to other
                names, parts = ["other"], [p.amount]
            for w, part in zip(names, parts, strict=True):
                out[(month, p.provider, w)] += part
        elif p.contract is not None:
            w = workload_of.get(p.contract, "other")
            out[(month, p.provider, w if w in WORKLOADS else "other")] += p.amount
        else:
            out[(month, p.provider, "other")] += p.amount
    return dict(out)


@money.exact
def estimated_paid(flows: Cash) -> dict[date, Decimal]:
    """Month -> the part of compute paid that is estimated (no bank line shows it)."""
    out: dict[date, Decimal] = defaultdict(Decimal)
    for p in flows.payments:
        if p.status == "estimated":
            out[month_of(p.date)] += p.amount
    return dict(out)


@money.exact
def flows_by_month(flows: Cash, funding_rounds: list[dict]) -> dict[date, dict[str, Decimal]]:
    """Month -> cash in (receipts other than funding), cash out, funding, and each kind's
    total, from the bank lines. A line without a kind is funding when an investor of a
    round in the ledger is its counterparty."""
    investors = {_norm(r["investor"]) for r in funding_rounds if r["investor"]}
    out: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for ln in flows.lines:
        if ln["kind"] in NOT_FLOWS:
            continue
        m = out[month_of(ln["date"])]
        kind = ln["kind"] or (
            "funding" if _norm(ln["counterparty"]) in investors and ln["amount"] > 0 else None
        )
        if kind == "funding":
            m["funding"] += ln["amount"]
        elif ln["amount"] >= 0:
            m["cash_in"] += ln["amount"]
        else:
            m["cash_out"] += -ln["amount"]
        m[f"kind:{kind or 'other'}"] += ln["amount"]
    return {k: dict(v) for k, v in out.items()}


def openings(flows: Cash) -> dict[date, Decimal] | None:
    """Month -> the opening balances of the accounts that start that month, each from its
    own date: its first `opening_balance` line, else its first line's running balance less
    its amount. None when an account says neither (its cash, and so the total, is unknown)."""
    first: dict[str, dict] = {}
    opened: dict[str, dict] = {}
    for ln in flows.lines:
        account = ln["account"] or ""
        first.setdefault(account, ln)
        if ln["kind"] == "opening_balance":
            opened.setdefault(account, ln)
    out: dict[date, Decimal] = defaultdict(Decimal)
    with localcontext(money.CONTEXT):
        for account, ln in first.items():
            if account in opened:
                out[month_of(opened[account]["date"])] += opened[account]["amount"]
            elif ln["balance"] is None:
                return None
            else:
                out[month_of(ln["date"])] += ln["balance"] - ln["amount"]
    return dict(out) if out else None


def bank_balances(flows: Cash) -> dict[date, Decimal]:
    """Month -> the bank's own running balance after its last line of the month."""
    out: dict[date, Decimal] = {}
    for ln in flows.lines:
        if ln["balance"] is not None:
            out[month_of(ln["date"])] = ln["balance"]
    return out
