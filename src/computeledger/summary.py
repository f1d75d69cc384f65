"""Cost totals grouped by any charge dimension, as an Ibis expression.

A total is only given when every row of the group has a value: a sum that skipped
nulls would present a partial figure as a whole one. Where rows lack a value the
total is null (unknown) and `<metric>_missing` counts them.
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import ibis.expr.types as ir

from computeledger.errors import UsageError
from computeledger.schema.focus import MONEY

#: Shorthands for the dimensions asked for most.
SHORTHANDS = {
    "provider": "ServiceProviderName",
    "host": "HostProviderName",
    "account": "BillingAccountId",
    "service": "ServiceName",
    "category": "ServiceCategory",
    "region": "RegionId",
    "currency": "BillingCurrency",
}
#: Derived dimensions: name -> (column, truncation unit)
DERIVED = {
    "month": ("ChargePeriodStart", "M"),
    "quarter": ("ChargePeriodStart", "Q"),
    "year": ("ChargePeriodStart", "Y"),
    "day": ("ChargePeriodStart", "D"),
    "billing_month": ("BillingPeriodStart", "M"),
}


def parse_by(by: str | Iterable[str]) -> list[str]:
    """'a,b' or ['a', 'b'] to a list of dimension names (empty parts dropped)."""
    items = by.split(",") if isinstance(by, str) else list(by)
    return [i.strip() for i in items if i and i.strip()]


def dimension(charges: ir.Table, name: str) -> ir.Value:
    """The column (or derived value) a --by name stands for, named as asked."""
    if name in DERIVED:
        col, unit = DERIVED[name]
        return charges[col].truncate(unit).date().name(name)
    col = SHORTHANDS.get(name, name)
    if col not in charges.columns:
        lower = {c.lower(): c for c in charges.columns}
        if col.lower() not in lower:
            choices = ", ".join(sorted([*SHORTHANDS, *DERIVED]))
            raise UsageError(
                f"--by: unknown dimension {name!r}; use a charge column "
                f"(e.g. ServiceCategory, RegionId), one of: {choices}, or, once allocated, "
                "workload, model, team, environment, gpu_model, split or the rules' own dimensions"
            )
        col = lower[col.lower()]
    return charges[col].name(name if name in SHORTHANDS else col)


def summary(charges: ir.Table, by: str | Iterable[str] = ("provider",)) -> ir.Table:
    dims = [dimension(charges, b) for b in parse_by(by)]
    names = [d.get_name() for d in dims]
    if len(set(names)) != len(names):
        raise UsageError(f"--by: a dimension is named twice: {', '.join(names)}")
    metrics: dict[str, ir.Value] = {"rows": charges.count()}
    missing = {m: charges[m].isnull().sum() for m in MONEY}
    for m in MONEY:
        metrics[m] = ibis.ifelse(missing[m] == 0, charges[m].sum(), ibis.null(charges[m].type()))
    metrics |= {f"{m}_missing": missing[m] for m in MONEY}
    if "gpu_hours" in charges.columns:  # allocated charges: GPU-hours, unknown if any row's is
        gaps = charges.gpu_hours.isnull().sum()
        metrics["gpu_hours"] = ibis.ifelse(
            gaps == 0, charges.gpu_hours.sum(), ibis.null(charges.gpu_hours.type())
        )
        metrics["gpu_hours_missing"] = gaps
    grouped = charges.group_by(dims).aggregate(**metrics) if dims else charges.aggregate(**metrics)
    return grouped.order_by(names) if names else grouped
