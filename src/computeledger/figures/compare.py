"""Reported figures against the same quantities computed from a ledger (an insider checking
what the press says): cost figures only, over the figure's period and scope.

Like with like: `compute_cost` is the ledger's Compute charges (allocated or not, so a
workload's compute is never more than all compute); `costs` is every charge. A figure is
judged (below, within, above) only when the ledger covers every day of its period for its
scope, and, when the ledger's entity is given, only if the figure is about that entity;
otherwise the row says what part the ledger covers and gives its value without a verdict."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from computeledger.figures.model import Figure, next_day
from computeledger.figures.read import FigureSet

PROVIDERS = {
    "azure": "microsoft", "microsoft azure": "microsoft", "gcp": "google cloud", "google": "google cloud",
    "oci": "oracle", "amazon": "aws", "amazon web services": "aws",
}  # fmt: skip
ALLOCATED = ("workload", "model", "team", "environment")
COMPARABLE = {"compute_cost", "costs"}


def ledger_value(ledger, fig: Figure, basis: str = "BilledCost") -> Decimal | None:
    """The ledger's total for the figure's quantity, or None if the ledger cannot say
    (another metric, a scope key it does not hold, or no charge in the period)."""
    if fig.metric not in COMPARABLE or fig.period.instant:
        return None
    scope = dict(fig.scope)
    if set(scope) - {"provider", *ALLOCATED}:
        return None
    if set(scope) & set(ALLOCATED):
        from computeledger.allocate.engine import allocated_charges

        t = allocated_charges(ledger)
    else:
        t = ledger.charges
    start = datetime.combine(fig.period.start, time())
    end = datetime.combine(next_day(fig.period.end), time())
    t = t.filter((t.ChargePeriodStart >= start) & (t.ChargePeriodStart < end))
    if "provider" in scope:
        name = PROVIDERS.get(scope["provider"], scope["provider"])
        t = t.filter((t.HostProviderName.lower() == name) | (t.ServiceProviderName.lower() == name))
    for dim in ALLOCATED:
        if dim in scope:
            t = t.filter(t[dim] == scope[dim])
    if fig.metric == "compute_cost":
        t = t.filter(t.ServiceCategory == "Compute")
    got = (
        t.aggregate(total=t[basis].sum(), n=t.count(), missing=t[basis].isnull().sum())
        .to_pyarrow()
        .to_pylist()[0]
    )
    if not got["n"] or got["missing"]:
        return None
    return got["total"]


def coverage(ledger, fig: Figure) -> tuple[int, int, str]:
    """(days of the figure's period with charges of its providers in the ledger, days in
    the period, the span as text)."""
    start = datetime.combine(fig.period.start, time())
    end = datetime.combine(next_day(fig.period.end), time())
    t = ledger.charges
    t = t.filter((t.ChargePeriodStart >= start) & (t.ChargePeriodStart < end))
    scope = dict(fig.scope)
    if "provider" in scope:
        name = PROVIDERS.get(scope["provider"], scope["provider"])
        t = t.filter((t.HostProviderName.lower() == name) | (t.ServiceProviderName.lower() == name))
    day = t.ChargePeriodStart.date()
    got = t.aggregate(days=day.nunique(), first=day.min(), last=day.max()).to_pyarrow().to_pylist()[0]
    total = (next_day(fig.period.end) - fig.period.start).days
    span = f"{got['first']}..{got['last']}" if got["first"] else "none"
    return got["days"] or 0, total, span


def compare(ledger, fs: FigureSet, basis: str = "BilledCost", entity: str | None = None) -> list[dict]:
    """Each figure with the ledger's value, what the ledger covers of it, and a verdict
    where the comparison is like with like."""
    out = []
    for fig in fs.figures:
        value = ledger_value(ledger, fig, basis)
        row = {"id": fig.id, "quantity": fig, "stated": fig.stated, "reported": fig.value, "ledger": value,
               "coverage": None}  # fmt: skip
        if value is not None:
            days, total, span = coverage(ledger, fig)
            row["coverage"] = f"{days} of {total} days ({span})"
        if value is None:
            row["verdict"] = "not in the ledger"
        elif entity is not None and fig.entity.casefold() != entity.casefold():
            row["verdict"] = f"another entity ({fig.entity}, the ledger is {entity})"
        elif days < total:
            row["verdict"] = f"partial: the ledger covers {days} of the period's {total} days"
        elif fig.value.lo is not None and value < fig.value.lo:
            row["verdict"], row["difference"] = "below", value - fig.value.lo
        elif fig.value.hi is not None and value > fig.value.hi:
            row["verdict"], row["difference"] = "above", value - fig.value.hi
        else:
            row["verdict"], row["difference"] = "within", Decimal(0)
        out.append(row)
    return out
