"""The aggregates unit economics starts from, computed in the engine (one row per model,
month and provider of cost; per model, month, customer and channel of tokens and revenue):
only these small tables leave the engine."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

import ibis

from computeledger import money
from computeledger.allocate.engine import latest_version
from computeledger.errors import UsageError
from computeledger.portable import json_field

BASES = {"effective": ("EffectiveCost", "ChargePeriodStart"), "billed": ("BilledCost", "BillingPeriodStart")}
COSTS = ("direct", "loaded")
TOKENS = ("requests", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")


@dataclass
class CostCell:
    """Inference cost of one model, provider and month (None: a charge without a value)."""

    cost: Decimal | None
    gpu_hours: Decimal | None
    currency: str | None


def inference_costs(
    ledger,
    basis: str = "effective",
    cost: str = "loaded",
    rules_version: str | None = None,
    by_issuer: bool = False,
    contracts=None,
) -> dict[tuple[str, str, date], CostCell]:
    """(model, provider, month) -> inference cost and GPU-hours from the allocation.
    `effective`: EffectiveCost by charge month; `billed`: BilledCost by billing month;
    `cash`: each bill's payment (bank line, else payment terms) spread over its models as
    its billed cost is, in the month paid (GPU-hours unknown: time is not paid for in cash).
    `direct`: what the rules placed on the model; `loaded`: with the shared costs splits
    spread onto it. `by_issuer`: provider is who issues the bill, not who hosts.
    `contracts` (a `Contracts`, a path, or None for the configured ones): the payment
    terms and contracts the cash basis reads, the same the statement is given."""
    if basis == "cash":
        return _paid(ledger, cost, rules_version, contracts)
    if basis not in BASES:
        raise UsageError(f"--basis {basis!r}: use one of {', '.join([*BASES, 'cash'])}")
    if cost not in COSTS:
        raise UsageError(f"--cost {cost!r}: use one of {', '.join(COSTS)}")
    money, when = BASES[basis]
    version = latest_version(ledger, rules_version)
    if version is None:
        raise UsageError("no allocation yet: run `computeledger allocate --rules RULES.toml` first")
    # the inference parts of the run, joined to their charges for period, provider and
    # currency (a charge loaded after the run is unallocated, so never inference)
    parts = ledger.allocations
    parts = parts.filter((parts.rules_version == version) & (parts.workload == "inference"))
    if cost == "direct":
        parts = parts.filter(parts.split.isnull())
    parts = parts.select("x_charge_id", "model", cl_cost=parts[money], cl_gpu_hours=parts.gpu_hours)
    c = ledger.charges
    c = c.select(
        cl_id=c.x_charge_id,
        provider=ibis.coalesce(c.InvoiceIssuerName, c.ServiceProviderName, c.HostProviderName)
        if by_issuer
        else ibis.coalesce(c.HostProviderName, c.ServiceProviderName),
        month=c[when].truncate("M").date(),
        currency=c.BillingCurrency,
    )
    a = parts.inner_join(c, parts.x_charge_id == c.cl_id)
    rows = (
        a.group_by("model", "provider", "month", "currency")
        .aggregate(cost=a.cl_cost.sum(), missing=a.cl_cost.isnull().sum(), gpu_hours=a.cl_gpu_hours.sum())
        .to_pyarrow()
        .to_pylist()
    )
    out: dict[tuple, CostCell] = {}
    for r in rows:
        key = (r["model"], r["provider"], r["month"])
        value = None if r["missing"] else r["cost"]
        if key in out:  # two currencies for one cell: refused where it is used
            out[key].currency = None
            continue
        out[key] = CostCell(value, r["gpu_hours"], r["currency"])
    return out


def _paid(
    ledger, cost: str, rules_version: str | None, contracts=None
) -> dict[tuple[str, str, date], CostCell]:
    from computeledger.accounting.bases import compute
    from computeledger.accounting.cashflow import cash
    from computeledger.accounting.contracts import load_contracts
    from computeledger.accounting.periods import month_of

    billed = inference_costs(ledger, "billed", cost, rules_version, by_issuer=True)
    contracts = load_contracts(contracts)
    comp = compute(ledger, contracts, rules_version)
    bills = comp.bills()
    per_bill: dict[tuple[str, date], list] = defaultdict(list)
    for (model, provider, month), cell in billed.items():
        per_bill[(provider, month)].append((model, cell))
    out: dict[tuple, CostCell] = {}
    with localcontext(money.CONTEXT):
        for p in cash(ledger, comp).payments:
            if p.bill is None or (p.provider, p.bill) not in per_bill:
                continue
            models = sorted(per_bill[(p.provider, p.bill)], key=lambda mc: str(mc[0]))
            if any(c.cost is None for _, c in models):
                parts = [None] * len(models)
            else:
                known = [c.cost for _, c in models]
                rest = bills[(p.provider, p.bill)]["billed"] - sum(known, Decimal(0))
                parts = money.spread(p.amount, [*known, rest])[:-1]
            for (model, c), part in zip(models, parts, strict=True):
                key = (model, p.provider, month_of(p.date))
                if key not in out:
                    out[key] = CostCell(part, None, c.currency)
                elif out[key].cost is not None and part is not None:
                    out[key].cost += part
                else:
                    out[key].cost = None
    return out


def token_counts(ledger) -> dict[tuple[str, date, str | None, str | None], dict[str, int]]:
    """(model, month, customer, channel) -> requests and tokens from the usage table."""
    u = ledger.usage
    rows = (
        u.group_by(model=u.model, month=u.period_start.truncate("M").date(), customer=u.customer,
                   channel=u.channel)
        .aggregate(**{c: u[c].sum() for c in TOKENS})
        .to_pyarrow()
        .to_pylist()
    )  # fmt: skip
    return {
        (r["model"], r["month"], r["customer"], r["channel"]): {c: r[c] or 0 for c in TOKENS} for r in rows
    }


@money.exact
def billed_tokens(
    ledger, basis: str = "effective", rules_version: str | None = None
) -> dict[tuple[str, date], dict[str, Decimal]]:
    """(model, month) -> the tokens bills themselves count, where a provider bills by the
    token (FOCUS rows whose ConsumedUnit is tokens: the AI-billing draft's per-token
    charges, an API provider's export through a mapping): `input` and `output` (by
    SkuPriceDetails' TokenDirection, else the words of SkuMeter or ChargeDescription) and
    the `cost` of those rows, as the rules placed them on the model (direct parts only)."""
    if basis not in BASES:  # cash: time is not paid for by the token
        return {}
    money, when = BASES[basis]
    version = latest_version(ledger, rules_version)
    if version is None:
        return {}
    parts = ledger.allocations
    parts = parts.filter(
        (parts.rules_version == version) & (parts.workload == "inference") & parts.split.isnull()
    )
    parts = parts.select("x_charge_id", "model", cl_cost=parts[money])
    c = ledger.charges
    c = c.filter(c.ConsumedUnit.lower().contains("token") & c.ConsumedQuantity.notnull())
    said = ibis.coalesce(json_field(c.SkuPriceDetails, "TokenDirection"), c.SkuMeter, c.ChargeDescription, "")
    said = said.lower()
    direction = ibis.cases(
        (said.contains("input"), "input"), (said.contains("output"), "output"), else_="other"
    )
    c = c.select(cl_id=c.x_charge_id, month=c[when].truncate("M").date(), direction=direction,
                 quantity=c.ConsumedQuantity)  # fmt: skip
    a = parts.inner_join(c, parts.x_charge_id == c.cl_id)
    rows = (
        a.group_by("model", "month", "direction")
        .aggregate(tokens=a.quantity.sum(), cost=a.cl_cost.sum())
        .to_pyarrow()
        .to_pylist()
    )
    out: dict[tuple[str, date], dict[str, Decimal]] = {}
    for r in rows:
        empty = dict.fromkeys(("input", "output", "other", "cost"), Decimal(0))
        cell = out.setdefault((r["model"], _as_date(r["month"])), empty)
        cell[r["direction"]] += r["tokens"]
        cell["cost"] += r["cost"] or Decimal(0)
    return out


@money.exact
def revenue_by_period(ledger) -> tuple[dict[tuple, Decimal], set[str]]:
    """(model, month, customer, channel) -> revenue accrued in the service month (invoice
    lines by period start; credit notes are negative lines), and the currencies seen."""
    t = ledger.table("revenue_lines")
    rows = (
        t.group_by(model=t.model, month=t.period_start.truncate("M"), customer=t.customer,
                   channel=t.channel, currency=t.currency)
        .aggregate(amount=t.amount.sum())
        .to_pyarrow()
        .to_pylist()
    )  # fmt: skip
    out: dict[tuple, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[(r["model"], _as_date(r["month"]), r["customer"], r["channel"])] += r["amount"]
    return dict(out), {r["currency"] for r in rows}


@money.exact
def revenue_share_owed(ledger) -> tuple[dict[tuple, Decimal], set[str]]:
    """(model, month, channel) -> revenue share owed by the partners' statements."""
    t = ledger.table("revenue_share")
    rows = (
        t.group_by(model=t.model, month=t.period_start.truncate("M"), channel=t.channel, currency=t.currency)
        .aggregate(amount=t.amount.sum())
        .to_pyarrow()
        .to_pylist()
    )
    out: dict[tuple, Decimal] = defaultdict(Decimal)
    for r in rows:
        out[(r["model"], _as_date(r["month"]), r["channel"])] += r["amount"]
    return dict(out), {r["currency"] for r in rows}


def output_weights(ledger) -> dict[str, Decimal]:
    """Per model, its list price of an output token over that of an input token (the
    latest invoice prices): the default weight of output tokens in splitting cost."""
    t = ledger.table("revenue_lines")
    t = t.filter(t.item.isin(["input", "output"]) & t.unit_price.notnull() & (t.unit_price > 0))
    latest = t.group_by("model", "item").aggregate(price=t.unit_price.argmax(t.period_start))
    rows = latest.to_pyarrow().to_pylist()
    prices: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for r in rows:
        prices[r["model"]][r["item"]] = r["price"]
    from computeledger import money

    return {
        m: money.divide(p["output"], p["input"]) for m, p in prices.items() if {"input", "output"} <= set(p)
    }


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value
