"""Reported figures against the same quantities computed from a ledger (an insider checking
what the press says): cost figures only, over the figure's period and scope."""

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
    if fig.metric == "compute_cost" and "workload" not in scope:
        t = t.filter(t.ServiceCategory == "Compute")
    got = (
        t.aggregate(total=t[basis].sum(), n=t.count(), missing=t[basis].isnull().sum())
        .to_pyarrow()
        .to_pylist()[0]
    )
    if not got["n"] or got["missing"]:
        return None
    return got["total"]


def compare(ledger, fs: FigureSet, basis: str = "BilledCost") -> list[dict]:
    out = []
    for fig in fs.figures:
        value = ledger_value(ledger, fig, basis)
        row = {"id": fig.id, "quantity": fig, "stated": fig.stated, "reported": fig.value, "ledger": value}
        if value is None:
            row["verdict"] = "not in the ledger"
        elif fig.value.lo is not None and value < fig.value.lo:
            row["verdict"], row["difference"] = "below", value - fig.value.lo
        elif fig.value.hi is not None and value > fig.value.hi:
            row["verdict"], row["difference"] = "above", value - fig.value.hi
        else:
            row["verdict"], row["difference"] = "within", Decimal(0)
        out.append(row)
    return out
