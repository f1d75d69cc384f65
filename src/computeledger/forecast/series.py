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
        return _economics(ledger, name, by, basis, rules_version)
    return _compute(ledger, name, by, basis, contracts, rules_version)


def _series(groups: dict[str, dict[date, Decimal | None]], unit: str) -> list[Series]:
    out = []
    for key in sorted(groups):
        points = groups[key]
        periods = sorted(points)
        out.append(Series(key, periods, [points[p] for p in periods], unit))
    return out


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
    for (month, provider, workload), value in values.items():
        if name != "compute" and workload != name:
            continue
        key = {"provider": f"provider={provider}", "workload": f"workload={workload}"}.get(by, "total")
        groups[key][month] += value
    return _series(_filled(groups), inp.currency or "")


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


def _economics(ledger, name, by, basis, rules_version) -> list[Series]:
    from computeledger.economics.unit_costs import unit_costs

    if basis not in ("billed", "effective", "cash"):
        raise UsageError(f"--basis {basis!r}: use billed, effective or cash")
    dims = "model,month" if by == "model" else "month"
    got = unit_costs(ledger, dims, basis=basis, rules_version=rules_version)
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
    return _series(groups, units.get(name, unit))


def _statement(ledger, name, basis, contracts, rules_version) -> list[Series]:
    from computeledger.accounting.statement import statement

    got = statement(ledger, grain="month", bases=(basis,), contracts=contracts, rules_version=rules_version)
    line = STATEMENT_LINES[name]
    points = {date.fromisoformat(r["period"] + "-01"): r[line] for r in got.rows}
    if all(v is None for v in points.values()):
        why = "; ".join(got.notes) or "the ledger does not hold it"
        raise UsageError(f"{name}: unknown in every month ({why})")
    return _series({"total": points}, got.currency or "")


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
    return _series(_filled(groups, grain), units.pop() if unit == "currency" and len(units) == 1 else unit)
