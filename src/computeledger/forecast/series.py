"""The ledger's series that can be forecast: each a history per group, read through the
same functions as the statement and the unit costs (so a forecast starts from the very
figures those commands print).

compute, inference, training: compute cost on a basis (billed, effective, cash), by
provider or workload (compute) or model (inference: the unit costs' inference cost);
tokens: input + output tokens by model; unit-cost: inference cost per million tokens by
model; revenue, compute-burn, net-burn, cash: the statement's lines (cash = closing cash).
Weekly and daily series read the charges and the usage directly: compute (effective or
billed cost by charge period) and tokens.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal

from computeledger import money
from computeledger.errors import UsageError
from computeledger.forecast.engine import Series

SERIES = (
    "compute",
    "inference",
    "training",
    "tokens",
    "unit-cost",
    "revenue",
    "compute-burn",
    "net-burn",
    "cash",
)
BY = {
    "compute": ("provider", "workload", "model"),
    "inference": ("provider", "model"),
    "training": ("provider",),
    "tokens": ("model",),
    "unit-cost": ("model",),
}
STATEMENT_LINES = {
    "revenue": "revenue",
    "compute-burn": "compute_burn",
    "net-burn": "net_cash_burn",
    "cash": "closing_cash",
}
#: What each series is, as its rows say (an input to the forecast, not a forecast).
PROVENANCE = {
    "compute": "billed", "inference": "allocated", "training": "allocated", "tokens": "usage",
    "unit-cost": "allocated", "revenue": "invoiced", "compute-burn": "allocated", "net-burn": "bank",
    "cash": "bank",
}  # fmt: skip


def history(
    ledger,
    name: str,
    *,
    by: str | None = None,
    basis: str = "effective",
    grain: str = "month",
    contracts=None,
    rules_version: str | None = None,
) -> list[Series]:
    """The histories of series `name` (one per group of `by`, or one total)."""
    if name not in SERIES:
        raise UsageError(f"series {name!r}: use one of {', '.join(SERIES)}")
    if by is not None and by not in BY.get(name, ()):
        allowed = ", ".join(BY.get(name, ())) or "nothing (it is one series)"
        raise UsageError(f"--by {by!r}: {name} can be split by {allowed}")
    if grain != "month":
        return _fine(ledger, name, by, basis, grain)
    if name in STATEMENT_LINES:
        return _statement(ledger, name, basis, contracts, rules_version)
    if name in ("tokens", "unit-cost") or by == "model":
        return _economics(ledger, name, by, basis, contracts, rules_version)
    return _compute(ledger, name, by, basis, contracts, rules_version)


def _series(groups: dict[str, dict[date, Decimal | None]], unit: str) -> list[Series]:
    out = []
    for key in sorted(groups):
        points = groups[key]
        periods = sorted(points)
        out.append(Series(key, periods, [points[p] for p in periods], unit))
    return out


@money.exact
def _compute(ledger, name, by, basis, contracts, rules_version) -> list[Series]:
    from computeledger.accounting.statement import gather

    inp = gather(ledger, contracts, rules_version)
    if name != "compute" and inp.compute.rules_version is None:
        raise UsageError(f"{name}: no allocation in the ledger (run `computeledger allocate` first)")
    if basis == "cash":
        from computeledger.accounting import cashflow

        values = cashflow.compute_paid(inp.compute, inp.flows)
    elif basis in ("billed", "effective"):
        values = inp.compute.billed() if basis == "billed" else inp.compute.effective()
    else:
        raise UsageError(f"--basis {basis!r}: use billed, effective or cash")
    groups: dict[str, dict[date, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    apart = one_offs(ledger, basis, inp.compute.rules_version) if basis != "cash" else {}
    for (month, provider, workload), value in values.items():
        if name != "compute" and workload != name:
            continue
        key = {"provider": f"provider={provider}", "workload": f"workload={workload}"}.get(by, "total")
        groups[key][month] += value - apart.get((month, provider, workload), Decimal(0))
    out = _series(_filled(groups), inp.currency or "")
    left = defaultdict(Decimal)
    for (month, provider, workload), value in apart.items():
        if name == "compute" or workload == name:
            key = {"provider": f"provider={provider}", "workload": f"workload={workload}"}.get(by, "total")
            left[(key, month)] += value
    for s in _floored(out):
        s.left_out = {m: v for (k, m), v in sorted(left.items()) if k == s.key and v}
    return out


#: Charges that are not a trend: a commitment bought up front, a correction of an earlier
#: month, an adjustment. A cost forecast leaves them out of the history and says so.
def one_offs(ledger, basis: str, rules_version: str | None) -> dict[tuple[date, str, str], Decimal]:
    """(month, provider, workload) -> the one-off charges' cost on `basis` (workload from the
    allocation's parts; `other` for what it does not place)."""
    import ibis

    from computeledger.accounting.bases import _provider

    c = ledger.charges
    c = c.filter(
        ((c.ChargeCategory == "Purchase") & (c.ChargeFrequency == "One-Time"))
        | (c.ChargeClass == "Correction")
        | (c.ChargeCategory == "Adjustment")
    )
    month = (c.BillingPeriodStart if basis == "billed" else c.ChargePeriodStart).truncate("M").date()
    cost = c.BilledCost if basis == "billed" else c.EffectiveCost
    k = c.select(cl_id=c.x_charge_id, month=month, provider=_provider(c), cost=cost)
    if rules_version is not None:
        a = ledger.allocations
        a = a.filter(a.rules_version == rules_version)
        a = a.select(a.x_charge_id, a.workload, part=a.BilledCost if basis == "billed" else a.EffectiveCost)
        j = k.left_join(a, k.cl_id == a.x_charge_id)
        k = j.select(
            "month", "provider",
            workload=ibis.coalesce(j.workload, ibis.literal("other")),
            cost=ibis.coalesce(j.part, j.cost),
        )  # fmt: skip
        k = k.mutate(workload=ibis.cases((k.workload.isin(["inference", "training", "research"]), k.workload),
                                         else_="other"))  # fmt: skip
    else:
        k = k.mutate(workload=ibis.literal("other"))
    rows = k.group_by("month", "provider", "workload").aggregate(cost=k.cost.sum()).to_pyarrow().to_pylist()
    return {
        (r["month"], r["provider"] or "(no provider)", r["workload"]): r["cost"] for r in rows if r["cost"]
    }


def _filled(groups: dict[str, dict[date, Decimal]], grain: str = "month") -> dict[str, dict[date, Decimal]]:
    """Periods between a group's first and the ledger's last without a charge (or a token)
    count 0: the bills (the logs) are there and say nothing of it; periods before its first
    are not its history."""
    from datetime import timedelta

    from computeledger.accounting.periods import add_months

    last = max((m for g in groups.values() for m in g), default=None)
    step = {"week": timedelta(days=7), "day": timedelta(days=1)}.get(grain)
    out = {}
    for key, points in groups.items():
        m, filled = min(points), {}
        while m <= last:
            filled[m] = points.get(m, Decimal(0))
            m = add_months(m, 1) if step is None else m + step
        out[key] = filled
    return out


def _economics(ledger, name, by, basis, contracts, rules_version) -> list[Series]:
    from computeledger.economics.unit_costs import unit_costs

    if basis not in ("billed", "effective", "cash"):
        raise UsageError(f"--basis {basis!r}: use billed, effective or cash")
    dims = "model,month" if by == "model" else "month"
    got = unit_costs(ledger, dims, basis=basis, rules_version=rules_version, contracts=contracts)
    groups: dict[str, dict[date, Decimal | None]] = defaultdict(dict)
    unit = next((r["currency"] for r in got.rows if r.get("currency")), "") or ""
    for r in got.rows:
        key = f"model={r['model']}" if by == "model" else "total"
        if name == "tokens":
            if r["input_tokens"] is None:
                continue
            groups[key][r["month"]] = Decimal(r["input_tokens"] + r["output_tokens"])
        elif name == "unit-cost":
            groups[key][r["month"]] = r["cost_per_million_tokens"]
        else:
            groups[key][r["month"]] = r["inference_cost"]
    if not groups:
        raise UsageError(f"{name}: the ledger has no token usage and inference cost to read it from")
    units = {"tokens": "tokens", "unit-cost": f"{unit} per million tokens"}
    return _floored(_series(groups, units.get(name, unit)))


def _floored(found: list[Series]) -> list[Series]:
    """A cost, tokens or revenue is never below 0: nor its forecast, nor its band."""
    for s in found:
        s.floor = Decimal(0)
    return found


def _statement(ledger, name, basis, contracts, rules_version) -> list[Series]:
    from computeledger.accounting.statement import statement

    got = statement(ledger, grain="month", bases=(basis,), contracts=contracts, rules_version=rules_version)
    line = STATEMENT_LINES[name]
    points = {date.fromisoformat(r["period"] + "-01"): r[line] for r in got.rows}
    if all(v is None for v in points.values()):
        why = "; ".join(got.notes) or "the ledger does not hold it"
        raise UsageError(f"{name}: unknown in every month ({why})")
    out = _series({"total": points}, got.currency or "")
    return _floored(out) if name == "revenue" else out


def _fine(ledger, name, by, basis, grain) -> list[Series]:
    """Weekly or daily: compute from the charges, tokens from the usage."""
    import ibis

    if grain not in ("week", "day"):
        raise UsageError(f"--grain {grain!r}: use month, week or day")
    if name == "compute" and by in (None, "provider"):
        if basis not in ("billed", "effective"):
            raise UsageError(
                f"--grain {grain}: compute by {grain} reads the charges: --basis billed or effective"
            )
        from computeledger import currency

        currency.of_bills(ledger)
        c = ledger.charges
        t = c.select(
            period=c.ChargePeriodStart.truncate("W" if grain == "week" else "D").date(),
            key=ibis.literal("provider=") + ibis.coalesce(c.InvoiceIssuerName, c.ServiceProviderName)
            if by
            else ibis.literal("total"),
            value=c.BilledCost if basis == "billed" else c.EffectiveCost,
            currency=c.BillingCurrency,
        )
        unit = "currency"
    elif name == "tokens":
        u = ledger.usage
        t = u.select(
            period=u.period_start.truncate("W" if grain == "week" else "D").date(),
            key=ibis.literal("model=") + u.model if by else ibis.literal("total"),
            value=(u.input_tokens + u.output_tokens).cast("decimal(38, 0)"),
            currency=ibis.literal("tokens"),
        )
        unit = "tokens"
    else:
        raise UsageError(f"--grain {grain}: only compute (by provider) and tokens have a {grain}ly history")
    rows = t.group_by("key", "period").aggregate(value=t.value.sum(), units=t.currency.max()).to_pyarrow()
    groups: dict[str, dict[date, Decimal]] = defaultdict(dict)
    units = set()
    for r in rows.to_pylist():
        p = r["period"]
        groups[r["key"]][p.date() if isinstance(p, datetime) else p] = r["value"]
        units.add(r["units"])
    return _floored(
        _series(_filled(groups, grain), units.pop() if unit == "currency" and len(units) == 1 else unit)
    )
