"""Compute on the billed and effective bases, from two small aggregates the engine makes.

*billed*: BilledCost by billing month (what the invoices say); *effective*: EffectiveCost by
charge month (commitments amortized over their term, as FOCUS defines it). Each charge
falls in one category that says why its two costs differ: a commitment `purchase`
(billed, then amortized), usage covered by a commitment (`used`), the commitment left
`unused`, a `credit`, or `other`. Workloads (inference, training, research) come from
the allocation's parts (loaded: the shared splits spread onto them); everything else,
unallocated charges included, is `other`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

import ibis

from computeledger import money
from computeledger.accounting.contracts import Contracts
from computeledger.accounting.periods import add_months, month_of
from computeledger.allocate.engine import latest_version
from computeledger.errors import UsageError

WORKLOADS = ("inference", "training", "research", "other")
CATEGORIES = ("purchase", "used", "unused", "credit", "other")
BASES = ("billed", "effective", "cash")


@dataclass
class Cell:
    """Charges of one issuer, billing month, charge month and category."""

    provider: str
    billed_month: date
    charge_month: date
    category: str
    currency: str | None
    invoices: frozenset[str]
    billed: Decimal
    effective: Decimal


@dataclass
class Compute:
    """The aggregates every basis is read from (small: months x providers x categories)."""

    cells: list[Cell]
    #: (provider, billing month, charge month, workload) -> [billed, effective] of the allocation's parts
    parts: dict[tuple[str, date, date, str], list[Decimal]]
    rules_version: str | None
    contracts: Contracts
    bill_ids: frozenset[str] = frozenset()  # commitment ids the bills show

    def currencies(self) -> set[str]:
        contracts = (*self.contracts.commitments, *self.contracts.credits)
        return {c.currency for c in self.cells if c.currency} | {c.currency for c in contracts}

    @money.exact
    def billed(self) -> dict[tuple[date, str, str], Decimal]:
        """(billing month, provider, workload) -> BilledCost."""
        return self._on("billed")

    @money.exact
    def effective(self) -> dict[tuple[date, str, str], Decimal]:
        """(charge month, provider, workload) -> EffectiveCost, plus the straight-line
        amortization of contracts the bills do not show."""
        out = self._on("effective")
        for month, contract, amount in contract_amortization(self):
            key = (month, contract.provider, contract.workload if contract.workload in WORKLOADS else "other")
            out[key] = out.get(key, Decimal(0)) + amount
        return out

    def _on(self, basis: str) -> dict[tuple[date, str, str], Decimal]:
        index = 0 if basis == "billed" else 1
        totals: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
        for c in self.cells:
            month = c.billed_month if basis == "billed" else c.charge_month
            totals[(month, c.provider)] += c.billed if basis == "billed" else c.effective
        placed: dict[tuple[date, str, str], Decimal] = defaultdict(Decimal)
        for (provider, billed_month, charge_month, workload), values in self.parts.items():
            month = billed_month if basis == "billed" else charge_month
            placed[(month, provider, workload)] += values[index]
        out: dict[tuple[date, str, str], Decimal] = {}
        for (month, provider), total in totals.items():
            rest = total
            for w in WORKLOADS[:-1]:
                value = placed.get((month, provider, w))
                if value is not None:
                    out[(month, provider, w)] = value
                    rest -= value
            out[(month, provider, "other")] = rest
        return out

    def bill_mix(self) -> dict[tuple[str, date], dict[str, Decimal]]:
        """(provider, billing month) -> its billed cost per workload (to spread its payment)."""
        out: dict[tuple[str, date], dict[str, Decimal]] = defaultdict(dict)
        for (month, provider, workload), value in self.billed().items():
            out[(provider, month)][workload] = value
        return out

    def bills(self) -> dict[tuple[str, date], dict]:
        """(provider, billing month) -> the bill: billed total, currency, invoice ids."""
        out: dict[tuple[str, date], dict] = {}
        with localcontext(money.CONTEXT):
            for c in self.cells:
                b = out.setdefault(
                    (c.provider, c.billed_month),
                    {"billed": Decimal(0), "currency": c.currency, "invoices": set()},
                )
                b["billed"] += c.billed
                b["invoices"] |= c.invoices
        return out


def compute(ledger, contracts: Contracts, rules_version: str | None = None) -> Compute:
    """The engine's two aggregates: charges by provider, months and category; the
    allocation's parts by provider, months and workload (the latest run, or `rules_version`)."""
    c = ledger.charges
    category = ibis.cases(
        ((c.ChargeCategory == "Purchase") & c.CommitmentDiscountId.notnull(), "purchase"),
        (c.CommitmentDiscountStatus == "Used", "used"),
        (c.CommitmentDiscountStatus == "Unused", "unused"),
        (c.ChargeCategory == "Credit", "credit"),
        else_="other",
    )
    keyed = c.select(
        provider=_provider(c),
        billed_month=c.BillingPeriodStart.truncate("M").date(),
        charge_month=c.ChargePeriodStart.truncate("M").date(),
        category=category,
        currency=c.BillingCurrency,
        invoice=c.InvoiceId,
        commitment=c.CommitmentDiscountId,
        BilledCost=c.BilledCost,
        EffectiveCost=c.EffectiveCost,
    )
    rows = (
        keyed.group_by("provider", "billed_month", "charge_month", "category", "currency")
        .aggregate(
            billed=keyed.BilledCost.sum(),
            effective=keyed.EffectiveCost.sum(),
            invoices=keyed.invoice.collect(distinct=True),
            commitments=keyed.commitment.collect(distinct=True),
        )
        .to_pyarrow()
        .to_pylist()
    )
    cells = [
        Cell(
            r["provider"] or "(no provider)",
            r["billed_month"],
            r["charge_month"],
            r["category"],
            r["currency"],
            frozenset(r["invoices"] or ()),
            r["billed"] or Decimal(0),
            r["effective"] or Decimal(0),
        )
        for r in rows
    ]
    version = latest_version(ledger, rules_version)
    parts: dict[tuple[str, date, date, str], list[Decimal]] = {}
    if version is not None:
        a = ledger.allocations
        a = a.filter((a.rules_version == version) & a.workload.isin(list(WORKLOADS[:-1])))
        a = a.select("x_charge_id", "workload", cl_billed=a.BilledCost, cl_effective=a.EffectiveCost)
        k = c.select(
            cl_id=c.x_charge_id,
            provider=_provider(c),
            billed_month=c.BillingPeriodStart.truncate("M").date(),
            charge_month=c.ChargePeriodStart.truncate("M").date(),
        )
        j = a.inner_join(k, a.x_charge_id == k.cl_id)
        for r in (
            j.group_by("provider", "billed_month", "charge_month", "workload")
            .aggregate(billed=j.cl_billed.sum(), effective=j.cl_effective.sum())
            .to_pyarrow()
            .to_pylist()
        ):
            key = (r["provider"] or "(no provider)", r["billed_month"], r["charge_month"], r["workload"])
            parts[key] = [r["billed"] or Decimal(0), r["effective"] or Decimal(0)]
    elif rules_version is not None:
        raise UsageError(f"no allocation run {rules_version!r}")
    bill_ids = frozenset(i for r in rows for i in r["commitments"] or () if i is not None)
    return Compute(cells, parts, version, contracts, bill_ids)


def _provider(c):
    """Who issues the bill (the one the bank pays), else the service provider."""
    return ibis.coalesce(c.InvoiceIssuerName, c.ServiceProviderName, c.HostProviderName)


def contract_amortization(compute: Compute) -> list[tuple[date, object, Decimal]]:
    """(month, contract, amount): straight-line monthly amortization of each contract the
    bills do not show, in parts adding up exactly to its total."""
    out = []
    for contract in compute.contracts.commitments:
        if contract.id in compute.bill_ids:  # the bills' own amortization stands
            continue
        first = month_of(contract.start)
        for i, part in enumerate(money.spread(contract.total, [1] * contract.months)):
            out.append((add_months(first, i), contract, part))
    return out
